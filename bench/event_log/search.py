"""`GET /insights/search` for one user with 100, 10,000 and 100,000 events, among other users'
events: latency (p50, p99) and the extra memory of one call, against the goal of 100 ms and
50 MiB at every size.

It starts its own `chroma run` on a free port over a temporary directory (removed at the end,
also on an error or Ctrl-C) and fills one collection with SIZES events of three users, each
event between one of them and one of USERS others (one in eight a community event of theirs
alone), interleaved in time with OTHERS events among the others only: 160,100 events by
default. The fill goes through the indexer's own code (sentence, metadata, upsert, timelines)
in batches of INDEX_BATCH, except that each sentence gets a random unit vector instead of the
model's (embedding 160,000 sentences would take hours on 2 cores); the fill reports what the
timelines cost it. What is measured is the API's own path, `core.insights.search` with the
shipped model: timeline, vectors by id, ranking, documents of the nearest 10, HTTP to ChromaDB
included, the API's own HTTP not. Every call searches for words no call used before, so none
finds its query's vector in the model's cache.

Memory, measured in this process (which makes the calls), in a second pass of --memory-calls
calls per size so that tracing does not slow the timed ones, both held to the goal:
`tracemalloc_peak_mib`, the peak of Python's allocations during the call, an upper bound, since
it also counts buffers reserved but never touched (orjson reserves several times the size of a
response it parses); `rss_peak_mib`, how far the resident set peaked during the call above where
it was before (VmHWM, reset before each call through /proc/self/clear_refs): what the call took
from the machine beyond what the warm process already held, 0 when it fit in that.

    python -m bench.event_log.search          # about 8 minutes
    python -m bench.event_log.search --others 5000 --sizes 100,10000 --calls 50   # a quick try
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import time
import tracemalloc
import uuid
from pathlib import Path

import numpy

from bench.event_log.synthetic import PARTIAL, TARGET, WORKOUTS
from bench.harness.results import Run
from bench.harness.scratch import scratch_chroma
from bench.harness.stats import percentile, summary
from core.embeddings import MiniLMEmbedding
from core.event_log import RECENT_EVENTS, EventLog, entries
from core.insights import search

# The indexer's batch, workers/events.py's INDEX_BATCH (that module starts a worker's runtime).
INDEX_BATCH = 128
GOAL_P99_MS, GOAL_EXTRA_MIB = 100, 50
COLLECTION = "bench-search"
PACKAGES = ("chromadb", "numpy", "orjson")
ATTEMPT = {**TARGET, "duration_minutes": 28}
STEPS = [("challenge_created", {}), ("challenge_accepted", {}),
         ("challenge_completed", {"did_beat": True, "attempt": ATTEMPT}),
         ("challenge_abandoned", {"quit_reason": "Too hard for me 😓", "partial_stats": PARTIAL})]
COMMUNITY = {"challenge_name": "20 Workouts in 30 Days", "challenge_type": "workouts", "target": 20,
             "unit": "workouts", "duration_days": 30, "total": 10, "milestone": 50}
VERBS = ["gave up on", "crushed", "quit", "beat", "fell short on", "retried", "accepted", "declined",
         "smashed", "struggled with", "finished", "abandoned"]
WHEN = ["last week", "yesterday", "this month", "in the rain", "after work", "on Sunday", "early",
        "twice", "again", "at the gym", "with friends", "for the first time"]


class RandomVectors:
    """Stands in for the model while filling: a random unit vector per text. It answers to the
    model's name, so that the collection it fills is the one the model then searches."""

    name, kind_distance = MiniLMEmbedding.name, MiniLMEmbedding.kind_distance

    def __init__(self, seed: int):
        self.rng = numpy.random.default_rng(seed)

    def __call__(self, texts: list[str]) -> list[list[float]]:
        vectors = self.rng.standard_normal((len(texts), 384)).astype(numpy.float32)
        return (vectors / numpy.linalg.norm(vectors, axis=1, keepdims=True)).tolist()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,10000,100000", help="events of each measured user")
    parser.add_argument("--others", type=int, default=50_000, help="events among the other users only")
    parser.add_argument("--users", type=int, default=1000, help="other users")
    parser.add_argument("--calls", type=int, default=300, help="timed searches per size")
    parser.add_argument("--memory-calls", type=int, default=50, help="searches per size for memory")
    return parser.parse_args()


def event(rng: random.Random, number: int, owner: str | None, others: list[str], at: dt.datetime) -> dict:
    """An events row with the names joined, as the indexer reads it: a step of a friend
    challenge between `owner` (or another user) and another user, or a community milestone."""
    if owner and rng.random() < 1 / 8:
        return {"id": str(uuid.uuid4()), "event_type": "community_milestone", "actor_id": owner, "created_at": at,
                "user_name": "Sarah", "payload": {**COMMUNITY, "user_id": owner, "community_challenge_id": str(
                    uuid.UUID(int=number))}}
    sender, athlete = rng.sample(others, 2) if owner is None else rng.sample([owner, rng.choice(others)], 2)
    kind, extra = STEPS[number % len(STEPS)]
    payload = {"challenge_id": str(uuid.UUID(int=number)), "from_user_id": sender, "to_user_id": athlete,
               "workout_name": rng.choice(WORKOUTS), "target": TARGET, "retry_number": 0, **extra}
    return {"id": str(uuid.uuid4()), "event_type": kind, "actor_id": athlete, "created_at": at,
            "from_name": "John", "to_name": "Sarah", "payload": payload}


