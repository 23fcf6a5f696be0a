"""The read queries behind the history, profile and leaderboard screens, timed on a large
database, as the API runs them: logged in as `challenges_api`, `app.user_id` set, Row Level
Security on.

It builds its own database (`wc_bench_reads_<random>`): USERS users with 10 workouts (and feed
posts) each and about 1 in 40 pairs friends, CHALLENGES challenges between them in every status,
a rematch for a third of the lost ones, migrates it, builds the
leaderboard's counters with the scheduler's reconciliation, then times each query for SAMPLE different callers and prints p50/p99. The database
is dropped at the end, also on error or Ctrl-C.

    python bench/reads.py                 # 2,000 users, 300,000 challenges: about a minute
    python bench/reads.py --help
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import time
import uuid
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row

from jobs.leaderboards import reconcile_counters
from settings import API_ROLE, with_user
from sql import queries
from sql.migrate import migrate
from workers.db import configure_connection

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULTS = pathlib.Path(__file__).with_name("results_reads.json")
Q = queries("api")

SEED = """
INSERT INTO users (id, display_name)
SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'user ' || g
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
SELECT gen_random_uuid(), f, t, 'Workout ' || (g %% 25),
       '{"duration_minutes": 30, "total_volume": 10000, "volume_unit": "lb", "total_volume_kg": 4535.924}',
       '{"duration_minutes": 30, "total_volume": 10000, "volume_unit": "lb", "total_volume_kg": 4535.924}',
       s, CASE WHEN s = 'completed' THEN g %% 3 = 0 END,
       CASE WHEN s = 'completed' THEN '{"duration_minutes": 28, "total_volume": 9000, "volume_unit": "lb", "total_volume_kg": 4082.3}'::jsonb END,
       CASE WHEN s = 'abandoned' THEN 'Too hard for me' END,
       CASE WHEN s IN ('accepted', 'completed', 'abandoned') THEN now() END,
       CASE WHEN s = 'completed' THEN now() END, CASE WHEN s = 'abandoned' THEN now() END,
       CASE WHEN s = 'declined' THEN now() END,
       now() - make_interval(secs => g)
  FROM (SELECT g,
               ('00000000-0000-4000-8000-' || lpad((1 + g %% %(users)s)::text, 12, '0'))::uuid AS f,
               ('00000000-0000-4000-8000-' || lpad((1 + (g * 7 + 1) %% %(users)s)::text, 12, '0'))::uuid AS t,
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


def summary(times: list[float]) -> dict:
    times = sorted(times)
    return {"p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2)}


def timed(conn, caller: str, read) -> float:
    with conn.transaction():
        Q.set_caller(conn, user_id=caller)
        started = time.perf_counter()
        read(conn, caller)
        return (time.perf_counter() - started) * 1000


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


@contextmanager
def scratch_database(prefix: str):
    """A new, migrated database for one bench run (its URL), dropped at the end, also on error."""
    database = f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def time_reads(url: str, callers: list[str], reads: dict) -> dict:
    """p50/p99 of each read for the callers, as the API runs it (its role, RLS on), after a
    warm-up of the caches and the prepared plans."""
    with psycopg.connect(with_user(url, API_ROLE), row_factory=dict_row) as conn:
        configure_connection(conn)
        for caller in callers[:5]:
            for read in reads.values():
                timed(conn, caller, read)
        return {name: summary([timed(conn, caller, read) for caller in callers]) for name, read in reads.items()}


def run(users: int, challenges: int, sample: int) -> dict:
    with scratch_database("wc_bench_reads") as url:
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as owner:
            started = time.perf_counter()
            owner.execute(SEED % {"users": users, "challenges": challenges})
            reconcile_counters(owner)  # the seed wrote challenges with their triggers off
            owner.execute("VACUUM ANALYZE")
            seeded = time.perf_counter() - started
            total = owner.execute("SELECT count(*) AS n FROM workout_challenges").fetchone()["n"]
        callers = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1, users + 1, max(1, users // sample))]
        return {"users": users, "challenges": total, "seconds_to_seed": round(seeded, 1),
                "callers": len(callers), "reads": time_reads(url, callers, READS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--challenges", type=int, default=300_000)
    parser.add_argument("--sample", type=int, default=200, help="how many different callers")
    args = parser.parse_args()
    result = run(args.users, args.challenges, args.sample)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['challenges']} challenges, {result['users']} users, {result['callers']} callers")
    for name, numbers in result["reads"].items():
        print(f"  {name:22s} p50 {numbers['p50_ms']:7.2f} ms   p99 {numbers['p99_ms']:7.2f} ms")


if __name__ == "__main__":
    main()
