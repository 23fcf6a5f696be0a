"""Shared checks for the API tests: problem+json answers, "nothing changed" snapshots, raw
bodies, tokens and job polling. Everything a user could notice, nothing more."""

import time
import uuid
from contextlib import contextmanager

import psycopg

from jobs.tokens import issue_token
from tests.conftest import SETTINGS, TABLES
from tests.helpers import API

PROBLEM_JSON = "application/problem+json"
JOB_LOCATION = API + "/jobs/"


def auth(user: str) -> dict:
    return {"Authorization": f"Bearer {issue_token(SETTINGS, user)}"}


def assert_problem(response, status: int, code: str, *fields: str) -> dict:
    """An RFC 9457 problem with this status and `code`, naming each of `fields` in `errors`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body = response.json
    assert body["status"] == status, body
    assert body["code"] == code, body
    for field in fields:
        assert field in (body.get("errors") or {}), body
    return body


# Filled in the background by the event log's indexer (each workout's kind), whenever it runs:
# not something a request under test does or does not change.
BACKGROUND_TABLES = {"workout_kinds"}


def row_counts(conn) -> dict:
    """How many rows each table holds (the transaction is closed again at once)."""
    counts = {table: conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]
              for table in TABLES if table not in BACKGROUND_TABLES}
    conn.rollback()
    return counts


def job_count(redis_client) -> int:
    """Jobs the API has created in this session's Redis namespace."""
    pattern = SETTINGS.key("job", "*")
    return sum(1 for key in redis_client.scan_iter(match=pattern, count=1000)
               if not key.decode().endswith(":done"))


def snapshot(conn, redis_client) -> tuple[dict, int]:
    """Everything a request could have changed: rows in every table and jobs in Redis."""
    return row_counts(conn), job_count(redis_client)


def send_raw(api, method: str, path: str, user: str | None, body, *, wait: int = 5,
             headers: dict | None = None):
    """A request whose body is sent exactly as given (str or bytes), not encoded by the client."""
    headers = {"Content-Type": "application/json", **(headers or {})}
    if user:
        headers.update(auth(user))
    if wait:
        headers.setdefault("Prefer", f"wait={wait}")
    return api.client.simulate_request(method, API + path, body=body, headers=headers)


def job_path(response) -> str:
    """The job path a 202 points at (`Location`) or a final answer names (`Content-Location`)."""
    location = response.headers.get("location") or response.headers.get("content-location")
    assert location == JOB_LOCATION + response.json["job_id"], response.headers
    return location


def get_job(api, user: str, location: str):
    return api.client.simulate_get(location, headers=auth(user))


def poll_job(api, user: str, location: str, timeout: float = 5.0) -> dict:
    """The job once it is final, or as it stands after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        response = get_job(api, user, location)
        assert response.status_code == 200, response.text
        if response.json["status"] in {"succeeded", "failed"} or time.monotonic() > deadline:
            return response.json
        time.sleep(0.05)


def new_id() -> str:
    return str(uuid.uuid4())


def lock_waiters(database) -> int:
    """Backends of this test database waiting for a lock right now."""
    with psycopg.connect(database, autocommit=True) as watcher:
        return watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                               " AND wait_event_type = 'Lock'").fetchone()[0]


def wait_for_lock_waiters(database, count: int, timeout: float = 10.0) -> None:
    """Until `count` transactions queue on the held lock (the workers have both commands)."""
    deadline = time.monotonic() + timeout
    while lock_waiters(database) < count and time.monotonic() < deadline:
        time.sleep(0.02)


@contextmanager
def holding(conn, table: str, row_id: str):
    """The row's lock, held by the test until the block ends (then let go, nothing changed)."""
    assert conn.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", (row_id,)).fetchone()
    try:
        yield
    finally:
        conn.rollback()
