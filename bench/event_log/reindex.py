"""`challenges reindex` on a large events table: how long rebuilding the event log takes.

It seeds EVENTS events (100,000 by default) into a fresh database with one INSERT ... SELECT over
generate_series, in seconds: every event type the event log renders, in the mix a busy app makes
(friend challenges created, accepted, completed, abandoned, retried, declined, expired and
withdrawn; community challenges joined, milestones, completions), each with the payload keys the
triggers and core/rules/community.py write and core/event_log.py's sentence() and metadata()
read, between USERS users whose display names the reindex joins in, over 60 workout names. Then
it starts its own ChromaDB (over a temporary directory), runs
the operator's command, `challenges reindex`, against both with the shipped embedding, and
reports events/s and minutes. The issue's target: under 15 minutes for 100,000 events.

Everything is its own: a new database and a temporary ChromaDB, removed at the end, also on
error, Ctrl-C or SIGTERM.

    python -m bench.event_log.reindex                 # 100,000 events
    python -m bench.event_log.reindex --events 2000   # a quick try
"""

from __future__ import annotations

import argparse
import json
import resource
import secrets
import signal
import subprocess
import sys
import time

from bench.harness.cpu import BackendSampler, CpuProbe, process_cpu_seconds
from bench.harness.procfile import BIN, ROOT, isolated_environment
from bench.harness.results import Run
from bench.harness.scratch import scratch_chroma, scratch_database
from jobs.local_servers import ChromaServer

COLLECTION = "bench-reindex"
TARGET_MINUTES = 15
TARGET_EVENTS = 100_000
# One slot per event, by its number modulo 20: about the mix of a year of use.
SLOTS = ["challenge_created"] * 4 + ["challenge_accepted"] * 3 + ["challenge_completed"] * 4 + [
    "challenge_abandoned", "challenge_retried", "challenge_declined", "challenge_expired",
    "challenge_withdrawn", "community_joined", "community_milestone", "community_milestone",
    "community_completed"]
STATUS = {"challenge_created": "pending", "challenge_accepted": "accepted", "challenge_completed": "completed",
          "challenge_abandoned": "abandoned", "challenge_retried": "accepted", "challenge_declined": "declined",
          "challenge_expired": "expired", "challenge_withdrawn": "withdrawn"}
FIRST_NAMES = ["Sarah", "John", "Maya", "Dan", "Priya", "Tom", "Aisha", "Lukas", "Chen", "Olivia",
               "Mateo", "Fatima", "Noah", "Yuki", "Emma", "Kwame"]
WORKOUTS = ["Beast Mode Legs", "Leg Day Destroyer", "Squat Sunday", "Glute Bridge Burn", "Deadlift PR Day",
            "Lunge Ladder", "Arm Destroyer", "Biceps Blast", "Chest Day", "Push Day", "Pull Day",
            "Shoulder Shredder", "Back Attack", "Bench Press Pyramid", "Core Killer", "Plank Party",
            "Ab Attack", "Six Pack Circuit", "Cardio Crusher", "Morning Run", "Hill Sprints", "5K Tempo",
            "Spin Class Sweat", "Rowing Intervals", "HIIT Inferno", "Full Body Burn", "CrossFit WOD",
            "Burpee Challenge", "Total Body Tabata", "Sunday Funday", "Friday Fire", "Lunch Break Pump",
            "The Gauntlet", "Iron Hour", "Sweat Session", "Garage Gym Grind", "Hotel Room Workout",
            "Kettlebell Complex", "Stair Climber", "Box Jump Madness", "Jump Rope Jam", "Swim Laps",
            "Trail Run", "Yoga Flow", "Mobility Monday", "Upper Body Blitz", "Lower Body Burner",
            "Calf Raise Marathon", "Tricep Dip Challenge", "Pull Up Ladder", "Push Up Pyramid",
            "Squat Thrust Showdown", "Battle Ropes", "Sled Push", "Farmer Carry", "Wall Ball Wars",
            "Bike Sprint", "Rowing 2K", "Core Crusher", "Leg Press Limit"]
QUIT_REASONS = ["Too hard for me", "Got injured", "No time this week", "Gym was closed", "Felt sick"]
COMMUNITY = [("20 Workouts in 30 Days", "workouts", 20, "workouts"),
             ("1,000 Minutes in March", "duration", 1000, "minutes"),
             ("Lift 100 Tonnes", "volume", 100000, "kg"),
             ("Hydration Habit", "habit", 60, "glasses of water")]

SEED_USERS = """
INSERT INTO users (id, display_name)
SELECT md5('reindex-user-' || u)::uuid,
       (%(names)s::text[])[1 + u %% cardinality(%(names)s::text[])] || ' ' || chr(65 + (u / 16) %% 26) || '.'
  FROM generate_series(0, %(users)s - 1) u
"""

