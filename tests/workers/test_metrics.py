"""What the workers' metrics tell an operator: Dramatiq's (messages, errors, retries, dead
letters, durations per actor) and the domain's (commands by outcome, outbox events published,
how long events wait for the event log), read the way Prometheus reads them, from the
Procfile's running worker; and, in this process, where each is recorded."""

import uuid

import httpx
import pytest

from core.commands import CommandRejected
from jobs.tokens import issue_token
from tests.conftest import SETTINGS
from tests.running import (Process, broker_for, environment, local_url, scrape, send_command_retried_once,
                           send_failing_command, value, wait_until, wipe)
from workers.metrics import worker_metrics

WORKOUT = {"workout_name": "Beast Mode Legs", "duration_minutes": 35, "total_volume": 10000}
COMMANDS = {"queue_name": "commands", "actor_name": "workouts.log"}


def counted(name: str, **labels: str) -> float:
    """A sample of this process's worker metrics; 0 before it was first counted."""
    return worker_metrics().registry.get_sample_value(name, labels) or 0.0


@pytest.fixture(scope="module")
def procfile(database, redis_client, tmp_path_factory):
    """The Procfile's web and worker lines, two processes each, on this session's database."""
    logs = tmp_path_factory.mktemp("procfile")
    env = environment(WORKER_METRICS_DIR=str(logs / "worker-metrics"), WEB_CONCURRENCY="2",
                      WORKER_PROCESSES="2")
    processes = [Process("web", env, logs / "web.log"), Process("worker", env, logs / "worker.log")]
    try:
        processes[0].wait_for_port(int(env["PORT"]))
        processes[1].wait_for_port(int(env["WORKER_METRICS_PORT"]))
        yield env
    finally:
        for process in processes:
            process.stop()
        wipe(redis_client, env["REDIS_NAMESPACE"])


def log_workout(env, user: str) -> httpx.Response:
    return httpx.post(local_url(env, "PORT", "/api/v1/workouts"), json=WORKOUT, timeout=15,
                      headers={"Authorization": f"Bearer {issue_token(SETTINGS, user)}", "Prefer": "wait=5"})


def test_three_workouts_logged_show_on_the_running_apis_and_workers_metrics(procfile):
    # Given the Procfile's API and worker, and what their metrics say now
    api_metrics, worker_metrics_url = local_url(procfile, "PORT"), local_url(procfile, "WORKER_METRICS_PORT")
    api_before, worker_before = scrape(api_metrics), scrape(worker_metrics_url)
    user = str(uuid.uuid4())

    # When a user logs three workouts, each waiting for its job
    for _ in range(3):
        response = log_workout(procfile, user)
        assert response.status_code == 201, response.text

    # Then the API, whichever of its two workers answers, counted three 201s on the route's
    # template, three commands enqueued and three waits that ended with the job done
    api_after = scrape(api_metrics)

    def api_delta(name, **labels):
        return value(api_after, name, **labels) - value(api_before, name, **labels)

    route = {"route": "/api/v1/workouts", "method": "POST"}
    assert api_delta("challenges_http_requests_total", **route, status="201") == 3
    assert api_delta("challenges_http_request_duration_seconds_count", **route) == 3
    assert api_delta("challenges_jobs_enqueued_total", actor="workouts.log") == 3
    assert api_delta("challenges_prefer_wait_total", actor="workouts.log", outcome="done") == 3

    # And the worker's two processes, served as one, counted three messages and three commands
    # succeeded (Dramatiq counts a message once its actor has returned, just after the client
    # was told: that is waited for)
    def worker_delta(name, **labels):
        return value(scrape(worker_metrics_url), name, **labels) - value(worker_before, name, **labels)

    assert wait_until(lambda: worker_delta("dramatiq_messages_total", **COMMANDS) == 3)
    assert worker_delta("dramatiq_message_duration_milliseconds_count", **COMMANDS) == 3
    assert worker_delta("dramatiq_message_errors_total", **COMMANDS) == 0
    assert worker_delta("challenges_commands_total", actor="workouts.log", status="succeeded", code="") == 3
    assert value(scrape(worker_metrics_url), "dramatiq_messages_inprogress", **COMMANDS) == 0


def test_a_command_that_fails_for_good_shows_as_an_error_and_a_dead_letter(procfile, redis_client):
    # Given the running worker, and what its metrics say now
    url = local_url(procfile, "WORKER_METRICS_PORT")
    before = scrape(url)

    def delta(name, **labels):
        return value(scrape(url), name, **labels) - value(before, name, **labels)

    # When a command arrives that PostgreSQL refuses (a fault not worth retrying)
    send_failing_command(broker_for(redis_client, procfile["REDIS_NAMESPACE"]))

    # Then it is one error, one dead letter, no retry, and one command failed as an internal error
    assert wait_until(lambda: delta("dramatiq_message_rejects_total", **COMMANDS) == 1)
    assert delta("dramatiq_message_errors_total", **COMMANDS) == 1
    assert delta("dramatiq_message_retries_total", **COMMANDS) == 0
    failed = {"actor": "workouts.log", "status": "failed", "code": "internal_error"}
    assert delta("challenges_commands_total", **failed) == 1


