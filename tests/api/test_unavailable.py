"""When a dependency is gone the API answers fast and truthfully: 503 naming it (never 500,
never a hang), what it can answer without it, and jobs as PostgreSQL recorded them when Redis
has not heard. tests/faults/ does the same with real servers killed under load."""

import dataclasses
import socketserver
import threading
import time
from contextlib import contextmanager

import psycopg
import pytest

from api.errors import from_job_error
from core.commands import JobStore
from jobs.local_servers import free_port
from tests.api.support import (assert_problem, auth, holding, job_path, poll_job, snapshot,
                               wait_for_lock_waiters)
from tests.conftest import SETTINGS
from tests.helpers import API, serving
from workers.broker import failure

WORKOUT = {"workout_name": "Beast Mode Legs", "duration_minutes": 35, "total_volume": 10000}
NO_REDIS = dataclasses.replace(SETTINGS, redis_url="redis://127.0.0.1:1/0")
NO_POSTGRES = dataclasses.replace(SETTINGS, api_database_url="postgresql://challenges_api@127.0.0.1:1/x")


def assert_unavailable(response, dependency: str) -> dict:
    problem = assert_problem(response, 503, "service_unavailable")
    assert problem["dependency"] == dependency, problem
    assert int(response.headers["Retry-After"]) > 0
    return problem


def test_without_redis_a_mutation_is_503_naming_redis_and_changes_nothing(api, conn, redis_client):
    # Given John, and an API whose Redis is gone
    john = api.sign_up("John")
    before = snapshot(conn, redis_client)
    with serving(NO_REDIS) as client:
        # When he logs a workout
        started = time.monotonic()
        response = client.simulate_post(API + "/workouts", json=WORKOUT, headers=auth(john))

        # Then he is told at once that Redis is unavailable, and nothing was done
        assert_unavailable(response, "redis")
        assert time.monotonic() - started < 1.0
    assert snapshot(conn, redis_client) == before


@contextmanager
def redis_still_loading():
    """A Redis that answers every command as one does while it reloads its data after a restart
    (`-LOADING`); its URL."""

    class Loading(socketserver.BaseRequestHandler):
        def handle(self):
            while self.request.recv(65536):
                self.request.sendall(b"-LOADING Redis is loading the dataset in memory\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", free_port()), Loading)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"redis://127.0.0.1:{server.server_address[1]}/0"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("method,path", [("POST", "/workouts"), ("GET", "/jobs/6f1c3e9a-2b4d-4c8e-9f0a-1b2c3d4e5f60")])
def test_while_redis_loads_its_data_requests_that_need_it_are_503(api, method, path):
    # Given John, and an API whose Redis is still loading its data after a restart
    john = api.sign_up("John")
    with redis_still_loading() as url, serving(dataclasses.replace(SETTINGS, redis_url=url)) as client:
        # When he sends a request that needs Redis
        response = client.simulate_request(method, API + path, json=WORKOUT if method == "POST" else None,
                                           headers=auth(john))

    # Then 503 naming Redis (it used to be a 500 for BusyLoadingError)
    assert_unavailable(response, "redis")


def test_without_redis_a_finished_job_is_read_from_postgresql(api):
    # Given John's logged workout, its job finished
    john = api.sign_up("John")
    done = api.post("/workouts", john, WORKOUT)
    assert done.status_code == 201, done.text

    # When he reads the job while Redis is gone
    with serving(NO_REDIS) as client:
        response = client.simulate_get(job_path(done), headers=auth(john))

    # Then he gets its outcome as PostgreSQL recorded it
    assert response.status_code == 200, response.text
    assert response.json["status"] == "succeeded"
    assert response.json["result"]["workout_log_id"] == done.json["workout_log_id"]


def test_without_redis_a_job_postgresql_has_not_recorded_is_503(api):
    # Given John, and a job id PostgreSQL knows nothing of
    john = api.sign_up("John")
    with serving(NO_REDIS) as client:
        # When he reads it while Redis is gone, Then only Redis could tell: 503 naming it
        response = client.simulate_get(API + "/jobs/6f1c3e9a-2b4d-4c8e-9f0a-1b2c3d4e5f60", headers=auth(john))
        assert_unavailable(response, "redis")


def test_without_postgresql_reads_are_503_within_the_pool_timeout(api):
    # Given John, and an API whose database is gone
    john = api.sign_up("John")
    with serving(NO_POSTGRES) as client:
        for path in ("/workouts", "/me", "/challenges/stats"):
            # When he reads
            started = time.monotonic()
            response = client.simulate_get(API + path, headers=auth(john))

            # Then he is told PostgreSQL is unavailable within about the pool timeout
            assert_unavailable(response, "postgres")
            assert time.monotonic() - started < SETTINGS.database_pool_timeout + 1.0, path


