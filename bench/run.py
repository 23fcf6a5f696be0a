"""One run, on this machine, of every number BENCHMARKS.md reports, on the system as deployed:
every Procfile process (web, worker, scheduler, chroma) started from its own Procfile line with
the shipped defaults (bench/procfile.py), the event log's embedding included.

1. `POST /api/v1/challenges/accept/{id}` served by the Procfile's web process. Every request
   accepts a different pending challenge, so each one passes the API's precheck, enqueues a job
   and answers 202: the whole path a client pays for.
2. The ceiling: bench/bare_app.py, the same route answering 202 and nothing else, served by the
   same Procfile line with only the app swapped, the same client and concurrency. accept/bare
   says how much of the budget is ours.
3. `challenges.complete` end to end: submitted through the API, done when the job has succeeded
   AND its event is in the event log (`events.indexed_at`, set in the transaction that put it in
   ChromaDB). Queued first (the queue filled before the worker starts), one at a time on an idle
   system (202 to done), and a batch submitted while the worker runs.
4. The same with the `event_log` queue left unconsumed: the worker's `--queues` names every other
   queue, and done is the job succeeding. with / without is what the event log costs.
5. PostgreSQL's ceiling for the same jobs: bench/complete.pgbench, the job's own SQL, under
   pgbench with as many clients as the worker has database connections. jobs/s / pgbench TPS.
6. The embedding's sentences/s, from bench/embeddings.py when that file exists.

Next to each number: which process used how much of the machine's cores, since on 2 cores the
load generator, the servers, PostgreSQL and Redis all take from each other.

Everything it touches is its own: a new database and Redis namespace, servers on free ports of
127.0.0.1, ChromaDB's data in a temporary directory, all removed at the end, also on error,
Ctrl-C or SIGTERM.

    python bench/run.py                     # defaults: 16 connections, 8000 accepts, 500 jobs
    python bench/run.py --help
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pgbench_complete
from api.gunicorn_conf import WORKER_READY as GUNICORN_READY
from jobs.dev import procfile_variables
from jobs.local_servers import free_port, wait_for_port
from loadgen import Connection, build_request, latency_summary, run_load
from procfile import Command, local_bind, procfile_command

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results.json"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
API = "/api/v1"
API_APP = "api.app:gunicorn_app()"
BARE_APP = "bench.bare_app:app"
COMPLETE_BODY = json.dumps({"duration_minutes": 28, "total_volume": 12500}).encode()
CHALLENGERS = 64
DRAMATIQ_READY = "Worker process is ready for action."
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
                        help="complete jobs queued before the worker starts, and again in the batch "
                             "(for each of the two workers)")
    parser.add_argument("--idle-jobs", type=int, default=30,
                        help="complete jobs sent one at a time to an idle system")
    parser.add_argument("--idle-gap", type=float, default=0.25,
                        help="seconds the system idles before each one-at-a-time job")
    parser.add_argument("--job-timeout", type=float, default=120.0,
                        help="give up waiting for submitted jobs after this long")
    parser.add_argument("--worker-processes", type=int, default=None,
                        help="WORKER_PROCESSES (default: unset, the Procfile's)")
    parser.add_argument("--worker-threads", type=int, default=None,
                        help="WORKER_THREADS (default: unset, the Procfile's)")
    parser.add_argument("--pgbench-seconds", type=int, default=15, help="pgbench -T")
    parser.add_argument("--pgbench-clients", type=int, default=None,
                        help="pgbench -c (default: the worker's database connections, processes x "
                             "min(threads, WORKER_POOL_SIZE))")
    parser.add_argument("--pgbench-challenges", type=int, default=40000,
                        help="accepted challenges seeded for pgbench: at least its TPS x seconds")
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


def isolate_environment(names: Names, chroma_port: int, chroma_path: str, args) -> dict:
    """Point this process and every Procfile process at the bench's database, namespace and
    ChromaDB, with nothing else of the caller's deployment settings.

    Done before anything imports `workers`: its runtime reads the environment once, on import.
    API_DATABASE_URL goes with the other settings, so the API derives its read-only URL from this
    database. EMBEDDING_FUNCTION, WORKER_PROCESSES and WORKER_THREADS are set only when asked
    for; PATH starts with this Python's bin, where the Procfile's programs are.
    """
    from settings import Settings

    # What a deploy could set to change a process (every setting, and the Procfile's knobs): dropped
    # from the caller's environment, so the shipped defaults are what runs unless an option says so.
    settings_names = {field.name.upper() for field in dataclasses.fields(Settings)}
    for name in settings_names | procfile_variables():
        os.environ.pop(name, None)
    # A production secret of its own (the development one stops every process), and the API's
    # metrics on a free port rather than the shipped 9190.
    os.environ.update(JWT_SECRET=secrets.token_hex(32), METRICS_PORT=str(free_port()))
    os.environ.update(DATABASE_URL=names.database_url, REDIS_URL=REDIS_URL,
                      REDIS_NAMESPACE=names.namespace, CHROMA_URL=f"http://127.0.0.1:{chroma_port}",
                      CHROMA_COLLECTION=names.namespace, CHROMA_PORT=str(chroma_port),
                      CHROMA_PATH=chroma_path, ANONYMIZED_TELEMETRY="False",
                      PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    overrides = {"WORKER_PROCESSES": args.worker_processes,
                 "WORKER_THREADS": args.worker_threads}
    os.environ.update({name: str(value) for name, value in overrides.items() if value is not None})
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


def web_command(env: dict, app: str = API_APP) -> Command:
    """The Procfile's web line (gunicorn's workers, threads and access log to stdout as
    shipped) on 127.0.0.1, serving `app`; `env` from web_environment (it has the PORT)."""
    return local_bind(procfile_command("web", env)).replacing(API_APP, app)


def web_environment(env: dict, port: int) -> dict:
    return {**env, "PORT": str(port)}


@contextmanager
def serving(command: Command, env: dict, log_path: Path, ready):
    """Run `command` until the block ends; yields once `ready(process, log_path)` has returned:
    its pid and what `ready` returned (the log lines that said so)."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command.argv, cwd=ROOT, env=command.environment(env), stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            yield process.pid, ready(process, log_path)
        finally:
            stop(process)