def history(rng: random.Random, sizes: list[int], others: list[str], other_events: int):
    """Every event of the collection, oldest first: each measured user's, and the others', shuffled."""
    owners = [owner for size in sizes for owner in [f"user-{size}"] * size] + [None] * other_events
    rng.shuffle(owners)
    users = {f"user-{size}": str(uuid.uuid4()) for size in sizes}
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return users, (event(rng, n, users.get(owner), others, start + dt.timedelta(minutes=n))
                   for n, owner in enumerate(owners))


def fill(url: str, events) -> dict:
    """Index every event as the worker does, random vectors aside; how long it took, and how much
    of that the timelines took."""
    log = EventLog(url, COLLECTION, lambda: RandomVectors(7))
    write_timelines, spent = log._add_to_timelines, []

    def timed_timelines(timelines, batch):
        started = time.perf_counter()
        write_timelines(timelines, batch)
        spent.append(time.perf_counter() - started)

    log._add_to_timelines = timed_timelines
    started, count = time.perf_counter(), 0
    while batch := list(itertools.islice(events, INDEX_BATCH)):
        log.upsert(entries(log, batch))
        count += len(batch)
    seconds = time.perf_counter() - started
    return {"events": count, "batch": INDEX_BATCH, "seconds": round(seconds, 1),
            "events_per_second": round(count / seconds),
            "timelines_share": round(sum(spent) / seconds, 3),
            "timelines_ms_per_batch": {"p50": round(1000 * percentile(spent, 50), 1),
                                       "p99": round(1000 * percentile(spent, 99), 1)}}


def queries():
    """Words no call has searched for before, so every call embeds its own."""
    for number in itertools.count():
        verb, when, workout = VERBS[number % 12], WHEN[number // 12 % 12], WORKOUTS[number // 144 % 15]
        yield f"{verb} {workout} {when}" + (f" #{number // 2160}" if number >= 2160 else "")


def vm_kib(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split(f"{field}:")[1].split()[0])


def rss_peak_mib(call) -> float:
    """How far above its resident set before the call the process's resident set peaked during it."""
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident set
    before = vm_kib("VmRSS")
    call()
    return (vm_kib("VmHWM") - before) / 1024


def tracemalloc_peak_mib(call) -> float:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(log: EventLog, user: str, words, calls: int, memory_calls: int) -> dict:
    for _ in range(3):  # the model loads on first use, as in an API process
        search(log, user, next(words), 10)
    times = []
    for _ in range(calls):
        query = next(words)
        started = time.perf_counter()
        found = search(log, user, query, 10)
        times.append((time.perf_counter() - started) * 1000)
        assert len(found) == 10, found
    rss = [rss_peak_mib(lambda: search(log, user, next(words), 10)) for _ in range(memory_calls)]
    traced = max(tracemalloc_peak_mib(lambda: search(log, user, next(words), 10)) for _ in range(memory_calls))
    return {"ranked": len(log.recent_ids(user)), "calls": calls, **summary(times, digits=1),
            "rss_peak_mib": {"p50": round(percentile(rss, 50), 1), "max": round(max(rss), 1)},
            "tracemalloc_peak_mib": {"max": round(traced, 1)}}


def problems(results: dict) -> list[str]:
    found = [f"{size} events: p99 {m['p99_ms']} ms, over the goal of {GOAL_P99_MS} ms"
             for size, m in results["sizes"].items() if m["p99_ms"] > GOAL_P99_MS]
    found += [f"{size} events: {measure} of {m[measure]['max']} MiB, over the goal of {GOAL_EXTRA_MIB} MiB"
              for size, m in results["sizes"].items() for measure in ("rss_peak_mib", "tracemalloc_peak_mib")
              if m[measure]["max"] > GOAL_EXTRA_MIB]
    return found


def main() -> int:
    args = parse_args()
    run = Run("search", vars(args), PACKAGES, servers=False)
    sizes = [int(size) for size in args.sizes.split(",")]
    rng = random.Random(7)
    with scratch_chroma() as chroma:
        others = [str(uuid.uuid4()) for _ in range(args.users)]
        users, events = history(rng, sizes, others, args.others)
        filled = fill(chroma.url, events)
        log, words = EventLog(chroma.url, COLLECTION, MiniLMEmbedding), queries()
        measured = {str(size): measure(log, users[f"user-{size}"], words, args.calls, args.memory_calls)
                    for size in sizes}
    results = {"bound": RECENT_EVENTS, "goal": {"p99_ms": GOAL_P99_MS, "extra_mib": GOAL_EXTRA_MIB},
               "other_users": args.users, "fill": filled, "sizes": measured}
    print(json.dumps(results, indent=2))
    return run.finish(results, problems(results))


if __name__ == "__main__":
    raise SystemExit(main())
