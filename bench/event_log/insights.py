"""The event log's reads and writes, timed against a real ChromaDB server: indexing throughput,
then `GET /insights`, the encouragement of `GET /challenges/{id}` and `GET /insights/search` as
the API computes them, for SAMPLE different callers, p50/p99.

It starts its own `chroma run` on a free port over a temporary directory (removed at the end)
and fills it through the indexer's own code (sentence, metadata, kind of workout, upsert) with
CHALLENGES synthetic challenges between USERS users: each created, then accepted and won, lost
or quit, and a third of the lost ones retried. The embedding is the shipped one (all-MiniLM-L6-v2).

    python -m bench.event_log.insights    # 1,000 users, 25,000 challenges (~80,000 events)
    python -m bench.event_log.insights --help
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
import uuid

from bench.event_log.synthetic import PARTIAL, TARGET, WORKOUTS
from bench.harness.results import Run
from bench.harness.scratch import scratch_chroma
from bench.harness.stats import summary
from core.embeddings import MiniLMEmbedding
from core.event_log import EventLog, entries
from core.insights import encouragement_for, insights_for, search

ATTEMPTS = {"won": {**TARGET, "duration_minutes": 28}, "lost": {**TARGET, "duration_minutes": 33}}


def challenge_events(rng: random.Random, users: list[str], at: dt.datetime):
    """One challenge's events, as rows of the events table with the names joined."""
    sender, athlete = rng.sample(users, 2)
    challenge_id, workout = str(uuid.uuid4()), rng.choice(WORKOUTS)
    result = rng.choice(["won", "lost", "quit"])
    payload = {"challenge_id": challenge_id, "from_user_id": sender, "to_user_id": athlete,
               "workout_name": workout, "target": TARGET, "retry_number": 0}
    steps = [("challenge_created", sender, {}), ("challenge_accepted", athlete, {})]
    if result == "quit":
        steps.append(("challenge_abandoned", athlete, {"quit_reason": "Too hard for me 😓", "partial_stats": PARTIAL}))
    else:
        steps.append(("challenge_completed", athlete, {"did_beat": result == "won", "attempt": ATTEMPTS[result]}))
    if result == "lost" and rng.random() < 1 / 3:
        steps.append(("challenge_retried", athlete, {"retry_number": 1}))
    for offset, (kind, actor, extra) in enumerate(steps):
        yield {"id": str(uuid.uuid4()), "event_type": kind, "actor_id": actor,
               "created_at": at + dt.timedelta(minutes=offset), "from_name": "user", "to_name": "friend",
               "payload": {**payload, **extra}}


def timed(samples: list, call) -> dict:
    times = []
    for sample in samples:
        start = time.perf_counter()
        call(sample)
        times.append((time.perf_counter() - start) * 1000)
    return summary(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--challenges", type=int, default=25000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--batch", type=int, default=500, help="events per upsert, as the sweep sends")
    args = parser.parse_args()
    run = Run("insights", vars(args), ("chromadb",), servers=False)
    rng = random.Random(7)
    with scratch_chroma() as chroma:
        log = EventLog(chroma.url, "bench", MiniLMEmbedding)
        users = [str(uuid.uuid4()) for _ in range(args.users)]
        start_at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        events = [event for n in range(args.challenges)
                  for event in challenge_events(rng, users, start_at + dt.timedelta(hours=n))]
        log.workout_kinds(["warm-up"])  # imports chromadb and opens both collections
        started = time.perf_counter()
        for first in range(0, len(events), args.batch):
            log.upsert(entries(log, events[first:first + args.batch]))
        seconds = time.perf_counter() - started
        callers = rng.sample(users, args.sample)
        friends = {caller: rng.sample(users, 20) for caller in callers}
        results = {
            "users": args.users, "challenges": args.challenges, "events": len(events),
            "index_events_per_second": round(len(events) / seconds),
            "insights": timed(callers, lambda caller: insights_for(log, caller, friends[caller])),
            "encouragement": timed(callers, lambda caller: encouragement_for(log, caller, rng.choice(WORKOUTS))),
            "search": timed(callers, lambda caller: search(log, caller, "abandoned legs too hard", 10)),
        }
    print(json.dumps(results, indent=2))
    return run.finish(results)


if __name__ == "__main__":
    sys.exit(main())