def logged(line: str, count: int = 1):
    """Ready once `line` has been logged `count` times (once per worker process)."""
    return partial(wait_logged, ready_line=line, count=count)


def wait_logged(process: subprocess.Popen, log_path: Path, ready_line: str, count: int) -> list[str]:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log_path.stem} exited with {process.returncode} while starting")
        lines = [line for line in log_path.read_text(errors="replace").splitlines() if ready_line in line]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise TimeoutError(f"{log_path.stem}: {count} x {ready_line!r} not logged in {START_TIMEOUT_SECONDS}s")


def listening(port: int):
    """Ready once something accepts connections on `port` (ChromaDB logs no fixed line)."""
    def wait(process: subprocess.Popen, log_path: Path) -> list[str]:
        wait_for_port(port, log_path.stem, timeout=START_TIMEOUT_SECONDS)
        if process.poll() is not None:
            raise RuntimeError(f"{log_path.stem} exited with {process.returncode}: port {port} is another's")
        return []

    return wait


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (a graceful stop for gunicorn, dramatiq and chroma alike), SIGKILL if that hangs."""
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
    """CHALLENGERS challengers and one friend per challenge, made with the workers' own rules in
    one transaction: the rows the API would have produced, in seconds instead of thousands of
    jobs. One recipient per challenge keeps every accept a different caller, as in real traffic;
    consecutive challenges have different challengers, so the jobs the worker runs side by side
    settle games of different athletes (a settlement locks both athletes' ratings: with one
    challenger for all, every job would wait for the one before)."""
    import psycopg
    from psycopg.rows import dict_row

    from api.auth import issue_token
    from settings import Settings
    from workers.challenges import MAX_RECIPIENTS, accept_challenge, create_challenges
    from workers.db import configure_connection
    from workers.friends import accept_friendship, request_friendship
    from workers.users import update_profile
    from workers.workouts import log_workout

    challengers = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(CHALLENGERS)]  # (user, workout)
    recipients = [str(uuid.uuid4()) for _ in range(pending + accepted)]
    challenge_of = {}
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        configure_connection(conn)
        with conn.transaction():
            for number, (challenger, workout) in enumerate(challengers):
                update_profile(conn, user_id=challenger, display_name=f"Bench Challenger {number}")
                log_workout(conn, user_id=challenger, workout_log_id=workout, activity_id=str(uuid.uuid4()),
                            workout_name="Beast Mode Legs", duration_minutes=35, total_volume=10000)
            for number, recipient in enumerate(recipients):
                challenger, _ = challengers[number % CHALLENGERS]
                update_profile(conn, user_id=recipient, display_name=f"Athlete {number}")
                request_friendship(conn, user_id=challenger, friend_id=recipient)
                accept_friendship(conn, user_id=recipient, requester_id=challenger)
            for number, (challenger, workout) in enumerate(challengers):
                theirs = recipients[number::CHALLENGERS]
                for start in range(0, len(theirs), MAX_RECIPIENTS):
                    group = theirs[start:start + MAX_RECIPIENTS]
                    ids = [str(uuid.uuid4()) for _ in group]
                    create_challenges(conn, user_id=challenger, challenge_ids=ids, to_user_ids=group,
                                      workout_log_id=workout)
                    challenge_of.update(zip(group, ids))
            for recipient in recipients[pending:]:
                accept_challenge(conn, user_id=recipient, challenge_id=challenge_of[recipient])
    settings = Settings.from_env()
    pairs = [(issue_token(settings, user), challenge_of[user]) for user in recipients]
    return Fixture(pending=pairs[:pending], accepted=pairs[pending:])


def settle_events(database_url: str) -> int:
    """Mark every event so far published and indexed: the fixture's own events stand for history
    already in the event log. Left as they are, the scheduler's sweep would hand them to the
    indexer, a thousand every 30 s, in the middle of a measurement, and the outbox's partial
    indexes (unpublished, unindexed) would hold thousands of rows they never hold in service."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        settled = conn.execute("UPDATE events SET published_at = COALESCE(published_at, now()), "
                               "indexed_at = COALESCE(indexed_at, now()) "
                               "WHERE published_at IS NULL OR indexed_at IS NULL").rowcount
        conn.execute("VACUUM ANALYZE events")
    return settled


