"""Test harness: real PostgreSQL and Redis, nothing shared with other runs.

- One database per test session (`wc_test_<random>`), migrated once; every test starts from
  empty tables (TRUNCATE), leaderboards included, so tests never see each other's rows.
- One Redis key namespace per session (`wc-test-<random>`), wiped before each test and at
  the end, so several runs can share one Redis.
- One real Dramatiq worker (threads, in this process) consumes the session's queues, so API
  calls with `Prefer: wait=5` are carried out exactly as in production.
- One real ChromaDB server (`chroma run`, the one the chromadb package ships) on a free port with
  a temporary directory, for the event log, with the shipped embedding (all-MiniLM-L6-v2 from
  the installed packages, loaded once per process: no download).

The environment is set before any `workers` import: the worker runtime reads it once.
"""

import os
import uuid
from contextlib import contextmanager

import psycopg
import pytest

from jobs.local_servers import ChromaServer, free_port  # imports nothing that reads the environment

RUN_ID = uuid.uuid4().hex[:10]
ADMIN_URL = os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_DB = f"wc_test_{RUN_ID}"
os.environ["DATABASE_URL"] = ADMIN_URL.rsplit("/", 1)[0] + f"/{TEST_DB}"
os.environ.pop("API_DATABASE_URL", None)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ["REDIS_NAMESPACE"] = f"wc-test-{RUN_ID}"
os.environ["OUTBOX_GRACE_SECONDS"] = "0"
# The tests sign tokens with the published development secret and read the in-process app's
# /metrics on its own routes (METRICS_PORT=0): both allowed in development only.
os.environ["ENVIRONMENT"] = "development"
os.environ["METRICS_PORT"] = "0"


CHROMA_PORT = free_port()
os.environ["CHROMA_URL"] = f"http://127.0.0.1:{CHROMA_PORT}"
os.environ["CHROMA_COLLECTION"] = f"events-{RUN_ID}"
os.environ["EMBEDDING_FUNCTION"] = "minilm"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

from core.settings import Settings  # noqa: E402

SETTINGS = Settings.from_env()
TABLES = ["processed_commands", "events", "challenge_notifications", "withdrawn_challenges",
          "leaderboard_counters", "leaderboard_levels", "leaderboard_seasons_closed",
          "workout_challenges", "points_ledger", "challenge_progress", "challenge_participants",
          "challenges", "habit_logs", "activity_feed", "workout_logs", "friendships", "users",
          "crowd_athletes", "crowd_workouts", "crowd_kinds", "workout_kinds"]


def wipe_redis(client):
    keys = list(client.scan_iter(match=f"{SETTINGS.redis_namespace}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start:start + 500])


@contextmanager
def empty_database(name: str):
    """A database of the test's own on the shared server, its URL; dropped afterwards, whoever
    is still connected."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database():
    with empty_database(TEST_DB) as url:
        from sql.migrate import migrate

        migrate(url)
        yield url
        from workers.runtime import db

        db.close()


@pytest.fixture(scope="session")
def redis_client():
    from core.connections import connect_redis

    client = connect_redis(SETTINGS)
    yield client
    wipe_redis(client)
    client.close()


@pytest.fixture(autouse=True)
def clean_state(request, database, redis_client):
    """Empty tables and an empty namespace before every test."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    wipe_redis(redis_client)


@pytest.fixture
def conn(database):
    """A connection as the owning role, like a worker's (dict rows, numbers as floats)."""
    from psycopg.rows import dict_row
    from core.db import configure_connection

    with psycopg.connect(database, row_factory=dict_row) as connection:
        configure_connection(connection)
        yield connection


@pytest.fixture
def scheduler_conn(database):
    """A connection like the scheduler's: the owning role in autocommit, so every transaction a
    job opens is its own."""
    from psycopg.rows import dict_row
    from core.db import configure_connection

    with psycopg.connect(database, row_factory=dict_row, autocommit=True) as connection:
        configure_connection(connection)
        yield connection


@pytest.fixture(scope="session", autouse=True)
def chroma():
    """The session's ChromaDB server, running before any worker indexes an event."""
    server = ChromaServer(CHROMA_PORT).start()
    yield server
    server.stop()
    server.remove()


@pytest.fixture(scope="session")
def worker(database, redis_client):
    """A real Dramatiq worker on the session's Redis queues."""
    import dramatiq

    import workers.app  # noqa: F401  (registers every actor)
    from workers.broker import broker

    worker = dramatiq.Worker(broker, worker_threads=4, worker_timeout=50)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def app(database, redis_client):
    from api.app import create_app

    application = create_app(SETTINGS, redis_client)
    yield application
    application.close()


@pytest.fixture
def api(app, worker):
    from tests.helpers import Api

    return Api(app)