SEED_EVENTS = """
WITH numbered AS (
    SELECT n,
           (%(slots)s::text[])[1 + n %% 20] AS kind,
           timestamptz '2026-01-01 00:00+00' + n * interval '5 minutes' AS at,
           md5('reindex-user-' || n %% %(users)s)::uuid AS from_user,
           md5('reindex-user-' || (n + 1 + n %% (%(users)s - 1)) %% %(users)s)::uuid AS to_user,
           md5('reindex-challenge-' || n)::uuid AS challenge,
           (%(workouts)s::text[])[1 + (n / 20) %% cardinality(%(workouts)s::text[])] AS workout,
           20 + n %% 40 AS minutes, 5000 + (n %% 50) * 200 AS volume,
           CASE WHEN n %% 5 = 0 THEN 'kg' ELSE 'lb' END AS unit,
           n %% 60 = 0 AS beat_this,
           1 + (n / 20) %% 4 AS community
      FROM generate_series(1, %(events)s) n
), stats AS (
    SELECT *,
           jsonb_build_object('duration_minutes', minutes, 'total_volume', volume, 'volume_unit', unit,
                              'total_volume_kg', round(volume * CASE unit WHEN 'kg' THEN 1 ELSE 0.45359237 END, 3))
               AS target,
           jsonb_build_object('duration_minutes', minutes - 2 + n %% 5, 'total_volume', volume + 500,
                              'volume_unit', unit,
                              'total_volume_kg', round((volume + 500) * CASE unit WHEN 'kg' THEN 1 ELSE 0.45359237 END, 3))
               AS attempt,
           jsonb_build_object('duration_minutes', minutes / 2, 'total_volume', volume / 3, 'volume_unit', unit,
                              'total_volume_kg', round(volume / 3 * CASE unit WHEN 'kg' THEN 1 ELSE 0.45359237 END, 3))
               AS partial
      FROM numbered
), payloads AS (
    SELECT n, kind, at,
           CASE WHEN kind LIKE 'community%%' THEN from_user
                WHEN kind = 'challenge_expired' THEN NULL
                WHEN kind IN ('challenge_created', 'challenge_withdrawn') AND NOT beat_this THEN from_user
                ELSE to_user END AS actor,
           CASE WHEN kind LIKE 'community%%' THEN md5('reindex-community-' || community)::uuid ELSE challenge END
               AS subject,
           CASE
             WHEN kind LIKE 'community%%' THEN
               jsonb_build_object('community_challenge_id', md5('reindex-community-' || community)::uuid,
                                  'challenge_name', (%(community_names)s::text[])[community],
                                  'user_id', from_user,
                                  'challenge_type', (%(community_types)s::text[])[community],
                                  'target', (%(community_targets)s::int[])[community],
                                  'unit', (%(community_units)s::text[])[community])
               || CASE kind
                    WHEN 'community_joined' THEN jsonb_build_object('duration_days', 30)
                    WHEN 'community_milestone' THEN jsonb_build_object(
                        'milestone', 25 * (1 + n %% 3),
                        'total', (%(community_targets)s::int[])[community] * (1 + n %% 3) / 4.0)
                    ELSE jsonb_build_object('milestone', 100, 'points', 500,
                                            'total', (%(community_targets)s::int[])[community]) END
             WHEN kind = 'challenge_withdrawn' THEN
               jsonb_build_object('challenge_id', challenge, 'from_user_id', from_user, 'to_user_id', to_user,
                                  'status', 'withdrawn', 'workout_name', workout)
             ELSE
               jsonb_build_object(
                 'challenge_id', challenge, 'from_user_id', from_user, 'to_user_id', to_user,
                 'status', CASE WHEN beat_this THEN 'accepted' ELSE (%(statuses)s::jsonb) ->> kind END,
                 'workout_name', workout,
                 'did_beat', CASE WHEN kind = 'challenge_completed' THEN n %% 5 <= 2 END,
                 'quit_reason', CASE WHEN kind = 'challenge_abandoned'
                                     THEN (%(quit_reasons)s::text[])[1 + (n / 20) %% 5] END,
                 'is_retry', kind = 'challenge_retried',
                 'retried_from_challenge_id', CASE WHEN kind = 'challenge_retried'
                                                   THEN md5('reindex-challenge-' || (n - 9))::uuid END,
                 'retry_number', CASE WHEN kind = 'challenge_retried' THEN 1 + (n / 20) %% 3 ELSE 0 END,
                 'activity_id', CASE WHEN beat_this THEN md5('reindex-post-' || n)::uuid END,
                 'target', target,
                 'attempt', CASE WHEN kind = 'challenge_completed' THEN attempt END,
                 'partial_stats', CASE WHEN kind = 'challenge_abandoned' THEN partial END)
           END AS payload
      FROM stats
)
INSERT INTO events (event_type, actor_id, subject_id, payload, created_at, published_at, indexed_at)
SELECT kind, actor, subject, payload, at, at, at FROM payloads ORDER BY n
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=TARGET_EVENTS, help="events to seed and reindex")
    parser.add_argument("--users", type=int, default=2000, help="users the events are between")
    return parser.parse_args()


def seed(database_url: str, events: int, users: int) -> dict[str, int]:
    """The users, then the events, in one transaction; how many of each type."""
    import psycopg

    community_names, community_types, community_targets, community_units = map(list, zip(*COMMUNITY))
    params = {"names": FIRST_NAMES, "users": users, "slots": SLOTS, "workouts": WORKOUTS,
              "events": events, "statuses": json.dumps(STATUS), "quit_reasons": QUIT_REASONS,
              "community_names": community_names, "community_types": community_types,
              "community_targets": community_targets, "community_units": community_units}
    with psycopg.connect(database_url) as conn:
        with conn.transaction():
            conn.execute(SEED_USERS, params)
            conn.execute(SEED_EVENTS, params)
        conn.execute("ANALYZE events")
        return dict(conn.execute("SELECT event_type, count(*) FROM events GROUP BY 1 ORDER BY 1").fetchall())


def reindex_environment(database_url: str, chroma_url: str) -> dict:
    """The CLI's settings: this database and ChromaDB, a production secret of its own (the CLI,
    like every process, refuses the development one), and nothing else of the caller's, so the
    shipped embedding is what runs."""
    return isolated_environment(DATABASE_URL=database_url, CHROMA_URL=chroma_url, CHROMA_COLLECTION=COLLECTION,
                                JWT_SECRET=secrets.token_hex(32), ANONYMIZED_TELEMETRY="False")


def run_reindex(env: dict, chroma: ChromaServer, probe: CpuProbe) -> dict:
    """`challenges reindex` (the console script beside this Python), timed from start to exit:
    what an operator waits, the model's loading included. CPU of the command, ChromaDB and the
    database's backends."""
    command = [str(BIN / "challenges"), "reindex"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    chroma_before = process_cpu_seconds(chroma.process.pid)
    started = time.perf_counter()
    with BackendSampler(probe) as backends:
        finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if finished.returncode:
        raise RuntimeError(f"challenges reindex exited with {finished.returncode}:\n{finished.stderr[-3000:]}")
    command_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"seconds": round(seconds, 1), "output": finished.stdout.strip(),
            "cpu": {"reindex_cores": round(command_cpu / seconds, 2), "postgres_cores": backends.cores(),
                    "chroma_cores": round((process_cpu_seconds(chroma.process.pid) - chroma_before) / seconds, 2)}}


