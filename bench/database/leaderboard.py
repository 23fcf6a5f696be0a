"""The live leaderboard at scale: what a change costs, what a read costs, what reconciliation costs.

It builds two databases (`wc_bench_board_<random>`), one with FIRST challenges and one with
CHALLENGES, each with the same USERS users (about 20 friends each) and challenges between them
over the last eight weeks in every status (two in three settled, each settled one rated in
order), written with the triggers off and then counted and rated by the scheduler's own
reconciliation, as a restore would be. On each it measures:

- **cost per change**: the counters' trigger on one completion (levels included), as
  PostgreSQL times it (`EXPLAIN ANALYZE` of the complete statement), at both history sizes: it
  should not grow with the history (target: ratio of the medians at most 1.2). The two
  databases take turns, one completion each, so that whatever else the machine does in the
  meantime weighs on both sizes alike (measured one after the other, the medians of five runs
  moved between 0.68 and 1.52 with no change in between);
- **a complete job with live counters / without them**: the worker's own path (`run_command`
  with `complete_challenge`: lock, complete, rate, feed post, outcome, commit) one job after the
  other on one connection, with the counters' trigger on and off in 64 alternating blocks
  (target: at most 1.15; the ratio of the means and of the medians);
- **reads**: the top 20 plus the caller's own rank, global and friends, all time and this week,
  and global by rating, as the API runs them (its role, Row Level Security on) for SAMPLE
  different callers: p50 / p99 (targets at 1M challenges: p99 at most 10 ms global, 5 ms
  friends);
- **reconciliation**: the full run that builds the counters and ratings from nothing, and the
  steady hourly run that finds nothing to repair.

    python -m bench.database.leaderboard                          # 100,000 users, 1M challenges
    python -m bench.database.leaderboard --users 5000 --first 10000 --challenges 50000   # a quick try

The databases are dropped at the end, also on error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
import uuid
from functools import partial

import psycopg
from psycopg.rows import dict_row

from bench.database.common import (ATTEMPT, Q, TARGET, owner_connection, spread_callers, time_reads,
                                   user_id_sql)
from bench.harness.results import Run
from bench.harness.scratch import scratch_database
from bench.harness.stats import percentile, summary
from core.commands import run_command
from core.db import configure_connection
from core.rules.challenges import complete_challenge
from core.rules.seasons import season_of
from jobs.leaderboards import reconcile_counters, reconcile_leaderboards, reconcile_levels, reconcile_ratings

USERS = f"""
INSERT INTO users (id, display_name)
SELECT {user_id_sql("g")}, 'user ' || g FROM generate_series(1, %(users)s) g;
-- about 20 friends each: user g asks g + k * 997 (mod users) for k in 1..10
INSERT INTO friendships (requester_id, addressee_id, status, accepted_at)
SELECT DISTINCT {user_id_sql("g")},
       {user_id_sql("1 + (g - 1 + k * 997) %% %(users)s")}, 'accepted', now()
  FROM generate_series(1, %(users)s) g, generate_series(1, 10) k
 WHERE (g - 1 + k * 997) %% %(users)s <> g - 1
ON CONFLICT DO NOTHING;
"""

# Challenges numbered from %(first)s to %(last)s, written with their triggers off: two in three
# settled (completed, a third of those lost, or abandoned), the rest pending, accepted, declined,
# each challenge's status and result drawn by a hash of its number (`draw`), so that athletes'
# records differ as real ones do. (Drawn from the number itself, every athlete had the very same
# record: 44 % of them tied on one line of the board.)
# Sent at times spread over the last eight weeks and settled an hour later; settled ones rated in
# number order (rating_seq, after any rated before), their rating change left empty (the bench
# reads only the ratings).
CHALLENGES = f"""
ALTER TABLE workout_challenges DISABLE TRIGGER USER;
INSERT INTO workout_challenges (id, from_user_id, to_user_id, workout_name, workout_data,
                                challenger_stats, status, did_beat, challenged_stats, quit_reason,
                                accepted_at, completed_at, abandoned_at, declined_at, created_at,
                                rating_seq, rating_change)
