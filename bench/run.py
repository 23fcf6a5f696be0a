"""One run, on this machine, of every number BENCHMARKS.md reports:

1. `POST /api/v1/challenges/accept/{id}` served by gunicorn with the Procfile's web flags.
   Every request accepts a different pending challenge, so each one passes the API's precheck,
   enqueues a job and answers 202: the whole path a client pays for.
2. The ceiling: bench/bare_app.py, the same route answering 202 and nothing else, with the same
   server flags, client and concurrency. accept/bare says how much of the budget is ours.
3. `challenges.complete` jobs submitted through the API to a real `dramatiq workers.app`: the
   worker's rate on a queue filled before it started; time from the 202 to the job being
   `succeeded` one at a time on an idle worker; and a batch submitted while the worker runs
   (jobs/second, and latencies that include the wait behind the rest of the batch).

The rest of the deployed shape runs too: the scheduler, and a ChromaDB server for the event log
(the offline `hashed` embedding). Next to each number: which process used how much of the
machine's cores, since on 2 cores the load generator, the servers, PostgreSQL and Redis all take
from each other.

Everything it touches is its own: a new database and Redis namespace, servers on free ports of
127.0.0.1, all removed at the end, also on error, Ctrl-C or SIGTERM.

    python bench/run.py            # defaults: 16 connections, 8000 accepts, 500 jobs
    python bench/run.py --help
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from gunicorn_ready import READY as GUNICORN_READY
from jobs.local_servers import ChromaServer, free_port
from loadgen import Connection, build_request, latency_summary, run_load

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results.json"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
API = "/api/v1"
COMPLETE_BODY = json.dumps({"duration_minutes": 28, "total_volume": 12500}).encode()
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 8
DRAMATIQ_READY = "Worker process is ready for action."
SCHEDULER_COMMAND = [sys.executable, "-m", "jobs", "scheduler"]
SCHEDULER_READY = "scheduler starting"
START_TIMEOUT_SECONDS = 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=16,
                        help="client connections (threads) for every load run")
    parser.add_argument("--requests", type=int, default=8000,
                        help="measured accepts (each needs its own pending challenge)")
    parser.add_argument("--bare-requests", type=int, default=30000,
                        help="measured requests to the bare app (it is several times faster)")
    parser.add_argument("--warmup", type=int, default=300,
                        help="unmeasured requests before each HTTP run")
    parser.add_argument("--max-seconds", type=float, default=30.0,
                        help="stop any load run after this long")
    parser.add_argument("--jobs", type=int, default=500,
                        help="complete jobs queued before the worker starts, and again in the batch")
    parser.add_argument("--idle-jobs", type=int, default=30,
                        help="complete jobs sent one at a time to an idle worker")
    parser.add_argument("--idle-gap", type=float, default=0.25,
                        help="seconds the worker idles before each one-at-a-time job")
    parser.add_argument("--worker-processes", type=int, default=2, help="Procfile default: 2")
    parser.add_argument("--worker-threads", type=int, default=4, help="Procfile default: 4")
    parser.add_argument("--job-timeout", type=float, default=60.0,
                        help="give up waiting for submitted jobs after this long")
    return parser.parse_args()


@dataclass(frozen=True)
class Names:
    """What this run creates, so it can remove exactly that."""

    database: str
    namespace: str

    @classmethod
    def fresh(cls) -> "Names":
        run_id = uuid.uuid4().hex[:10]
        return cls(database=f"wc_bench_{run_id}", namespace=f"wc-bench-{run_id}")

    @property
    def database_url(self) -> str:
        return ADMIN_URL.rsplit("/", 1)[0] + f"/{self.database}"


def isolate_environment(names: Names, chroma_url: str) -> dict:
    """Point this process and its children at the bench's database, namespace and ChromaDB.

    Done before anything imports `workers`: its runtime reads the environment once, on import.
    API_DATABASE_URL is dropped so the API derives its read-only URL from this database. The
    event log's embedding is the offline `hashed` one: the shipped `default` needs a model
    download this machine cannot make.
    """
    os.environ.pop("API_DATABASE_URL", None)
    os.environ.update(DATABASE_URL=names.database_url, REDIS_URL=REDIS_URL,
                      REDIS_NAMESPACE=names.namespace, CHROMA_URL=chroma_url,
                      CHROMA_COLLECTION=names.namespace, EMBEDDING_FUNCTION="hashed",
                      ANONYMIZED_TELEMETRY="False")
    return dict(os.environ)


# --- Database, Redis and processes: created here, always removed ------------------------------


def admin_execute(statement: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(statement)


def delete_keys(pattern: str) -> None:
    """Delete the keys matching `pattern`; the bench only ever passes its own namespace."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
    finally:
        client.close()