def test_without_the_apis_database_connection_a_workout_is_still_accepted(api):
    # Given John, and an API that cannot reach PostgreSQL (logging a workout needs only Redis)
    john = api.sign_up("John")
    with serving(NO_POSTGRES) as client:
        # When he logs a workout without waiting
        response = client.simulate_post(API + "/workouts", json=WORKOUT, headers=auth(john))

    # Then it is accepted, and the workers (which can reach it) carry it out
    assert response.status_code == 202, response.text
    assert poll_job(api, john, job_path(response))["status"] == "succeeded"


def test_pooled_connections_that_died_cost_readers_nothing(api, conn):
    # Given John has read his workouts, so the API's pool holds open connections
    john = api.sign_up("John")
    for _ in range(3):
        assert api.get("/workouts", john).status_code == 200

    # When every one of them is cut by the server (as a database restart does)
    cut = conn.execute("SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity"
                       " WHERE usename = 'challenges_api' AND datname = current_database()").fetchone()
    conn.commit()
    assert cut["n"] >= 1

    # Then his next reads are answered as if nothing happened
    for _ in range(3):
        response = api.get("/workouts", john)
        assert response.status_code == 200, response.text


def test_a_job_redis_still_calls_running_reads_as_its_recorded_outcome(api, redis_client):
    # Given John's finished workout job, whose last status update Redis lost (it says running)
    john = api.sign_up("John")
    done = api.post("/workouts", john, WORKOUT)
    assert done.status_code == 201, done.text
    JobStore(redis_client, SETTINGS).mark_running(done.json["job_id"])

    # When he reads the job
    response = api.client.simulate_get(job_path(done), headers=auth(john))

    # Then he reads the outcome PostgreSQL recorded with the workout, ids included
    assert response.status_code == 200, response.text
    assert response.json["status"] == "succeeded"
    assert response.json["result"]["workout_log_id"] == done.json["workout_log_id"]
    assert response.json["workout_log_id"] == done.json["workout_log_id"]


def test_a_committed_job_the_worker_then_marked_failed_reads_as_its_recorded_outcome(api, redis_client):
    # Given John's workout committed, but the worker then ran out of retries (PostgreSQL went
    # away before it could tell anyone) and marked the job failed in Redis
    john = api.sign_up("John")
    done = api.post("/workouts", john, WORKOUT)
    assert done.status_code == 201, done.text
    gave_up = failure(psycopg.OperationalError("server closed the connection"))
    JobStore(redis_client, SETTINGS).finish(done.json["job_id"], john, {"status": "failed", "error": gave_up})

    # When he reads the job, Then it is the outcome PostgreSQL recorded: succeeded, not a 503 to
    # retry (which would log the workout twice)
    response = api.client.simulate_get(job_path(done), headers=auth(john))
    assert response.json["status"] == "succeeded", response.json
    assert response.json["result"]["workout_log_id"] == done.json["workout_log_id"]


def test_prefer_wait_longer_than_redis_timeouts_answers_202_with_the_job(api, conn, database, cast, pending):
    # Given Sarah's accept will wait on the challenge's row lock for longer than she waits
    wait = 5
    assert wait > SETTINGS.redis_socket_timeout
    with holding(conn, "workout_challenges", pending):
        # When she accepts with Prefer: wait=5
        started = time.monotonic()
        response = api.post(f"/challenges/accept/{pending}", cast.sarah, wait=wait)
        elapsed = time.monotonic() - started
        wait_for_lock_waiters(database, 1)

        # Then after the 5 seconds she gets 202 with the job to follow, not an error
        assert response.status_code == 202, response.text
        assert response.json["status"] in {"queued", "running"}
        assert wait <= elapsed < wait + 1.5, elapsed
        location = job_path(response)

    # and once the lock is let go the job succeeds
    assert poll_job(api, cast.sarah, location, timeout=10)["status"] == "succeeded"


def test_a_job_that_failed_for_an_unavailable_service_answers_like_the_apis_own_503():
    # Given a job the worker gave up on because PostgreSQL stayed down through every retry
    error = failure(psycopg.OperationalError("server closed the connection"))

    # When a client waiting on it is answered
    problem = from_job_error(error, "6f1c3e9a-2b4d-4c8e-9f0a-1b2c3d4e5f60")

    # Then it is a 503 naming PostgreSQL, saying when to try again, with the job's id
    assert problem.status_code == 503 and int(problem.headers["Retry-After"]) > 0
    body = problem.to_dict()
    assert (body["code"], body["dependency"], body["job_id"]) == (
        "service_unavailable", "postgres", "6f1c3e9a-2b4d-4c8e-9f0a-1b2c3d4e5f60")
