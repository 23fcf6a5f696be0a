"""A worker killed mid-way (SIGKILL, no goodbye) loses no command and duplicates no effect."""

import os
import signal
import subprocess
import sys
import time
import uuid

import redis
from dramatiq.brokers.redis import RedisBroker

from core.commands import build_message
from tests.conftest import SETTINGS

COMMANDS = 400


def start_worker(namespace: str) -> subprocess.Popen:
    env = dict(os.environ, REDIS_NAMESPACE=namespace, dramatiq_worker_timeout="100")
    return subprocess.Popen([sys.executable, "-m", "dramatiq", "workers.app", "--processes", "1",
                             "--threads", "4"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def counts(conn) -> tuple[int, int, int]:
    row = conn.execute("SELECT (SELECT count(*) FROM workout_logs) AS logs,"
                       " (SELECT count(*) FROM activity_feed) AS posts,"
                       " (SELECT count(*) FROM processed_commands) AS jobs").fetchone()
    conn.commit()
    return row["logs"], row["posts"], row["jobs"]


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    return predicate()


def test_killed_worker_loses_nothing_and_duplicates_nothing(conn):
    # Given COMMANDS accepted workout logs queued for a worker of our own namespace
    namespace = f"{SETTINGS.redis_namespace}-recovery"
    client = redis.Redis.from_url(SETTINGS.redis_url)
    sender = RedisBroker(client=client, namespace=f"{namespace}:dramatiq", middleware=[])
    user = str(uuid.uuid4())
    for n in range(COMMANDS):
        job_id = str(uuid.uuid4())
        sender.enqueue(build_message("workouts.log", job_id, {
            "user_id": user, "workout_log_id": str(uuid.uuid4()), "activity_id": str(uuid.uuid4()),
            "workout_name": f"Workout {n}", "duration_minutes": 30, "total_volume": 1000}))
    worker = start_worker(namespace)
    try:
        # When the worker is killed with SIGKILL part-way through
        assert wait_for(lambda: counts(conn)[0] >= 20, timeout=60), "the worker never started"
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        done_at_kill = counts(conn)[0]
        assert done_at_kill < COMMANDS, "the kill came too late to test anything"

        # and a new worker starts
        worker = start_worker(namespace)

        # Then every command is carried out exactly once (the dead worker's in-flight messages
        # come back after the heartbeat timeout)
        assert wait_for(lambda: counts(conn)[2] == COMMANDS, timeout=150), counts(conn)
        time.sleep(1)
        assert counts(conn) == (COMMANDS, COMMANDS, COMMANDS)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        for key in client.scan_iter(match=f"{namespace}:*"):
            client.delete(key)