def accept_requests(port: int, pairs: list[tuple[str, str]]) -> list[bytes]:
    """No `Prefer` header: the API answers 202 as soon as the job is enqueued."""
    return [build_request("POST", f"{API}/challenges/accept/{challenge}", port,
                          {"Authorization": f"Bearer {token}"}) for token, challenge in pairs]


def complete_requests(port: int, pairs: list[tuple[str, str]]) -> list[bytes]:
    return [build_request("POST", f"{API}/challenges/complete/{challenge}", port,
                          {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                          COMPLETE_BODY) for token, challenge in pairs]


def challenge_in(request: bytes) -> str:
    """The challenge id at the end of a request's path."""
    return request.split(b" ", 2)[1].rsplit(b"/", 1)[1].decode()


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


class BackendSampler:
    """CPU of the PostgreSQL backends that connect and exit inside a measurement (pgbench's):
    /proc forgets a process once it exits, so each is read every INTERVAL seconds while it
    lives and counted as last seen. What a backend spends in its last interval is lost: a few
    hundredths of a second each, about 1 % of a 15-second run."""

    INTERVAL = 0.2

    def __init__(self, probe: CpuProbe):
        self.probe, self.seen, self.running = probe, {}, True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.wall = 0.0

    def __enter__(self) -> "BackendSampler":
        self.wall = time.perf_counter()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.running = False
        self.thread.join()
        self.wall = time.perf_counter() - self.wall

    def _sample(self) -> None:
        while self.running:
            for pid in self.probe.postgres_pids():
                self.seen[pid] = max(self.seen.get(pid, 0.0), process_cpu_seconds(pid))
            time.sleep(self.INTERVAL)

    def cores(self) -> float:
        return round(sum(self.seen.values()) / self.wall, 2)


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
    web_env = web_environment(env, port)
    command = web_command(web_env, BARE_APP)
    with serving(command, web_env, log_dir / "bare.log",
                 logged(GUNICORN_READY, int(command.option("--workers")))) as (_, ready):
        return measure_http(port, ready, requests[:args.warmup], requests[args.warmup:], probe, args)


# --- Jobs: 202 to done -------------------------------------------------------------------------


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

    def latencies(self, job_ids: list[str]) -> list[float]:
        return [self.done_at[job] - self.accepted_at[job] for job in job_ids if job in self.done_at]

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

    def latencies(self, job_ids: list[str]) -> list[float]:
        return [self.done_at[job] - self.jobs.accepted_at[job] for job in job_ids if job in self.done_at]

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
    from workers.broker import broker
    from workers.outbox import EVENT_LOG_QUEUE

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
            **latency_summary(watcher.latencies(job_ids)), **watcher.evidence(job_ids)}


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
            **latency_summary(watcher.latencies(job_ids)), **watcher.evidence(job_ids),
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
    from workers.outbox import indexing_turn

    delete_keys(f"{settings.key('dramatiq')}:*")
    delete_keys(indexing_turn(settings))