SELECT gen_random_uuid(), f, t, 'Workout ' || (g %% 25), '{TARGET}', '{TARGET}',
       s, CASE WHEN s = 'completed' THEN won END,
       CASE WHEN s = 'completed' THEN '{ATTEMPT}'::jsonb END,
       CASE WHEN s = 'abandoned' THEN 'Too hard for me' END,
       CASE WHEN s IN ('accepted', 'completed', 'abandoned') THEN at END,
       CASE WHEN s = 'completed' THEN at + interval '1 hour' END,
       CASE WHEN s = 'abandoned' THEN at + interval '1 hour' END,
       CASE WHEN s = 'declined' THEN at END, at,
       CASE WHEN s IN ('completed', 'abandoned') THEN nextval('rating_seq') END,
       CASE WHEN s IN ('completed', 'abandoned') THEN '{{}}'::jsonb END
  FROM (SELECT g,
               {user_id_sql("1 + (g * 7919) %% %(users)s")} AS f,
               {user_id_sql("1 + (g * 104729 + 1) %% %(users)s")} AS t,
               (ARRAY['completed', 'completed', 'completed', 'abandoned', 'pending', 'accepted',
                      'declined', 'completed', 'completed'])[1 + draw %% 9] AS s,
               (draw / 9) %% 3 <> 0 AS won,
               now() - interval '56 days' + (g %% 4800) * interval '1 day' / 86.0 AS at
          FROM generate_series(%(first)s::bigint, %(last)s) g,
               LATERAL (SELECT hashint8(g)::bigint + 2147483648 AS draw) drawn) picked
 WHERE f <> t
 ORDER BY g;
ALTER TABLE workout_challenges ENABLE TRIGGER USER;
"""

# Accepted challenges for the jobs to complete: one per user of a spread-out set, sent now.
TO_COMPLETE = f"""
INSERT INTO workout_challenges (id, from_user_id, to_user_id, workout_name, workout_data,
                                challenger_stats, status, accepted_at)
SELECT gen_random_uuid(), {user_id_sql("1 + (g * 31 + 5) %% %(users)s")},
       {user_id_sql("1 + (g * 101) %% %(users)s")}, 'Bench Legs', '{TARGET}', '{TARGET}',
       'accepted', now()
  FROM generate_series(1, %(count)s) g
 WHERE (g * 31 + 5) %% %(users)s <> (g * 101) %% %(users)s