def unindexed(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM events WHERE indexed_at IS NULL").fetchone()[0]


def measure(args, database_url: str, chroma: ChromaServer) -> dict:
    from core.settings import Settings

    started = time.perf_counter()
    by_type = seed(database_url, args.events, args.users)
    seeded_seconds = round(time.perf_counter() - started, 1)
    env = reindex_environment(database_url, chroma.url)
    reindex = run_reindex(env, chroma, CpuProbe.of(database_url))
    rate = args.events / reindex["seconds"]
    return {"events": args.events, "users": args.users, "events_by_type": by_type, "seed_seconds": seeded_seconds,
            "embedding_function": Settings().embedding_function, **reindex,
            "events_per_second": round(rate, 1), "minutes": round(reindex["seconds"] / 60, 2),
            f"projected_minutes_for_{TARGET_EVENTS}": round(TARGET_EVENTS / rate / 60, 1),
            "events_left_unindexed": unindexed(database_url)}


def problems(results: dict) -> list[str]:
    found = []
    if results["events_left_unindexed"]:
        found.append(f"{results['events_left_unindexed']} events not indexed after the reindex")
    if f"indexed {results['events']} event(s)" not in results["output"]:
        found.append(f"the reindex did not report {results['events']} events: {results['output']!r}")
    if results[f"projected_minutes_for_{TARGET_EVENTS}"] >= TARGET_MINUTES:
        found.append(f"{TARGET_EVENTS} events would take {results[f'projected_minutes_for_{TARGET_EVENTS}']} "
                     f"minutes, the target is under {TARGET_MINUTES}")
    return found


def main() -> int:
    args = parse_args()
    run = Run("reindex", vars(args), ("chromadb", "onnxruntime"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with scratch_chroma() as chroma, scratch_database("wc_bench_reindex") as database_url:
        results = measure(args, database_url, chroma)
    print(f"{results['events']} events reindexed in {results['seconds']} s ({results['minutes']} min): "
          f"{results['events_per_second']} events/s, {TARGET_EVENTS} in about "
          f"{results[f'projected_minutes_for_{TARGET_EVENTS}']} min (target < {TARGET_MINUTES}); "
          f"embedding {results['embedding_function']}; cores {results['cpu']}")
    return run.finish(results, problems(results))


if __name__ == "__main__":
    sys.exit(main())