def bench_jobs(args, flow: Flow, deployment: Deployment, pairs: list[tuple[str, str]]) -> dict:
    """Queue `jobs` completes, start the worker (drain rate; it also warms the worker up), then
    measure latency alone and in a batch."""
    from settings import Settings

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
            return {"worker": command_line(worker),
                    "drain": {**drain(watcher, queued_ids, launched_at, servers, probe, args),
                              "submit": queued_http},
                    "one_at_a_time": one_at_a_time(port, idle, watcher, args.idle_gap, args.job_timeout),
                    "batch": batch(port, batched, watcher, servers, probe, args)}


def jobs_needed(args) -> int:
    """Accepted challenges one flow completes."""
    return 2 * args.jobs + args.idle_jobs


# --- PostgreSQL's ceiling and the embedding --------------------------------------------------


def worker_connections(env: dict) -> int:
    """How many database connections the Procfile's worker can hold at once: each process's
    pool (WORKER_POOL_SIZE) or its threads, whichever is fewer."""
    from settings import Settings

    worker = procfile_command("worker", env)
    threads = min(int(worker.option("--threads")), Settings.from_env().worker_pool_size)
    return int(worker.option("--processes")) * threads


def bench_pgbench(args, names: Names, env: dict, probe: CpuProbe) -> dict:
    """bench/complete.pgbench on `pgbench_challenges` accepted challenges seeded next to the
    fixture's, with every Procfile process stopped: PostgreSQL doing only this work."""
    import psycopg

    clients = args.pgbench_clients or worker_connections(env)
    with psycopg.connect(names.database_url) as conn:
        pgbench_complete.seed(conn, args.pgbench_challenges)
    settle_events(names.database_url)
    with BackendSampler(probe) as backends, probe.usage({}) as cpu:
        result = pgbench_complete.run(names.database_url, clients, args.pgbench_seconds)
    # pgbench and its backends were gone before usage() looked: theirs is counted here instead
    # of in `other`.
    sampled = {"pgbench_cores": result.pop("pgbench_cores"), "postgres_cores": backends.cores()}
    unseen = sampled["pgbench_cores"] + sampled["postgres_cores"] - cpu["postgres_cores"]
    cpu = {**cpu, **sampled, "other_cores": round(cpu["other_cores"] - unseen, 2)}
    return {**result, "clients": clients, "seconds": args.pgbench_seconds,
            "challenges_seeded": args.pgbench_challenges, "cpu": cpu}