def test_a_command_retried_after_a_transient_fault_shows_as_a_retry_then_a_success(procfile, redis_client,
                                                                                  database):
    # Given the running worker, and what its metrics say now
    url = local_url(procfile, "WORKER_METRICS_PORT")
    before = scrape(url)

    def delta(name, **labels):
        return value(scrape(url), name, **labels) - value(before, name, **labels)

    # When a command's first attempt is cancelled by PostgreSQL, and its retry goes through
    send_command_retried_once(broker_for(redis_client, procfile["REDIS_NAMESPACE"]), database)

    # Then the attempt is an error and a retry, the command one success, and nothing is dead.
    # (Dramatiq counts a retry twice: on `commands.DQ`, where it waits out its backoff, and on
    # `commands` once it is due; by queue, once.)
    assert wait_until(lambda: delta("challenges_commands_total", actor="workouts.log", status="succeeded",
                                    code="") == 1)
    assert delta("dramatiq_message_errors_total", **COMMANDS) == 1
    assert delta("dramatiq_message_retries_total", **COMMANDS) == 1
    assert delta("dramatiq_message_rejects_total", **COMMANDS) == 0


# --- Where the domain's metrics are recorded (this process's worker) -----------------------------


def test_a_command_carried_out_counts_once_by_actor_and_outcome(api):
    # Given a user, and the commands counted so far
    succeeded = {"actor": "workouts.log", "status": "succeeded", "code": ""}
    before = counted("challenges_commands_total", **succeeded)

    # When they log a workout
    api.log_workout(api.sign_up("Dan"))

    # Then one more workouts.log succeeded
    assert counted("challenges_commands_total", **succeeded) == before + 1


def test_a_rejected_command_counts_as_failed_with_its_code_and_its_redelivery_not_at_all(database):
    from workers.runtime import execute

    # Given a command its rule refuses
    def refuse(conn):
        raise CommandRejected("not_friends", "You can only challenge friends.")

    failed = {"actor": "challenges.create", "status": "failed", "code": "not_friends"}
    before = counted("challenges_commands_total", **failed)
    job_id, user = str(uuid.uuid4()), str(uuid.uuid4())

    # When it is carried out, and then delivered again
    execute(job_id, "challenges.create", user, refuse)
    execute(job_id, "challenges.create", user, refuse)

    # Then it counts once, as failed with the rule's code
    assert counted("challenges_commands_total", **failed) == before + 1


def test_a_command_that_fails_for_good_counts_as_failed_with_the_jobs_code(worker):
    from workers.broker import broker

    # Given the commands counted so far
    failed = {"actor": "workouts.log", "status": "failed", "code": "internal_error"}
    before = counted("challenges_commands_total", **failed)

    # When a command arrives that PostgreSQL refuses
    send_failing_command(broker)

    # Then it counts as failed, with the code its job ends with
    assert wait_until(lambda: counted("challenges_commands_total", **failed) == before + 1)


def test_a_commands_events_count_as_published_and_their_wait_for_the_event_log_is_measured(api, conn):
    # Given two friends, and what was counted so far
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    api.befriend(john, sarah)
    workout = api.log_workout(john)
    published_before = counted("challenges_outbox_events_published_total", source="command")
    indexed_before = counted("challenges_event_index_lag_seconds_count")

    # When John challenges Sarah to his workout (one event: challenge_created)
    api.challenge(john, [sarah], workout)

    # Then his command published it, and once it is in the event log its wait was measured
    assert counted("challenges_outbox_events_published_total", source="command") == published_before + 1
    assert wait_until(lambda: conn.execute("SELECT bool_and(indexed_at IS NOT NULL) AS done FROM events"
                                           ).fetchone()["done"])
    conn.rollback()
    assert counted("challenges_event_index_lag_seconds_count") == indexed_before + 1
    assert counted("challenges_event_index_lag_seconds_bucket", le="+Inf") >= indexed_before + 1


def test_events_the_sweep_hands_on_count_as_published_by_the_sweep(conn, redis_client):
    from workers.events import publish

    # Given an event its worker never published (it died after commit)
    event_id = conn.execute("INSERT INTO events (event_type, payload) VALUES ('challenge_created', '{}')"
                            " RETURNING id").fetchone()["id"]
    conn.commit()
    before = counted("challenges_outbox_events_published_total", source="sweep")

    # When `events.publish` publishes it for the sweep
    publish.fn([str(event_id)])

    # Then it is published, and counts as published by the sweep
    assert conn.execute("SELECT published_at IS NOT NULL AS published FROM events WHERE id = %s",
                        (event_id,)).fetchone()["published"]
    assert counted("challenges_outbox_events_published_total", source="sweep") == before + 1
