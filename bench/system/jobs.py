"""`challenges.complete` end to end, submitted through the API: done when the job has succeeded
(seen in Redis at once) and, with the event log consumed, when its event is in the event log
(seen in PostgreSQL's `events.indexed_at`). Three parts per worker: jobs queued before it starts
(its rate), one at a time on an idle system (latency), and a batch submitted while it runs."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.harness.cpu import CpuProbe, cpu_ms_per_item
from bench.harness.loadgen import Connection, run_load
from bench.harness.procfile import Command, logged, pids_in, procfile_command, serving
from bench.harness.scratch import REDIS_URL, delete_keys
from bench.harness.stats import summary
from bench.system.fixture import challenge_in, complete_requests

DRAMATIQ_READY = "Worker process is ready for action."


class DoneWatcher:
    """Notes when each job finishes (succeeded or failed), as soon as Redis knows.

    The worker sets the job hash's status and pushes `<ns>:job:<id>:done` in one MULTI; that
    list is what `Prefer: wait` blocks on. A BLPOP over outstanding jobs' lists wakes on the
    first to finish, so no polling interval blurs the times. Each BLPOP names every key it
    watches, so the jobs are spread over SHARDS threads to keep that cost (it is paid on the
    cores being measured) an eighth of what one thread would pay. A wake list per shard makes
    its thread re-read its keys as soon as `add` gives it a job.
    """

    SHARDS = 8

    def __init__(self, settings):
        import redis

        self.settings = settings
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.wakes = [settings.key("bench", "wake", str(shard)) for shard in range(self.SHARDS)]
        self.watched: list[dict[str, str]] = [{} for _ in range(self.SHARDS)]
        self.accepted_at: dict[str, float] = {}
        self.done_at: dict[str, float] = {}
        self.changed = threading.Condition()
        self.running = True
        self.threads = [threading.Thread(target=self._watch, args=(shard,), daemon=True)
                        for shard in range(self.SHARDS)]

    def __enter__(self) -> "DoneWatcher":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.running = False
        for wake in self.wakes:
            self.redis.rpush(wake, "stop")
        for thread in self.threads:
            thread.join()
        self.redis.close()

    def add(self, job_id: str, accepted_at: float, challenge_id: str | None = None) -> None:
        with self.changed:
            shard = len(self.accepted_at) % self.SHARDS
            self.accepted_at[job_id] = accepted_at
            self.watched[shard][self.settings.key("job", job_id, "done")] = job_id
        self.redis.rpush(self.wakes[shard], "add")

    def wait_all(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.done_at) == len(self.accepted_at), timeout)

    def _watch(self, shard: int) -> None:
        watched, wake = self.watched[shard], self.wakes[shard]
        while self.running:
            with self.changed:
                keys = list(watched)
            popped = self.redis.blpop(keys + [wake], timeout=1)
            finished_at = time.perf_counter()
            if popped is None:
                continue
            key = popped[0].decode()
            if key == wake:
                self.redis.delete(wake)
                continue
            with self.changed:
                self.done_at[watched.pop(key)] = finished_at
                self.changed.notify_all()

    def latencies_ms(self, job_ids: list[str]) -> list[float]:
        return [1000 * (self.done_at[job] - self.accepted_at[job]) for job in job_ids if job in self.done_at]

    def evidence(self, job_ids: list[str]) -> dict:
        return {"job_statuses": self.statuses(job_ids)}

    def statuses(self, job_ids: list[str]) -> dict[str, int]:
        with self.redis.pipeline(transaction=False) as pipe:
            for job in job_ids:
                pipe.hget(self.settings.key("job", job), "status")
            found = pipe.execute()
        counts: dict[str, int] = {}
        for status in found:
            name = status.decode() if status else "missing"
            counts[name] = counts.get(name, 0) + 1
        return counts


class IndexWatcher:
    """Notes when each finished job's event is in the event log: its `challenge_completed` row
    has `indexed_at`, which the indexer sets in the transaction that put the event in ChromaDB,
    so once the row says so, ChromaDB has it.

    Jobs finish first (DoneWatcher); the job's commit came before its Redis status, so its event
    exists by then. Every POLL_SECONDS, one query asks which of the finished jobs' events are
    still unindexed, through the partial index of unindexed events (only the in-flight ones:
    the fixture's are settled), so it costs little on the cores being measured. A job is done
    when its event was not among them: up to one poll interval late, never early.
    """

    POLL_SECONDS = 0.01
    UNINDEXED = ("SELECT subject_id::text FROM events "
                 "WHERE indexed_at IS NULL AND subject_id = ANY(%s::uuid[])")

    def __init__(self, jobs: DoneWatcher, database_url: str):
        self.jobs, self.database_url = jobs, database_url
        self.challenge_of: dict[str, str] = {}
        self.done_at: dict[str, float] = {}
        self.changed = threading.Condition()
        self.running = True
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "IndexWatcher":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.running = False
        self.thread.join()

    def add(self, job_id: str, accepted_at: float, challenge_id: str) -> None:
        with self.changed:
            self.challenge_of[job_id] = challenge_id
        self.jobs.add(job_id, accepted_at)

    def wait_all(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.done_at) == len(self.challenge_of), timeout)

    def _finished_not_indexed(self) -> dict[str, str]:
        with self.jobs.changed:
            finished = list(self.jobs.done_at)
        with self.changed:
            return {job: self.challenge_of[job] for job in finished
                    if job in self.challenge_of and job not in self.done_at}

    def _watch(self) -> None:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while self.running:
                waiting = self._finished_not_indexed()
                if waiting:
                    unindexed = {row[0] for row in conn.execute(self.UNINDEXED, (list(waiting.values()),))}
                    seen_at = time.perf_counter()
                    with self.changed:
                        for job, challenge in waiting.items():
                            if challenge not in unindexed:
                                self.done_at[job] = seen_at
                        self.changed.notify_all()
                time.sleep(self.POLL_SECONDS)

    def latencies_ms(self, job_ids: list[str]) -> list[float]:
        return [1000 * (self.done_at[job] - self.jobs.accepted_at[job]) for job in job_ids if job in self.done_at]

    def evidence(self, job_ids: list[str]) -> dict:
        """The jobs' statuses, and how many of their events the events table says are indexed
        (counted once, at the end: a job that failed has no event, which the poll cannot tell)."""
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            (indexed,) = conn.execute(
                "SELECT count(*) FROM events WHERE event_type = 'challenge_completed' "
                "AND indexed_at IS NOT NULL AND subject_id = ANY(%s::uuid[])",
                ([self.challenge_of[job] for job in job_ids],)).fetchone()
        return {**self.jobs.evidence(job_ids), "events_indexed": indexed}


@dataclass(frozen=True)
class Flow:
    """One way of running the Procfile's worker for the complete jobs."""

    name: str
    title: str
    event_log: bool  # consumes `event_log`: done also needs the job's event indexed

    def worker(self, env: dict) -> Command:
        command = procfile_command("worker", env)
        return command if self.event_log else command.adding("--queues", *queues_but_event_log())

    @contextmanager
    def tracker(self, settings, database_url: str):
        with DoneWatcher(settings) as jobs:
            if not self.event_log:
                yield jobs
                return
            with IndexWatcher(jobs, database_url) as indexed:
                yield indexed


FLOWS = (Flow("with_event_log", "202 -> succeeded and in the event log", event_log=True),
         Flow("without_event_log", "202 -> succeeded, event_log unconsumed", event_log=False))


def queues_but_event_log() -> list[str]:
    """Every queue the workers' actors declare but the event log's: what `dramatiq --queues`
    gets so that no worker thread takes an `event_log.index` message (it consumes the listed
    queues and their delay queues only)."""
    import workers.app  # noqa: F401  (declares every actor's queue, as `dramatiq workers.app` does)
    from core.outbox import EVENT_LOG_QUEUE
    from workers.broker import broker

    declared = broker.get_declared_queues()
    if EVENT_LOG_QUEUE not in declared:
        raise RuntimeError(f"no queue {EVENT_LOG_QUEUE!r} among the declared {sorted(declared)}")
    return sorted(declared - {EVENT_LOG_QUEUE})


def job_id_of(status: int, body: bytes) -> str:
    if status != 202:
        raise RuntimeError(f"expected 202 for a complete command, got {status}: {body[:300]!r}")
    return json.loads(body)["job_id"]


def one_at_a_time(port: int, requests: list[bytes], watcher, gap: float, timeout: float) -> dict:
    """Each job alone on an idle system: its latency with no queue in front of it."""
    connection, job_ids = Connection(port), []
    for raw in requests:
        time.sleep(gap)
        status, body = connection.request(raw)
        received_at = time.perf_counter()
        job_ids.append(job_id_of(status, body))
        watcher.add(job_ids[-1], received_at, challenge_in(raw))
        if not watcher.wait_all(timeout):
            raise TimeoutError(f"job {job_ids[-1]} not done after {timeout}s")
    connection.close()
    return {"jobs": len(job_ids), "idle_gap_seconds": gap,
            **summary(watcher.latencies_ms(job_ids)), **watcher.evidence(job_ids)}


def submit(port: int, requests: list[bytes], watcher, args, on_connected=None) -> tuple[list[str], dict]:
    """Send every request as fast as `concurrency` connections can; each 202's job is watched
    from the moment its response arrived."""
    job_ids = []

    def on_response(status: int, body: bytes, received_at: float, request: bytes) -> None:
        job_ids.append(job_id_of(status, body))
        watcher.add(job_ids[-1], received_at, challenge_in(request))

    http = run_load(port, requests, args.concurrency, args.max_seconds, on_response=on_response,
                    on_connected=on_connected)
    return job_ids, http.summary()


def drain(watcher, job_ids: list[str], launched_at: float, servers: dict[str, list[int]],
          probe: CpuProbe, args) -> dict:
    """Jobs queued before the worker started: its rate with the API idle, first to last job
    done (latency from the 202 would only measure the wait for it). The time from launching
    the worker to the last one done is recorded too: it includes the start (imports, forks, and
    the first indexer turn loading the embedding model)."""
    with probe.usage(servers) as cpu:
        finished = watcher.wait_all(args.job_timeout)
    done = sorted(watcher.done_at[job] for job in job_ids if job in watcher.done_at)
    seconds = done[-1] - done[0] if len(done) > 1 else None
    rate = seconds and round((len(done) - 1) / seconds, 1)
    return {"jobs": len(job_ids), "all_done": finished, "seconds": seconds and round(seconds, 3),
            "jobs_per_second": rate,
            "seconds_from_worker_launch": done and round(done[-1] - launched_at, 3),
            **watcher.evidence(job_ids), "cpu": cpu, **cpu_ms_per_item(cpu, "worker", rate, "job")}


def batch(port: int, requests: list[bytes], watcher, servers: dict[str, list[int]],
          probe: CpuProbe, args) -> dict:
    """Jobs submitted through the API as fast as the client can while the worker runs:
    jobs/second from the first request to the last job done, with the API, the worker,
    PostgreSQL, Redis and ChromaDB sharing the cores; each latency includes the wait behind
    the others."""
    marks = {}
    with probe.usage(servers) as cpu:
        job_ids, http = submit(port, requests, watcher, args,
                               on_connected=lambda ports: marks.setdefault("start", time.perf_counter()))
        finished = watcher.wait_all(args.job_timeout)
    done = [watcher.done_at[job] for job in job_ids if job in watcher.done_at]
    seconds = max(done) - marks["start"] if done else None
    return {"jobs": len(job_ids), "all_done": finished, "seconds": seconds and round(seconds, 3),
            "jobs_per_second": seconds and round(len(done) / seconds, 1),
            **summary(watcher.latencies_ms(job_ids)), **watcher.evidence(job_ids),
            "submit": http, "cpu": cpu}


@dataclass
class Deployment:
    """The running web process and scheduler, and what a job measurement needs around them."""

    env: dict
    log_dir: Path
    probe: CpuProbe
    api_port: int
    database_url: str
    servers: dict[str, list[int]]  # name -> pids, for the CPU probe


def clear_queues(settings) -> None:
    """Empty the broker and the indexer's turn: the accept run left thousands of jobs nobody
    consumed, which a worker would otherwise work through before ours; and each flow starts
    with no indexer turn taken."""
    from core.outbox import indexing_turn

    delete_keys(f"{settings.key('dramatiq')}:*")
    delete_keys(indexing_turn(settings))


def bench_jobs(args, flow: Flow, deployment: Deployment, pairs: list[tuple[str, str]]) -> dict:
    """Queue `jobs` completes, start the worker (drain rate; it also warms the worker up), then
    measure latency alone and in a batch."""
    from core.settings import Settings

    settings = Settings.from_env()
    clear_queues(settings)
    requests = complete_requests(deployment.api_port, pairs)
    queued, idle = requests[:args.jobs], requests[args.jobs:args.jobs + args.idle_jobs]
    batched = requests[args.jobs + args.idle_jobs:]
    worker, port, probe = flow.worker(deployment.env), deployment.api_port, deployment.probe
    with flow.tracker(settings, deployment.database_url) as watcher:
        queued_ids, queued_http = submit(port, queued, watcher, args)
        launched_at = time.perf_counter()
        with serving(worker, deployment.env, deployment.log_dir / f"worker_{flow.name}.log",
                     logged(DRAMATIQ_READY, int(worker.option("--processes")))) as (_, ready):
            servers = {**deployment.servers, "worker": pids_in(ready, r"(?:\"pid\": |\[PID )(\d+)")}
            return {"worker": worker.line(),
                    "drain": {**drain(watcher, queued_ids, launched_at, servers, probe, args),
                              "submit": queued_http},
                    "one_at_a_time": one_at_a_time(port, idle, watcher, args.idle_gap, args.job_timeout),
                    "batch": batch(port, batched, watcher, servers, probe, args)}


def jobs_needed(args) -> int:
    """Accepted challenges one flow completes."""
    return 2 * args.jobs + args.idle_jobs