def embedding_rate() -> dict:
    """Sentences/s of the shipped embedding, measured by bench/embeddings.py in this process
    once every server has stopped (calls of 1 to 256 sentences, about 3 s each); noted as
    skipped when that file is absent."""
    if not (BENCH / "embeddings.py").exists():
        return {"skipped": "bench/embeddings.py does not exist"}
    from embeddings import measure as measure_embedding

    return measure_embedding()


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
                     for name in ("falcon", "gunicorn", "dramatiq", "psycopg", "redis", "chromadb")},
    }


def command_line(command: Command) -> str:
    return " ".join([*(f"{k}={v}" for k, v in command.env.items()), Path(command.argv[0]).name,
                     *command.argv[1:]])


def deployed(env: dict, web_env: dict) -> dict:
    """The Procfile lines as this run expanded them, and the embedding every process used."""
    from settings import Settings

    commands = [web_command(web_env), *(procfile_command(name, env) for name in ("worker", "scheduler", "chroma"))]
    return {"procfile": {command.name: command_line(command) for command in commands},
            "embedding_function": Settings.from_env().embedding_function}


def measure(args, names: Names, env: dict, log_dir: Path, chroma_pid: int) -> dict:
    from sql.migrate import migrate

    migrate(names.database_url)
    started = time.perf_counter()
    fixture = seed(names.database_url, args.warmup + args.requests, len(FLOWS) * jobs_needed(args))
    settled = settle_events(names.database_url)
    seconds_to_seed = round(time.perf_counter() - started, 1)
    probe = CpuProbe.of(names.database)
    results = {"bare_202": bench_bare(args, env, log_dir, probe, fixture.pending)}
    web_env = web_environment(env, free_port())
    web, scheduler = web_command(web_env), procfile_command("scheduler", env)
    api_port = int(web_env["PORT"])
    results["deployed"] = deployed(env, web_env)
    with serving(web, web_env, log_dir / "api.log",
                 logged(GUNICORN_READY, int(web.option("--workers")))) as (_, ready), \
            serving(scheduler, env, log_dir / "scheduler.log", logged(SCHEDULER_READY)) as (scheduler_pid, _):
        requests = accept_requests(api_port, fixture.pending)
        results["accept"] = measure_http(api_port, ready, requests[:args.warmup],
                                         requests[args.warmup:], probe, args)
        deployment = Deployment(env, log_dir, probe, api_port, names.database_url,
                                {"api": pids_in(ready, r"pid=(\d+)"), "chroma": [chroma_pid],
                                 "scheduler": [scheduler_pid]})
        share = jobs_needed(args)
        results["complete_jobs"] = {
            flow.name: bench_jobs(args, flow, deployment, fixture.accepted[number * share:(number + 1) * share])
            for number, flow in enumerate(FLOWS)}
    results["pgbench"] = bench_pgbench(args, names, env, probe)
    results["embedding"] = embedding_rate()
    results["ratios"] = ratios(results)
    results["seed"] = {"pending_challenges": len(fixture.pending),
                       "accepted_challenges": len(fixture.accepted), "events_settled": settled,
                       "seconds": seconds_to_seed}
    return results


def ratio(numerator, denominator):
    return round(numerator / denominator, 3) if numerator and denominator else None


