"""The read queries behind the history, profile and leaderboard screens, timed on a large
database, as the API runs them: logged in as `challenges_api`, `app.user_id` set, Row Level
Security on.

It builds its own database (`wc_bench_reads_<random>`): USERS users with 10 workouts (and feed
posts) each and about 1 in 40 pairs friends, CHALLENGES challenges between them in every status,
a rematch for a third of the lost ones, migrates it, builds the leaderboard's counters with the
scheduler's reconciliation, then times each query for SAMPLE different callers and prints
p50/p99. The database is dropped at the end, also on error or Ctrl-C.

    python -m bench.database.reads        # 2,000 users, 300,000 challenges: about a minute
    python -m bench.database.reads --help
"""

from __future__ import annotations

import argparse
import sys
import time

import psycopg
from psycopg.rows import dict_row

from bench.database.common import ATTEMPT, Q, TARGET, spread_callers, time_reads, user_id_sql
from bench.harness.results import Run
from bench.harness.scratch import scratch_database
from jobs.leaderboards import reconcile_counters

SEED = f"""
INSERT INTO users (id, display_name)
SELECT {user_id_sql("g")}, 'user ' || g
  FROM generate_series(1, %(users)s) g;
INSERT INTO friendships (requester_id, addressee_id, status, accepted_at)
SELECT a.id, b.id, 'accepted', now()
  FROM users a JOIN users b ON b.id > a.id AND abs(hashtext(a.id::text || b.id::text)) %% 40 = 0;
INSERT INTO workout_logs (id, user_id, workout_name, duration_minutes, total_volume, performed_at)
SELECT gen_random_uuid(), u.id, 'Workout ' || n, 30, 10000, now() - make_interval(hours => n)
  FROM users u CROSS JOIN generate_series(1, 10) n;
INSERT INTO activity_feed (id, user_id, activity_type, workout_log_id, created_at)
SELECT gen_random_uuid(), user_id, 'workout_completed', id, performed_at FROM workout_logs;
ALTER TABLE workout_challenges DISABLE TRIGGER USER;
INSERT INTO workout_challenges (id, from_user_id, to_user_id, workout_name, workout_data,
                                challenger_stats, status, did_beat, challenged_stats, quit_reason,
                                accepted_at, completed_at, abandoned_at, declined_at, created_at)
SELECT gen_random_uuid(), f, t, 'Workout ' || (g %% 25), '{TARGET}', '{TARGET}',
       s, CASE WHEN s = 'completed' THEN g %% 3 = 0 END,
       CASE WHEN s = 'completed' THEN '{ATTEMPT}'::jsonb END,
       CASE WHEN s = 'abandoned' THEN 'Too hard for me' END,
       CASE WHEN s IN ('accepted', 'completed', 'abandoned') THEN now() END,
       CASE WHEN s = 'completed' THEN now() END, CASE WHEN s = 'abandoned' THEN now() END,
       CASE WHEN s = 'declined' THEN now() END,
       now() - make_interval(secs => g)
  FROM (SELECT g,
               {user_id_sql("1 + g %% %(users)s")} AS f,
               {user_id_sql("1 + (g * 7 + 1) %% %(users)s")} AS t,
               (ARRAY['completed', 'completed', 'completed', 'abandoned', 'pending', 'accepted',
                      'declined'])[1 + g %% 7] AS s
          FROM generate_series(1, %(challenges)s) g) picked
 WHERE f <> t;
-- Chains: every third finished challenge gets a rematch, and every ninth a third round.
INSERT INTO workout_challenges (id, from_user_id, to_user_id, workout_name, workout_data,
                                challenger_stats, status, did_beat, challenged_stats, accepted_at,
                                completed_at, is_retry, retried_from_challenge_id, created_at)
SELECT gen_random_uuid(), from_user_id, to_user_id, workout_name, workout_data, workout_data,
       'completed', true, challenged_stats, now(), now(), true, id, created_at + interval '1 hour'
  FROM workout_challenges WHERE status = 'completed' AND NOT did_beat AND abs(hashtext(id::text)) %% 3 = 0;
UPDATE workout_challenges o SET retry_count = 1
  FROM workout_challenges r WHERE r.retried_from_challenge_id = o.id;
ALTER TABLE workout_challenges ENABLE TRIGGER USER;
"""


def chain_of_a_retry(conn, caller):
    """The chain of one of the caller's rematches (finding it is part of the time)."""
    row = conn.execute("SELECT id FROM workout_challenges WHERE is_retry AND to_user_id = %s LIMIT 1",
                       (caller,)).fetchone()
    return list(Q.retry_chain(conn, id=str(row["id"]))) if row else []


READS = {
    "list all/all": lambda c, u: list(Q.list_challenges(c, user_id=u, direction="all", filter="all",
                                                         cursor_at=None, cursor_id=None, limit=20)),
    "list received/won": lambda c, u: list(Q.list_challenges(c, user_id=u, direction="received",
                                                              filter="won", cursor_at=None,
                                                              cursor_id=None, limit=20)),
    "list sent/quit": lambda c, u: list(Q.list_challenges(c, user_id=u, direction="sent", filter="quit",
                                                           cursor_at=None, cursor_id=None, limit=20)),
    "stats (3 queries)": lambda c, u: (Q.challenge_stats(c, user_id=u), Q.retry_stats(c, user_id=u),
                                       Q.abandonment_stats(c, user_id=u)),
    "chain": chain_of_a_retry,
    "leaderboard global": lambda c, u: list(Q.leaderboard_global(c, user_id=u, season="all", limit=20)),
    "leaderboard friends": lambda c, u: list(Q.leaderboard_friends(c, user_id=u, season="all", limit=20,
                                                                   by_rating=False)),
    "feed": lambda c, u: list(Q.feed(c, user_id=u, cursor_at=None, cursor_id=None, limit=20)),
}


def measure(users: int, challenges: int, sample: int) -> dict:
    with scratch_database("wc_bench_reads") as url:
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as owner:
            started = time.perf_counter()
            owner.execute(SEED % {"users": users, "challenges": challenges})
            reconcile_counters(owner)  # the seed wrote challenges with their triggers off
            owner.execute("VACUUM ANALYZE")
            seeded = time.perf_counter() - started
            total = owner.execute("SELECT count(*) AS n FROM workout_challenges").fetchone()["n"]
        callers = spread_callers(users, sample)
        return {"users": users, "challenges": total, "seconds_to_seed": round(seeded, 1),
                "callers": len(callers), "reads": time_reads(url, callers, READS)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--challenges", type=int, default=300_000)
    parser.add_argument("--sample", type=int, default=200, help="how many different callers")
    args = parser.parse_args()
    run = Run("reads", vars(args), ("psycopg",))
    result = measure(args.users, args.challenges, args.sample)
    print(f"{result['challenges']} challenges, {result['users']} users, {result['callers']} callers")
    for name, numbers in result["reads"].items():
        print(f"  {name:22s} p50 {numbers['p50_ms']:7.2f} ms   p99 {numbers['p99_ms']:7.2f} ms")
    return run.finish(result)


if __name__ == "__main__":
    sys.exit(main())