def gunicorn_command(port: int, app: str) -> list[str]:
    """The Procfile's web line (2 workers, 8 threads, access log to stdout) on 127.0.0.1, plus
    bench/gunicorn_ready.py: a readiness hook and no control socket, nothing about serving."""
    return [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
            "--workers", str(GUNICORN_WORKERS), "--threads", str(GUNICORN_THREADS), "--access-logfile", "-",
            "--config", str(BENCH / "gunicorn_ready.py"), app]


def dramatiq_command(args) -> list[str]:
    return [sys.executable, "-m", "dramatiq", "workers.app",
            "--processes", str(args.worker_processes), "--threads", str(args.worker_threads)]


@contextmanager
def serving(command: list[str], env: dict, log_path: Path, ready_line: str, ready_count: int):
    """Run `command` until the block ends; yields once `ready_line` has been logged
    `ready_count` times (once per worker process): its pid and those lines."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process.pid, wait_ready(process, log_path, ready_line, ready_count)
        finally:
            stop(process)


def wait_ready(process: subprocess.Popen, log_path: Path, ready_line: str, count: int) -> list[str]:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log_path.stem} exited with {process.returncode} while starting")
        lines = [line for line in log_path.read_text(errors="replace").splitlines() if ready_line in line]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise TimeoutError(f"{log_path.stem}: {count} x {ready_line!r} not logged in {START_TIMEOUT_SECONDS}s")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (a graceful stop for gunicorn and dramatiq alike), SIGKILL if that hangs."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def print_logs(log_dir: Path, lines: int = 40) -> None:
    """The tail of every server log: the only trace of why a server misbehaved."""
    for path in sorted(log_dir.glob("*.log")):
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- {path.name} (last {len(tail)} lines) ---", *tail, sep="\n", file=sys.stderr)


# --- Fixtures ----------------------------------------------------------------------------------


@dataclass
class Fixture:
    pending: list[tuple[str, str]]   # (recipient's token, challenge id) for accept
    accepted: list[tuple[str, str]]  # (recipient's token, challenge id) for complete


def seed(database_url: str, pending: int, accepted: int) -> Fixture:
    """One challenger and one friend per challenge, made with the workers' own rules in one
    transaction: the rows the API would have produced, in seconds instead of thousands of jobs.
    One recipient per challenge keeps every accept a different caller, as in real traffic."""
    import psycopg
    from psycopg.rows import dict_row

    from api.auth import issue_token
    from settings import Settings
    from workers.challenges import MAX_RECIPIENTS, accept_challenge, create_challenges
    from workers.db import configure_connection
    from workers.friends import accept_friendship, request_friendship
    from workers.users import update_profile
    from workers.workouts import log_workout

    challenger, workout = str(uuid.uuid4()), str(uuid.uuid4())
    recipients = [str(uuid.uuid4()) for _ in range(pending + accepted)]
    challenge_of = {}
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        configure_connection(conn)
        with conn.transaction():
            update_profile(conn, user_id=challenger, display_name="Bench Challenger")
            log_workout(conn, user_id=challenger, workout_log_id=workout, activity_id=str(uuid.uuid4()),
                        workout_name="Beast Mode Legs", duration_minutes=35, total_volume=10000)
            for number, recipient in enumerate(recipients):
                update_profile(conn, user_id=recipient, display_name=f"Athlete {number}")
                request_friendship(conn, user_id=challenger, friend_id=recipient)
                accept_friendship(conn, user_id=recipient, requester_id=challenger)
            for start in range(0, len(recipients), MAX_RECIPIENTS):
                group = recipients[start:start + MAX_RECIPIENTS]
                ids = [str(uuid.uuid4()) for _ in group]
                create_challenges(conn, user_id=challenger, challenge_ids=ids, to_user_ids=group,
                                  workout_log_id=workout)
                challenge_of.update(zip(group, ids))
            for recipient in recipients[pending:]:
                accept_challenge(conn, user_id=recipient, challenge_id=challenge_of[recipient])
    settings = Settings.from_env()
    pairs = [(issue_token(settings, user), challenge_of[user]) for user in recipients]
    return Fixture(pending=pairs[:pending], accepted=pairs[pending:])


def accept_requests(port: int, pairs: list[tuple[str, str]]) -> list[bytes]:
    """No `Prefer` header: the API answers 202 as soon as the job is enqueued."""
    return [build_request("POST", f"{API}/challenges/accept/{challenge}", port,
                          {"Authorization": f"Bearer {token}"}) for token, challenge in pairs]


def complete_requests(port: int, pairs: list[tuple[str, str]]) -> list[bytes]:
    return [build_request("POST", f"{API}/challenges/complete/{challenge}", port,
                          {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                          COMPLETE_BODY) for token, challenge in pairs]


# --- CPU: who used the two cores ---------------------------------------------------------------


def pids_in(ready_lines: list[str], pattern: str) -> list[int]:
    return [int(re.search(pattern, line).group(1)) for line in ready_lines]


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` (all its threads), from /proc/<pid>/stat; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot; idle and iowait count as not busy
    (guest time is already inside user time, so it is left out of the sum)."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


def machine_busy_percent(seconds: float = 1.0) -> float:
    """How busy the machine is with nothing of ours running: others' load skews every number."""
    busy, total = machine_cpu_ticks()
    time.sleep(seconds)
    busy_after, total_after = machine_cpu_ticks()
    return round(100 * (busy_after - busy) / max(1, total_after - total), 1)