def ratios(results: dict) -> dict:
    """accept / bare; with / without the event log (what indexing costs the commands); and the
    system's complete jobs/s over pgbench's TPS for the same SQL (what of PostgreSQL's ceiling
    the deployed system gets)."""
    jobs, tps = results["complete_jobs"], results["pgbench"]["tps"]
    parts = ("drain", "batch")
    return {
        "accept_vs_bare": ratio(results["accept"]["requests_per_second"],
                                results["bare_202"]["requests_per_second"]),
        "with_vs_without_event_log": {part: ratio(jobs["with_event_log"][part]["jobs_per_second"],
                                                  jobs["without_event_log"][part]["jobs_per_second"])
                                      for part in parts},
        "complete_vs_pgbench": {f"{flow}.{part}": ratio(jobs[flow][part]["jobs_per_second"], tps)
                                for flow in jobs for part in parts},
    }


def problems(results: dict) -> list[str]:
    """Anything that makes the numbers not mean what the table says."""
    found = []
    for name in ("bare_202", "accept"):
        run = results[name]
        if run["statuses"] != {"202": run["requests"]} or run["errors"]:
            found.append(f"{name}: not every request answered 202: {run['statuses']}, "
                         f"{run['errors']} errors {run['first_errors']}")
    for flow, parts in results["complete_jobs"].items():
        for name in ("drain", "one_at_a_time", "batch"):
            run = parts[name]
            if run["job_statuses"] != {"succeeded": run["jobs"]}:
                found.append(f"complete_jobs.{flow}.{name}: not every job succeeded: {run['job_statuses']}")
            if run.get("events_indexed", run["jobs"]) != run["jobs"]:
                found.append(f"complete_jobs.{flow}.{name}: {run['events_indexed']} of {run['jobs']} "
                             "events in the event log")
    pgbench = results["pgbench"]
    if pgbench["exit_status"] or pgbench["aborted"] or not pgbench["tps"]:
        found.append(f"pgbench failed (exit {pgbench['exit_status']}; a client that ran out of "
                     f"challenges needs more --pgbench-challenges): {pgbench['output_tail']}")
    return found


def cpu_text(cpu: dict) -> str:
    """`client 0.2 server 1.6 ... busy 98%`: every party's cores, then the machine's load."""
    cores = " ".join(f"{name[:-len('_cores')]} {value}" for name, value in cpu.items()
                     if name.endswith("_cores"))
    return f"{cores}  busy {cpu['machine_busy_percent']}%"


def print_http(results: dict) -> None:
    concurrency = results["config"]["concurrency"]
    print(f"\n{f'HTTP, {concurrency} connections':30}{'requests':>9}{'req/s':>9}{'p50 ms':>8}"
          f"{'p99 ms':>8}{'max ms':>8}  conns/worker  cores used")
    for label, run in (("bare Falcon 202 (ceiling)", results["bare_202"]),
                       ("POST /challenges/accept/{id}", results["accept"])):
        split = "/".join(map(str, run["connections_per_worker"]))
        print(f"{label:30}{run['requests']:>9}{run['requests_per_second']:>9}{run['p50_ms']:>8}"
              f"{run['p99_ms']:>8}{run['max_ms']:>8}  {split:12}  {cpu_text(run['cpu'])}")
    print(f"accept / bare throughput: {results['ratios']['accept_vs_bare']}")
    for label, run in (("bare", results["bare_202"]), ("accept", results["accept"])):
        print(f"{label} CPU ms per request: server {run['server_cpu_ms_per_request']}, "
              f"with PostgreSQL and Redis {run['server_postgres_redis_cpu_ms_per_request']}")