RETURNING id::text, to_user_id::text;
"""


def add_challenges(url: str, users: int, first: int, last: int) -> float:
    with owner_connection(url) as conn:
        started = time.perf_counter()
        conn.execute(CHALLENGES % {"users": users, "first": first, "last": last})
        return time.perf_counter() - started


def reconcile(url: str) -> dict:
    """Both reconciliations, timed; then VACUUM ANALYZE (as autovacuum would) for the plans."""
    with owner_connection(url) as conn:
        started = time.perf_counter()
        counters = reconcile_counters(conn)  # their trigger keeps the levels as it writes them
        counted = time.perf_counter() - started
        levels = reconcile_levels(conn)
        ratings = reconcile_ratings(conn)
        rated = time.perf_counter() - counted - started
        conn.execute("VACUUM ANALYZE")
    assert levels == 0, f"{levels} level rows were wrong after the counters' trigger wrote them"
    return {"counter_rows_written": counters, "counters_seconds": round(counted, 1),
            "ratings_written": ratings, "ratings_seconds": round(rated, 1)}


def accepted_challenges(url: str, users: int, count: int) -> list[dict]:
    with owner_connection(url) as conn:
        rows = conn.execute(TO_COMPLETE % {"users": users, "count": count}).fetchall()
        conn.execute("VACUUM ANALYZE workout_challenges")
    return rows


def trigger_ms(conn, challenge: dict) -> float:
    """The counters' trigger's own time on one completion, as EXPLAIN ANALYZE reports it."""
    with conn.transaction():
        plan = conn.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) UPDATE workout_challenges SET status = 'completed',"
            f" completed_at = now(), challenged_stats = '{ATTEMPT}', did_beat = true WHERE id = %s",
            (challenge["id"],)).fetchone()["QUERY PLAN"][0]
    [counted] = [t for t in plan["Triggers"] if t["Trigger Name"] == "count_challenge_change"]
    return counted["Time"]


def cost_per_change(databases: dict[str, tuple[str, list[dict]]], warmup: int = 20) -> dict:
    """The trigger's time per completion in each database ({name: (url, challenges)}), the
    databases taking turns one completion at a time, after `warmup` untimed ones each."""
    times = {name: [] for name in databases}
    connections = {name: owner_connection(url) for name, (url, _) in databases.items()}
    try:
        for turn in zip(*(challenges for _, challenges in databases.values())):
            for (name, conn), challenge in zip(connections.items(), turn):
                times[name].append(trigger_ms(conn, challenge))
    finally:
        for conn in connections.values():
            conn.close()
    return {name: {"completions": len(values) - warmup, "mean_ms": round(statistics.mean(values[warmup:]), 4),
                   **summary(values[warmup:])} for name, values in times.items()}


def complete_job_ms(conn, challenge: dict) -> float:
    effect = partial(complete_challenge, user_id=challenge["to_user_id"], challenge_id=challenge["id"],
                     duration_minutes=28, total_volume=9000)
    started = time.perf_counter()
    outcome, _ = run_command(conn, job_id=str(uuid.uuid4()), actor_name="challenges.complete",
                             user_id=challenge["to_user_id"], effect=effect)
    assert outcome["status"] == "succeeded", outcome
    return (time.perf_counter() - started) * 1000


def complete_jobs(url: str, challenges: list[dict], blocks: int = 64, warmup: int = 50) -> dict:
    """Complete jobs one after the other as the worker runs them, after `warmup` untimed ones,
    in short blocks alternating the counters' trigger off and on (each toggle is followed by one
    untimed job, which plans the statements again), so that a checkpoint (after which every
    page's first change writes the whole page to the WAL) weighs on both ways alike; ms per job
    each way, and the ratio of their means and of their medians."""
    timings = {"with": [], "without": []}
    warm, timed = challenges[:warmup], challenges[warmup:]
    size = len(timed) // blocks
    with owner_connection(url) as admin, psycopg.connect(url, row_factory=dict_row) as conn:
        configure_connection(conn)
        for challenge in warm:
            complete_job_ms(conn, challenge)
        for block in range(blocks):
            live = block % 2 == 1
            admin.execute(f"ALTER TABLE workout_challenges {'ENABLE' if live else 'DISABLE'}"
                          " TRIGGER count_challenge_change")
            first, *rest = timed[block * size:(block + 1) * size]
            complete_job_ms(conn, first)
            timings["with" if live else "without"] += [complete_job_ms(conn, c) for c in rest]
        admin.execute("ALTER TABLE workout_challenges ENABLE TRIGGER count_challenge_change")
    means = {key: statistics.mean(values) for key, values in timings.items()}
    medians = {key: percentile(values, 50) for key, values in timings.items()}
    return {"with_counters": {"mean_ms": round(means["with"], 3), **summary(timings["with"])},
            "without_counters": {"mean_ms": round(means["without"], 3), **summary(timings["without"])},
            "ratio": round(means["with"] / means["without"], 3),
            "ratio_p50": round(medians["with"] / medians["without"], 3)}


def board_reads(week: str) -> dict:
    return {
        "global, all time": lambda c, u: list(Q.leaderboard_global(c, user_id=u, season="all", limit=20)),
        "friends, all time": lambda c, u: list(Q.leaderboard_friends(c, user_id=u, season="all", limit=20,
                                                                     by_rating=False)),
        "global, this week": lambda c, u: list(Q.leaderboard_global(c, user_id=u, season=week, limit=20)),
        "friends, this week": lambda c, u: list(Q.leaderboard_friends(c, user_id=u, season=week, limit=20,
                                                                      by_rating=False)),
        "global, by rating": lambda c, u: list(Q.leaderboard_global_by_rating(c, user_id=u, limit=20)),
    }


def stage(url: str, args) -> tuple[dict, list[dict]]:
    """Everything but the cost per change measured on one database; and the accepted challenges
    kept for that (args.explained of them)."""
    with owner_connection(url) as conn:
        counts = conn.execute("SELECT (SELECT count(*) FROM workout_challenges) AS challenges,"
                              " (SELECT count(*) FROM leaderboard_counters) AS counter_rows,"
                              " (SELECT count(*) FROM athlete_ratings) AS ratings").fetchone()
    to_complete = accepted_challenges(url, args.users, args.jobs + args.explained)
    steady_started = time.perf_counter()
    with owner_connection(url) as conn:
        steady = reconcile_leaderboards(conn)
    steady_seconds = time.perf_counter() - steady_started
    callers = spread_callers(args.users, args.sample)
    week = season_of("week", dt.datetime.now(dt.timezone.utc))
    return {"challenges": counts["challenges"], "counter_rows": counts["counter_rows"],
            "ratings": counts["ratings"],
            "steady_reconciliation": {"repaired": steady, "seconds": round(steady_seconds, 1)},
            "complete_job": complete_jobs(url, to_complete[args.explained:]),
            "reads": time_reads(url, callers, board_reads(week))}, to_complete[:args.explained]


def build_and_measure(url: str, args, challenges: int) -> tuple[dict, list[dict]]:
    with owner_connection(url) as conn:
        conn.execute(USERS % {"users": args.users})
    seeded = add_challenges(url, args.users, 1, challenges)
    results = {"seed_seconds": round(seeded, 1), "full_reconciliation": reconcile(url)}
    measured, kept = stage(url, args)
    return {**results, **measured}, kept


def measure(args) -> dict:
    results = {"users": args.users, "callers": args.sample}
    with scratch_database("wc_bench_board") as first, scratch_database("wc_bench_board") as whole:
        results["first"], first_kept = build_and_measure(first, args, args.first)
        results["all"], whole_kept = build_and_measure(whole, args, args.challenges)
        per_change = cost_per_change({"first": (first, first_kept), "all": (whole, whole_kept)})
    for key in ("first", "all"):
        results[key]["trigger_per_change"] = per_change[key]
    results["cost_per_change_ratio"] = {
        "p50": round(per_change["all"]["p50_ms"] / per_change["first"]["p50_ms"], 3),
        "mean": round(per_change["all"]["mean_ms"] / per_change["first"]["mean_ms"], 3)}
    return results


def print_results(results: dict) -> None:
    for key in ("first", "all"):
        part = results[key]
        job, trigger = part["complete_job"], part["trigger_per_change"]
        print(f"{part['challenges']:,} challenges, {results['users']:,} users, {part['counter_rows']:,} "
              f"counter rows, {part['ratings']:,} ratings")
        print(f"  reconciliation from nothing: counters {part['full_reconciliation']['counters_seconds']} s, "
              f"ratings {part['full_reconciliation']['ratings_seconds']} s; steady run "
              f"{part['steady_reconciliation']['seconds']} s, repaired {part['steady_reconciliation']['repaired']}")
        print(f"  counters' trigger per change: mean {trigger['mean_ms']} ms, p50 {trigger['p50_ms']}, "
              f"p99 {trigger['p99_ms']}")
        print(f"  complete job: {job['with_counters']['mean_ms']} ms with live counters, "
              f"{job['without_counters']['mean_ms']} ms without (means): ratio {job['ratio']}; "
              f"of the medians {job['ratio_p50']}")
        for name, numbers in part["reads"].items():
            print(f"  {name:20s} p50 {numbers['p50_ms']:6.2f} ms   p99 {numbers['p99_ms']:6.2f} ms")
    print(f"cost per change, {results['all']['challenges']:,} vs {results['first']['challenges']:,} "
          f"challenges: {results['cost_per_change_ratio']['p50']} (p50), "
          f"{results['cost_per_change_ratio']['mean']} (mean)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--first", type=int, default=100_000, help="challenges in the smaller database")
    parser.add_argument("--challenges", type=int, default=1_000_000, help="challenges in the larger database")
    parser.add_argument("--sample", type=int, default=300, help="how many different callers read")
    parser.add_argument("--jobs", type=int, default=1650,
                        help="complete jobs per stage: 50 to warm up, then half with counters")
    parser.add_argument("--explained", type=int, default=1000,
                        help="completions timed by EXPLAIN ANALYZE in each database, 20 to warm up")
    args = parser.parse_args()
    run = Run("leaderboard", vars(args), ("psycopg",))
    results = measure(args)
    print_results(results)
    return run.finish(results)


if __name__ == "__main__":
    sys.exit(main())
