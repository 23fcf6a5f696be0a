"""Community challenges and points on a large database: the worker's transaction for a workout
or habit log (log, feed post, streak, points, every participation it feeds) and for a join, and
the API's reads (my challenges with ranks, a challenge's leaderboard, the open list, points).

It builds its own database (`wc_bench_community_<random>`): USERS users all in one big workouts
challenge with random totals, and CALLERS athletes who also joined a duration, a volume and a
habit challenge and have logged a workout every day for a year (so each streak looks back a
whole year, with a ledger row per workout). Writes run the workers' own rule functions as the
owning role, one committed transaction each; reads run as `challenges_api` with Row Level
Security on. p50/p99 over the callers; the database is dropped at the end, also on error.

    python -m bench.database.community    # 10,000 participants, 200 callers: about a minute
    python -m bench.database.community --help
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid

import psycopg
from psycopg.rows import dict_row

from bench.database.common import Q, time_reads, user_id, user_id_sql
from bench.harness.results import Run
from bench.harness.scratch import scratch_database
from bench.harness.stats import summary
from core.db import configure_connection
from core.rules.community import join_community_challenge
from core.rules.habits import log_habit
from core.rules.workouts import log_workout

BIG, DURATION, VOLUME, WATER, LATE = (str(uuid.UUID(int=n)) for n in range(1, 6))

SEED = f"""
INSERT INTO users (id, display_name, timezone)
SELECT {user_id_sql("g")}, 'user ' || g,
       (ARRAY['UTC', 'Europe/London', 'America/New_York', 'Asia/Tokyo'])[1 + g %% 4]
  FROM generate_series(1, %(users)s) g;
INSERT INTO challenges (id, name, challenge_type, habit_name, target_value, unit, duration_days,
                        starts_at, ends_at, participant_count)
VALUES (%(big)s, 'Big', 'workouts', NULL, 100, 'workouts', 30, now() - interval '1 day',
        now() - interval '1 day' + interval '720 hours', %(users)s),
       (%(duration)s, 'Minutes', 'duration', NULL, 100000, 'minutes', 30, now() - interval '1 day',
        now() - interval '1 day' + interval '720 hours', %(callers)s),
       (%(volume)s, 'Tonnes', 'volume', NULL, 10000000, 'kg', 30, now() - interval '1 day',
        now() - interval '1 day' + interval '720 hours', %(callers)s),
       (%(water)s, 'Water', 'habit', 'water', 100000, 'glasses', 30, now() - interval '1 day',
        now() - interval '1 day' + interval '720 hours', %(callers)s),
       (%(late)s, 'Late joiners', 'workouts', NULL, 10, 'workouts', 30, now() - interval '1 day',
        now() - interval '1 day' + interval '720 hours', 0);
INSERT INTO challenge_participants (challenge_id, user_id, total, total_reached_at, joined_at)
SELECT %(big)s, id, (abs(hashtext(id::text)) %% 100)::numeric,
       now() - interval '1 hour' * (abs(hashtext(id::text)) %% 24), now() - interval '1 day'
  FROM users;
INSERT INTO challenge_participants (challenge_id, user_id, joined_at)
SELECT c, u.id, now() - interval '1 day'
  FROM users u CROSS JOIN unnest(ARRAY[%(duration)s, %(volume)s, %(water)s]::uuid[]) c
 WHERE u.display_name::text IN (SELECT 'user ' || g FROM generate_series(1, %(callers)s) g);
INSERT INTO workout_logs (id, user_id, workout_name, duration_minutes, total_volume, performed_at)
SELECT gen_random_uuid(), u.id, 'Daily', 30, 5000, now() - make_interval(days => d)
  FROM users u CROSS JOIN generate_series(1, 365) d
 WHERE u.display_name::text IN (SELECT 'user ' || g FROM generate_series(1, %(callers)s) g);
INSERT INTO points_ledger (user_id, action, source_id, base_points, multiplier, streak_days, points, created_at)
SELECT user_id, 'workout_completed', id, 25, 1.5, 7, 38, performed_at FROM workout_logs;
"""

READS = {
    "my challenges (rank of 10,000)": lambda c, u: list(Q.my_participations(c, user_id=u)),
    "challenge leaderboard": lambda c, u: list(Q.community_leaderboard(c, id=BIG, user_id=u, limit=10)),
    "open challenges": lambda c, u: list(Q.list_community_challenges(c, user_id=u, cursor_at=None,
                                                                     cursor_id=None, limit=20)),
    "points (total, streaks, page)": lambda c, u: (
        Q.points_total(c, user_id=u), Q.streaks(c, user_id=u),
        list(Q.points_ledger(c, user_id=u, cursor_at=None, cursor_id=None, limit=20))),
}


def timed_write(conn, rule, **kwargs) -> float:
    """One committed transaction of a worker rule, in milliseconds."""
    started = time.perf_counter()
    with conn.transaction():
        rule(conn, **kwargs)
    return (time.perf_counter() - started) * 1000


def writes(conn, callers: list[str]) -> dict:
    """A workout, a habit and a join per caller, each the worker's whole transaction."""
    def workout(caller):
        return timed_write(conn, log_workout, user_id=caller, workout_log_id=str(uuid.uuid4()),
                           activity_id=str(uuid.uuid4()), workout_name="Bench Press", duration_minutes=40,
                           total_volume=6000, volume_unit="kg")

    def habit(caller):
        return timed_write(conn, log_habit, user_id=caller, habit_log_id=str(uuid.uuid4()), habit_name="water",
                           value=8)

    def join(caller):
        return timed_write(conn, join_community_challenge, user_id=caller, community_challenge_id=LATE)

    steps = {"workouts.log (feeds 3 challenges)": workout, "habits.log (feeds 1)": habit, "community.join": join}
    return {name: summary([step(caller) for caller in callers]) for name, step in steps.items()}


def measure(users: int, callers_count: int) -> dict:
    with scratch_database("wc_bench_community") as url:
        with psycopg.connect(url, autocommit=True) as owner:
            started = time.perf_counter()
            owner.execute(SEED % {"users": users, "callers": callers_count, "big": f"'{BIG}'",
                                  "duration": f"'{DURATION}'", "volume": f"'{VOLUME}'",
                                  "water": f"'{WATER}'", "late": f"'{LATE}'"})
            owner.execute("VACUUM ANALYZE")
            seeded = time.perf_counter() - started
        callers = [user_id(number) for number in range(1, callers_count + 1)]
        with psycopg.connect(url, row_factory=dict_row) as conn:
            configure_connection(conn)
            written = writes(conn, callers)
        return {"participants_in_big_challenge": users, "callers": callers_count,
                "workouts_per_caller_before": 365, "seconds_to_seed": round(seeded, 1),
                "writes": written, "reads": time_reads(url, callers, READS)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000, help="participants of the big challenge")
    parser.add_argument("--callers", type=int, default=200, help="athletes timed (each with a year of logs)")
    args = parser.parse_args()
    run = Run("community", vars(args), ("psycopg",))
    result = measure(args.users, args.callers)
    print(f"{result['participants_in_big_challenge']} participants, {result['callers']} callers "
          f"with a year of daily workouts (seeded in {result['seconds_to_seed']} s)")
    for group in ("writes", "reads"):
        for name, numbers in result[group].items():
            print(f"  {name:34s} p50 {numbers['p50_ms']:7.2f} ms   p99 {numbers['p99_ms']:7.2f} ms")
    return run.finish(result)


if __name__ == "__main__":
    sys.exit(main())