@dataclass
class CpuProbe:
    """Cores used during a measurement by each party: this process (the load generator), the
    server under test, the bench database's PostgreSQL backends, Redis, and everything else
    (`other`: interrupt-time loopback networking, and any foreign process, such as somebody's
    test run, which would make the numbers low). On 2 cores every party takes from the others."""

    database: str
    redis_pid: int

    @classmethod
    def of(cls, database: str) -> "CpuProbe":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        try:
            return cls(database, client.info("server")["process_id"])
        finally:
            client.close()

    def postgres_pids(self) -> list[int]:
        import psycopg

        with psycopg.connect(ADMIN_URL) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                (self.database,)).fetchall()
        return [pid for (pid,) in rows]

    def snapshot(self, servers: dict[str, list[int]]) -> dict[str, dict[int, float]]:
        groups = {**servers, "postgres": self.postgres_pids(), "redis": [self.redis_pid]}
        return {name: {pid: process_cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}

    @contextmanager
    def usage(self, servers: dict[str, list[int]]):
        """Fills the yielded dict when the block ends; `servers` names our server processes
        (e.g. {"api": [...], "worker": [...]}). A PostgreSQL backend that connected during the
        block (a pool growing) counts whole: all its CPU was spent inside it."""
        usage: dict = {}
        before = self.snapshot(servers)
        busy, total = machine_cpu_ticks()
        wall, client = time.perf_counter(), time.process_time()
        yield usage
        wall = time.perf_counter() - wall
        client = time.process_time() - client
        busy_after, total_after = machine_cpu_ticks()
        after = self.snapshot(servers)
        usage["client_cores"] = round(client / wall, 2)
        for name, seconds in after.items():
            spent = sum(cpu - before[name].get(pid, 0.0) for pid, cpu in seconds.items())
            usage[f"{name}_cores"] = round(spent / wall, 2)
        busy_share = (busy_after - busy) / max(1, total_after - total)
        parties = sum(usage.values())
        usage["other_cores"] = round(busy_share * os.cpu_count() - parties, 2)
        usage["machine_busy_percent"] = round(100 * busy_share, 1)


def cpu_ms_per_item(cpu: dict, server: str, per_second: float, item: str) -> dict:
    """CPU milliseconds each request (or job) cost the server alone, and the server with
    PostgreSQL and Redis. Steadier than rates on a shared VM, where the same work takes more
    or less wall time from one minute to the next."""
    stack = cpu[f"{server}_cores"] + cpu["postgres_cores"] + cpu["redis_cores"]
    return {f"{server}_cpu_ms_per_{item}": round(1000 * cpu[f"{server}_cores"] / per_second, 3),
            f"{server}_postgres_redis_cpu_ms_per_{item}": round(1000 * stack / per_second, 3)}


# --- HTTP throughput ---------------------------------------------------------------------------


def server_side_inodes(port: int, client_ports: set[int]) -> set[str]:
    """Socket inodes of the server ends of our connections, from /proc/net/tcp."""
    inodes = set()
    with open("/proc/net/tcp") as table:
        for row in list(table)[1:]:
            fields = row.split()
            local_port, remote_port = (int(addr.rsplit(":", 1)[1], 16) for addr in fields[1:3])
            if local_port == port and remote_port in client_ports:
                inodes.add(fields[9])
    return inodes


def socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets `pid` holds open (fds closing meanwhile are skipped)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def connections_per_worker(port: int, client_ports: list[int], pids: list[int]) -> list[int]:
    """How many client connections each gunicorn worker accepted. Keep-alive connections stay
    with that worker for the whole run, so an uneven split caps throughput at one worker's."""
    deadline = time.monotonic() + 2
    while True:
        inodes = server_side_inodes(port, set(client_ports))
        counts = [len(socket_inodes(pid) & inodes) for pid in pids]
        if sum(counts) >= len(client_ports) or time.monotonic() > deadline:
            return sorted(counts, reverse=True)
        time.sleep(0.01)


def measure_http(port: int, ready_lines: list[str], warmup: list[bytes], measured: list[bytes],
                 probe: CpuProbe, args) -> dict:
    """Warm both workers up (pools, imports, caches), then measure with fresh connections."""
    pids = pids_in(ready_lines, r"pid=(\d+)")
    run_load(port, warmup, args.concurrency, args.max_seconds)
    split: list[int] = []
    with probe.usage({"server": pids}) as cpu:
        result = run_load(port, measured, args.concurrency, args.max_seconds,
                          on_connected=lambda ports: split.extend(connections_per_worker(port, ports, pids)))
    summary = result.summary()
    return {**summary, "connections_per_worker": split, "cpu": cpu,
            **cpu_ms_per_item(cpu, "server", summary["requests_per_second"], "request")}


def bench_bare(args, env: dict, log_dir: Path, probe: CpuProbe, pairs: list[tuple[str, str]]) -> dict:
    """The accept run's request bytes (paths, tokens), repeated as often as needed: the bare
    app keeps no state, and at its rate the accept run's count would be over in a second."""
    port = free_port()
    requests = accept_requests(port, pairs)
    wanted = args.warmup + args.bare_requests
    requests = (requests * (wanted // len(requests) + 1))[:wanted]
    with serving(gunicorn_command(port, "bench.bare_app:app"), env, log_dir / "bare.log",
                 GUNICORN_READY, GUNICORN_WORKERS) as (_, ready):
        return measure_http(port, ready, requests[:args.warmup], requests[args.warmup:], probe, args)


# --- Jobs: 202 to succeeded --------------------------------------------------------------------


class DoneWatcher:
    """Notes when each job finishes, as soon as Redis knows.

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

    def add(self, job_id: str, accepted_at: float) -> None:
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

    def latencies(self, job_ids: list[str]) -> list[float]:
        return [self.done_at[job] - self.accepted_at[job] for job in job_ids if job in self.done_at]

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


def job_id_of(status: int, body: bytes) -> str:
    if status != 202:
        raise RuntimeError(f"expected 202 for a complete command, got {status}: {body[:300]!r}")
    return json.loads(body)["job_id"]


def one_at_a_time(port: int, requests: list[bytes], watcher: DoneWatcher, gap: float,
                  timeout: float) -> dict:
    """Each job alone on an idle worker: its latency with no queue in front of it."""
    connection, job_ids = Connection(port), []
    for raw in requests:
        time.sleep(gap)
        status, body = connection.request(raw)
        received_at = time.perf_counter()
        job_ids.append(job_id_of(status, body))
        watcher.add(job_ids[-1], received_at)
        if not watcher.wait_all(timeout):
            raise TimeoutError(f"job {job_ids[-1]} not finished after {timeout}s")
    connection.close()
    return {"jobs": len(job_ids), "idle_gap_seconds": gap,
            **latency_summary(watcher.latencies(job_ids)), "job_statuses": watcher.statuses(job_ids)}


def submit(port: int, requests: list[bytes], watcher: DoneWatcher, args,
           on_connected=None) -> tuple[list[str], dict]:
    """Send every request as fast as `concurrency` connections can; each 202's job is watched
    from the moment its response arrived."""
    job_ids = []

    def on_response(status: int, body: bytes, received_at: float) -> None:
        job_ids.append(job_id_of(status, body))
        watcher.add(job_ids[-1], received_at)

    http = run_load(port, requests, args.concurrency, args.max_seconds, on_response=on_response,
                    on_connected=on_connected)
    return job_ids, http.summary()


def drain(watcher: DoneWatcher, job_ids: list[str], servers: dict[str, list[int]],
          probe: CpuProbe, args) -> dict:
    """Jobs queued before the worker started: its rate with nothing else on the machine busy,
    first to last completion (latency from the 202 would only measure the wait for it)."""
    with probe.usage(servers) as cpu:
        finished = watcher.wait_all(args.job_timeout)
    done = sorted(watcher.done_at[job] for job in job_ids if job in watcher.done_at)
    seconds = done[-1] - done[0] if len(done) > 1 else None
    rate = seconds and round((len(done) - 1) / seconds, 1)
    return {"jobs": len(job_ids), "all_done": finished, "seconds": seconds and round(seconds, 3),
            "jobs_per_second": rate, "job_statuses": watcher.statuses(job_ids), "cpu": cpu,
            **cpu_ms_per_item(cpu, "worker", rate, "job")}


def batch(port: int, requests: list[bytes], watcher: DoneWatcher, servers: dict[str, list[int]],
          probe: CpuProbe, args) -> dict:
    """Jobs submitted through the API as fast as the client can while the worker runs:
    jobs/second from the first request to the last job done, with the API, the worker,
    PostgreSQL and Redis sharing the cores; each latency includes the wait behind the others."""
    marks = {}
    with probe.usage(servers) as cpu:
        job_ids, http = submit(port, requests, watcher, args,
                               on_connected=lambda ports: marks.setdefault("start", time.perf_counter()))
        finished = watcher.wait_all(args.job_timeout)
    done = [watcher.done_at[job] for job in job_ids if job in watcher.done_at]
    seconds = max(done) - marks["start"] if done else None
    return {"jobs": len(job_ids), "all_done": finished, "seconds": seconds and round(seconds, 3),
            "jobs_per_second": seconds and round(len(done) / seconds, 1),
            **latency_summary(watcher.latencies(job_ids)), "job_statuses": watcher.statuses(job_ids),
            "submit": http, "cpu": cpu}


def bench_jobs(args, env: dict, log_dir: Path, probe: CpuProbe, api_port: int,
               others: dict[str, list[int]], pairs: list[tuple[str, str]]) -> dict:
    """Empty the queue first: the accept run left thousands of jobs nobody consumed, which the
    worker would otherwise work through before ours. Then queue `jobs` completes, start the
    worker (drain rate; it also warms the worker up), and measure latency alone and in a batch."""
    from settings import Settings

    settings = Settings.from_env()
    delete_keys(f"{settings.key('dramatiq')}:*")
    requests = complete_requests(api_port, pairs)
    queued, idle = requests[:args.jobs], requests[args.jobs:args.jobs + args.idle_jobs]
    batched = requests[args.jobs + args.idle_jobs:]
    worker_env = {**env, "dramatiq_worker_timeout": "100"}
    with DoneWatcher(settings) as watcher:
        queued_ids, queued_http = submit(api_port, queued, watcher, args)
        with serving(dramatiq_command(args), worker_env, log_dir / "worker.log", DRAMATIQ_READY,
                     args.worker_processes) as (_, ready):
            servers = {**others, "worker": pids_in(ready, r"\[PID (\d+)\]")}
            return {"drain": {**drain(watcher, queued_ids, servers, probe, args), "submit": queued_http},
                    "one_at_a_time": one_at_a_time(api_port, idle, watcher, args.idle_gap,
                                                   args.job_timeout),
                    "batch": batch(api_port, batched, watcher, servers, probe, args)}


# --- The run -----------------------------------------------------------------------------------


def machine() -> dict:
    """What the numbers depend on, recorded next to them."""
    import psycopg
    import redis

    cpuinfo = Path("/proc/cpuinfo").read_text()
    meminfo = Path("/proc/meminfo").read_text()
    with psycopg.connect(ADMIN_URL) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    client = redis.Redis.from_url(REDIS_URL)
    redis_version = client.info("server")["redis_version"]
    client.close()
    return {
        "busy_percent_before_run": machine_busy_percent(),
        "cpus": os.cpu_count(),
        "cpu_model": re.search(r"model name\s*:\s*(.*)", cpuinfo).group(1),
        "memory_gib": round(int(re.search(r"MemTotal:\s*(\d+)", meminfo).group(1)) / 2**20, 1),
        "python": platform.python_version(),
        "postgres": postgres,
        "redis": redis_version,
        "packages": {name: importlib.metadata.version(name)
                     for name in ("falcon", "gunicorn", "dramatiq", "psycopg", "redis")},
    }


def measure(args, names: Names, env: dict, log_dir: Path, chroma_pid: int) -> dict:
    from sql.migrate import migrate

    migrate(names.database_url)
    started = time.perf_counter()
    fixture = seed(names.database_url, args.warmup + args.requests, 2 * args.jobs + args.idle_jobs)
    seconds_to_seed = round(time.perf_counter() - started, 1)
    probe = CpuProbe.of(names.database)
    results = {"bare_202": bench_bare(args, env, log_dir, probe, fixture.pending)}
    api_port = free_port()
    with serving(gunicorn_command(api_port, "api.app:gunicorn_app()"), env, log_dir / "api.log",
                 GUNICORN_READY, GUNICORN_WORKERS) as (_, ready), \
            serving(SCHEDULER_COMMAND, env, log_dir / "scheduler.log", SCHEDULER_READY, 1) as (scheduler, _):
        requests = accept_requests(api_port, fixture.pending)
        results["accept"] = measure_http(api_port, ready, requests[:args.warmup],
                                         requests[args.warmup:], probe, args)
        others = {"api": pids_in(ready, r"pid=(\d+)"), "chroma": [chroma_pid],
                  "scheduler": [scheduler]}
        results["complete_jobs"] = bench_jobs(args, env, log_dir, probe, api_port, others, fixture.accepted)
    results["accept_vs_bare"] = round(results["accept"]["requests_per_second"]
                                      / results["bare_202"]["requests_per_second"], 3)
    results["seed"] = {"pending_challenges": len(fixture.pending),
                       "accepted_challenges": len(fixture.accepted), "seconds": seconds_to_seed}
    return results


def problems(results: dict) -> list[str]:
    """Anything that makes the numbers not mean what the table says."""
    found = []
    for name in ("bare_202", "accept"):
        run = results[name]
        if run["statuses"] != {"202": run["requests"]} or run["errors"]:
            found.append(f"{name}: not every request answered 202: {run['statuses']}, "
                         f"{run['errors']} errors {run['first_errors']}")
    for name, run in results["complete_jobs"].items():
        if run["job_statuses"] != {"succeeded": run["jobs"]}:
            found.append(f"complete_jobs.{name}: not every job succeeded: {run['job_statuses']}")
    return found


def cpu_text(cpu: dict) -> str:
    """`client 0.2 server 1.6 ... busy 98%`: every party's cores, then the machine's load."""
    cores = " ".join(f"{name[:-len('_cores')]} {value}" for name, value in cpu.items()
                     if name.endswith("_cores"))
    return f"{cores}  busy {cpu['machine_busy_percent']}%"


def print_table(results: dict) -> None:
    """Cores: the load generator (client), the servers under test, PostgreSQL, Redis and
    `other`, then how busy the whole machine was."""
    concurrency = results["config"]["concurrency"]
    print(f"\n{f'HTTP, {concurrency} connections':30}{'requests':>9}{'req/s':>9}{'p50 ms':>8}"
          f"{'p99 ms':>8}{'max ms':>8}  conns/worker  cores used")
    for label, run in (("bare Falcon 202 (ceiling)", results["bare_202"]),
                       ("POST /challenges/accept/{id}", results["accept"])):
        split = "/".join(map(str, run["connections_per_worker"]))
        print(f"{label:30}{run['requests']:>9}{run['requests_per_second']:>9}{run['p50_ms']:>8}"
              f"{run['p99_ms']:>8}{run['max_ms']:>8}  {split:12}  {cpu_text(run['cpu'])}")
    print(f"accept / bare throughput: {results['accept_vs_bare']}")
    for label, run in (("bare", results["bare_202"]), ("accept", results["accept"])):
        print(f"{label} CPU ms per request: server {run['server_cpu_ms_per_request']}, "
              f"with PostgreSQL and Redis {run['server_postgres_redis_cpu_ms_per_request']}")
    jobs = results["complete_jobs"]
    queued, idle, burst = jobs["drain"], jobs["one_at_a_time"], jobs["batch"]
    print(f"\n{'challenges.complete, 202 -> succeeded':38}{'jobs':>6}{'jobs/s':>8}{'p50 ms':>9}"
          f"{'p99 ms':>9}{'max ms':>9}  cores used")
    print(f"{'queued first, then worker started':38}{queued['jobs']:>6}{queued['jobs_per_second']:>8}"
          f"{'-':>9}{'-':>9}{'-':>9}  {cpu_text(queued['cpu'])}")
    print(f"{'one at a time, idle worker':38}{idle['jobs']:>6}{'-':>8}{idle['p50_ms']:>9}"
          f"{idle['p99_ms']:>9}{idle['max_ms']:>9}")
    print(f"{'batch, submitted at once':38}{burst['jobs']:>6}{burst['jobs_per_second']:>8}"
          f"{burst['p50_ms']:>9}{burst['p99_ms']:>9}{burst['max_ms']:>9}  {cpu_text(burst['cpu'])}")
    print(f"(batch submitted at {burst['submit']['requests_per_second']} req/s, "
          f"all done {burst['seconds']} s after the first request)")
    print(f"(the queued jobs were submitted at {queued['submit']['requests_per_second']} req/s, "
          f"p50 {queued['submit']['p50_ms']} ms, with no worker running)")
    print(f"queued jobs, CPU ms per job: worker {queued['worker_cpu_ms_per_job']}, "
          f"with PostgreSQL and Redis {queued['worker_postgres_redis_cpu_ms_per_job']}\n")


def main() -> int:
    args = parse_args()
    names = Names.fresh()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as cleanup:
        chroma = ChromaServer(free_port())
        cleanup.callback(chroma.remove)
        cleanup.callback(chroma.stop)
        chroma.start()
        env = isolate_environment(names, chroma.url)
        log_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="wc-bench-")))
        cleanup.callback(delete_keys, f"{names.namespace}:*")
        admin_execute(f'CREATE DATABASE "{names.database}"')
        cleanup.callback(admin_execute, f'DROP DATABASE IF EXISTS "{names.database}" WITH (FORCE)')
        started = time.perf_counter()
        try:
            results = {"run_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                       "machine": machine(), "config": vars(args),
                       **measure(args, names, env, log_dir, chroma.process.pid)}
        except BaseException:
            print_logs(log_dir)
            raise
        results["total_seconds"] = round(time.perf_counter() - started, 1)
    results["problems"] = problems(results)
    if results["machine"]["busy_percent_before_run"] > 10:
        results["problems"].append(f"the machine was {results['machine']['busy_percent_before_run']}% "
                                   "busy before the run: something else competes for the cores")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    for problem in results["problems"]:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if results["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
