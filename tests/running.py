"""The Procfile's processes as a deployment runs them (`sh -c` on their line), with the test
session's settings, and their metrics as Prometheus reads them.

They get a Redis namespace of their own, so that the session's in-process worker never takes
their messages, and each serves its metrics on a free port."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from dramatiq.brokers.redis import RedisBroker
from prometheus_client.parser import text_string_to_metric_families

from core.commands import build_message
from jobs.dev import procfile_commands
from jobs.local_servers import free_port, wait_for_port
from tests.conftest import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
START_SECONDS = 60


def environment(**overrides: str) -> dict[str, str]:
    """The session's environment (its database, ChromaDB, ...), a Redis namespace of its own,
    every metrics port free and on loopback, and this tree's code and programs."""
    env = dict(os.environ, REDIS_NAMESPACE=f"{SETTINGS.redis_namespace}-procfile-{uuid.uuid4().hex[:8]}",
               PORT=str(free_port()), WEB_HOST="127.0.0.1", METRICS_HOST="127.0.0.1",
               WORKER_METRICS_PORT=str(free_port()), SCHEDULER_METRICS_PORT=str(free_port()),
               LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return {**env, **overrides}


class Process:
    """One Procfile line run by `sh -c` in a session of its own, its output in `log`, stopped by
    signalling the whole session."""

    def __init__(self, name: str, env: dict[str, str], log: Path):
        self.name, self.log = name, log
        with open(log, "wb") as output:
            self.popen = subprocess.Popen(["sh", "-c", procfile_commands()[name]], env=env, cwd=ROOT,
                                          stdout=output, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_for_port(self, port: int) -> "Process":
        try:
            wait_for_port(port, f"the Procfile's {self.name}", timeout=START_SECONDS)
        except RuntimeError:
            raise RuntimeError(self.log.read_text(errors="replace")[-4000:]) from None
        return self

    def stop(self) -> None:
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


def local_url(env: dict[str, str], port_variable: str, path: str = "/metrics") -> str:
    return f"http://127.0.0.1:{env[port_variable]}{path}"


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample at `url`, by name and labels, read with prometheus_client's own parser."""
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    return samples(response.text)


def samples(exposition: str) -> dict[tuple[str, frozenset], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(exposition) for sample in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    """The sample with exactly these labels; 0 when there is none (a series not yet counted)."""
    return found.get((name, frozenset(labels.items())), 0.0)


def names(found: dict) -> set[str]:
    return {name for name, _ in found}


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.1):
    """`predicate()`'s first truthy value within `timeout` seconds, else its last value."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


def broker_for(redis_client, namespace: str) -> RedisBroker:
    """A broker on the queues of the processes started with `namespace`, to put messages there."""
    return RedisBroker(client=redis_client, namespace=f"{namespace}:dramatiq", middleware=[])


def workout_message(user_id: str, job_id: str | None = None):
    """A `workouts.log` command as the API queues it."""
    return build_message("workouts.log", job_id or str(uuid.uuid4()), {
        "user_id": user_id, "workout_name": "Leg Day", "duration_minutes": 30, "total_volume": 1000,
        "volume_unit": "lb", "notes": None, "performed_at": None,
        "workout_log_id": str(uuid.uuid4()), "activity_id": str(uuid.uuid4())})


def send_failing_command(broker: RedisBroker) -> None:
    """A command that fails for good: its user id is no UUID, which PostgreSQL refuses (a fault
    that is not worth retrying), so it ends in the dead-letter queue."""
    broker.enqueue(workout_message("not-a-uuid"))


def send_command_retried_once(broker: RedisBroker, database_url: str) -> None:
    """A command whose first attempt is cancelled, as a statement cancelled by PostgreSQL is
    (a transient fault), and whose retry succeeds: the test holds the command's job lock, and
    cancels the worker's wait for it."""
    message = workout_message(str(uuid.uuid4()))
    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s::text, 0))", (message.message_id,))
        broker.enqueue(message)
        waiting = wait_until(lambda: holder.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())").fetchone())
        assert waiting, "the worker never waited for the command's lock"
        assert holder.execute("SELECT pg_cancel_backend(%s)", (waiting[0],)).fetchone()[0]
        holder.rollback()  # the lock goes: the retry runs through


def wipe(redis_client, namespace: str) -> None:
    keys = list(redis_client.scan_iter(match=f"{namespace}:*", count=1000))
    for start in range(0, len(keys), 500):
        redis_client.delete(*keys[start:start + 500])