def print_flow(flow: Flow, jobs: dict) -> None:
    queued, idle, burst = jobs["drain"], jobs["one_at_a_time"], jobs["batch"]
    print(f"\n{f'challenges.complete, {flow.title}':62}{'jobs':>6}{'jobs/s':>8}{'p50 ms':>9}"
          f"{'p99 ms':>9}{'max ms':>9}  cores used")
    print(f"{'queued first, then worker started':62}{queued['jobs']:>6}{queued['jobs_per_second']:>8}"
          f"{'-':>9}{'-':>9}{'-':>9}  {cpu_text(queued['cpu'])}")
    print(f"{'one at a time, idle system':62}{idle['jobs']:>6}{'-':>8}{idle['p50_ms']:>9}"
          f"{idle['p99_ms']:>9}{idle['max_ms']:>9}")
    print(f"{'batch, submitted at once':62}{burst['jobs']:>6}{burst['jobs_per_second']:>8}"
          f"{burst['p50_ms']:>9}{burst['p99_ms']:>9}{burst['max_ms']:>9}  {cpu_text(burst['cpu'])}")
    print(f"(worker: {jobs['worker']}; queued first: all done {queued['seconds_from_worker_launch']} s "
          f"after its launch, CPU ms per job: worker {queued['worker_cpu_ms_per_job']}, with "
          f"PostgreSQL and Redis {queued['worker_postgres_redis_cpu_ms_per_job']}; batch submitted at "
          f"{burst['submit']['requests_per_second']} req/s)")


def print_table(results: dict) -> None:
    """Cores: the load generator (client), the servers under test, PostgreSQL, Redis and
    `other`, then how busy the whole machine was."""
    print_http(results)
    for flow in FLOWS:
        print_flow(flow, results["complete_jobs"][flow.name])
    shares, pgbench = results["ratios"], results["pgbench"]
    print(f"\nwith / without the event log, jobs/s: {shares['with_vs_without_event_log']}")
    print(f"pgbench bench/complete.pgbench, {pgbench['clients']} clients, {pgbench['seconds']} s: "
          f"{pgbench['tps']} TPS, {pgbench['latency_average_ms']} ms average  {cpu_text(pgbench['cpu'])}")
    print(f"complete jobs/s / pgbench TPS: {shares['complete_vs_pgbench']}")
    print(f"{embedding_text(results['embedding'])}\n")


def embedding_text(embedding: dict) -> str:
    """`minilm: load 0.8 s; sentences/s for calls of 1: 60, 16: 250, ...`, or why there is none."""
    if "batches" not in embedding:
        return f"embedding: {embedding}"
    rates = ", ".join(f"{size}: {row['sentences_per_second']}" for size, row in embedding["batches"].items())
    return (f"embedding {embedding.get('model')}: load {embedding.get('load_seconds')} s; sentences/s for "
            f"calls of {rates}")


def main() -> int:
    args = parse_args()
    names = Names.fresh()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as cleanup:
        log_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="wc-bench-")))
        chroma_path = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="wc-bench-chroma-"))
        chroma_port = free_port()
        env = isolate_environment(names, chroma_port, chroma_path, args)
        cleanup.callback(delete_keys, f"{names.namespace}:*")
        admin_execute(f'CREATE DATABASE "{names.database}"')
        cleanup.callback(admin_execute, f'DROP DATABASE IF EXISTS "{names.database}" WITH (FORCE)')
        started = time.perf_counter()
        try:
            chroma_pid, _ = cleanup.enter_context(serving(procfile_command("chroma", env), env,
                                                          log_dir / "chroma.log", listening(chroma_port)))
            results = {"run_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                       "machine": machine(), "config": vars(args),
                       **measure(args, names, env, log_dir, chroma_pid)}
        except BaseException:
            print_logs(log_dir)
            raise
        results["total_seconds"] = round(time.perf_counter() - started, 1)
    results["problems"] = problems(results)
    if results["machine"]["busy_percent_before_run"] > 10:
        results["problems"].append(f"the machine was {results['machine']['busy_percent_before_run']}% "
                                   "busy before the run: something else competes for the cores")
    print_table(results)
    return write_results(RESULTS, results)


def write_results(path: Path, results: dict) -> int:
    """Write `results` to `path`, print its problems; the exit status (1 when there are any)."""
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")
    for problem in results["problems"]:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if results["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
