"""What the API's metrics tell an operator, read the way Prometheus reads them: GET /metrics,
public and outside the API document, or on a port of its own; requests by route template,
commands enqueued, how `Prefer: wait` ended, rate-limit refusals, 503s by dependency.
tests/workers/test_metrics.py reads them from the Procfile's gunicorn with its worker."""

import dataclasses
import uuid

import httpx
import pytest

from jobs.local_servers import free_port
from tests.api.support import auth
from tests.api.test_unavailable import NO_REDIS
from tests.conftest import SETTINGS
from tests.helpers import API, serving
from tests.running import Process, environment, local_url, names, samples, scrape, value

WORKOUT = {"workout_name": "Beast Mode Legs", "duration_minutes": 35, "total_volume": 10000}
# Its own Redis namespace, which no worker consumes: its commands stay queued.
NO_WORKER = dataclasses.replace(SETTINGS, redis_namespace=SETTINGS.key("no-worker"))


def metrics_of(client) -> dict:
    response = client.simulate_get("/metrics")
    assert response.status_code == 200, response.text
    return samples(response.text)


def test_metrics_are_public_in_prometheus_text_format_and_not_in_the_api_document(api):
    # When Prometheus asks for the metrics, with no token
    response = api.client.simulate_get("/metrics")

    # Then it gets them in its text format
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4"), response.headers
    assert "challenges_http_unavailable_total" in names(samples(response.text)), response.text

    # And clients generated from the API document never see them
    document = api.client.simulate_get(API + "/openapi.json").json
    assert not [path for path in document["paths"] if "metrics" in path]


def test_requests_count_under_their_route_template_never_their_path():
    with serving(SETTINGS) as client:
        # Given a user who asks for two challenges that do not exist, and a path nobody serves
        user, first, second = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        for challenge_id in (first, second):
            response = client.simulate_get(f"{API}/challenges/{challenge_id}", headers=auth(user))
            assert response.status_code == 404, response.text
        assert client.simulate_get(f"{API}/nowhere/{first}").status_code == 404

        # When Prometheus reads the metrics
        found = metrics_of(client)

    # Then both requests are one series, under the route's template, timed, and the other is
    # unmatched; no id appears anywhere
    route = {"route": API + "/challenges/{challenge_id:uuid}", "method": "GET"}
    assert value(found, "challenges_http_requests_total", **route, status="404") == 2
    assert value(found, "challenges_http_request_duration_seconds_count", **route) == 2
    assert value(found, "challenges_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert not [labels for _, labels in found if first in str(labels) or second in str(labels)]


def test_a_command_waited_for_counts_as_enqueued_and_done(api):
    # Given a user, and what the metrics say now
    user = api.sign_up("Dan")
    before = metrics_of(api.client)

    # When they log a workout, waiting for it
    api.log_workout(user)

    # Then one workouts.log command was enqueued, and its wait ended with the job done
    after = metrics_of(api.client)
    for name, labels in (("challenges_jobs_enqueued_total", {"actor": "workouts.log"}),
                         ("challenges_prefer_wait_total", {"actor": "workouts.log", "outcome": "done"})):
        assert value(after, name, **labels) - value(before, name, **labels) == 1, name


def test_a_wait_that_ends_before_the_job_counts_as_timed_out():
    with serving(NO_WORKER) as client:
        # When a user logs a workout, waiting a second, and no worker takes it
        response = client.simulate_post(API + "/workouts", json=WORKOUT,
                                        headers={**auth(str(uuid.uuid4())), "Prefer": "wait=1"})
        assert response.status_code == 202, response.text

        # Then the wait counts as timed out
        found = metrics_of(client)
    assert value(found, "challenges_prefer_wait_total", actor="workouts.log", outcome="timed_out") == 1
    assert value(found, "challenges_prefer_wait_total", actor="workouts.log", outcome="done") == 0


def test_a_rate_limit_refusal_counts_by_budget():
    with serving(dataclasses.replace(NO_WORKER, rate_limit_reads="1/minute")) as client:
        # When a user reads twice, with a budget of one read a minute
        user = auth(str(uuid.uuid4()))
        assert client.simulate_get(API + "/notifications", headers=user).status_code == 200
        assert client.simulate_get(API + "/notifications", headers=user).status_code == 429

        # Then one refusal counts against the reads budget
        found = metrics_of(client)
    assert value(found, "challenges_rate_limit_refusals_total", budget="reads") == 1
    assert value(found, "challenges_rate_limit_refusals_total", budget="mutations") == 0


def test_a_503_counts_by_the_dependency_that_was_out_of_reach():
    with serving(NO_REDIS) as client:
        # When a user logs a workout while Redis is gone
        response = client.simulate_post(API + "/workouts", json=WORKOUT, headers=auth(str(uuid.uuid4())))
        assert response.status_code == 503, response.text

        # Then it is one 503 for lack of Redis, none for the others
        found = metrics_of(client)
    assert value(found, "challenges_http_requests_total", route=API + "/workouts", method="POST",
                 status="503") == 1
    assert value(found, "challenges_http_unavailable_total", dependency="redis") == 1
    assert value(found, "challenges_http_unavailable_total", dependency="postgres") == 0


def test_with_a_metrics_port_the_public_port_has_no_metrics():
    with serving(dataclasses.replace(SETTINGS, metrics_port=9)) as client:
        assert client.simulate_get("/metrics").status_code == 404


@pytest.fixture
def gunicorn_with_a_metrics_port(tmp_path):
    """The Procfile's web line, two workers, with METRICS_PORT set."""
    env = environment(METRICS_PORT=str(free_port()))
    web = Process("web", env, tmp_path / "web.log")
    try:
        web.wait_for_port(int(env["METRICS_PORT"]))
        web.wait_for_port(int(env["PORT"]))
        yield env
    finally:
        web.stop()


def test_gunicorn_serves_every_workers_metrics_on_its_metrics_port_and_none_on_the_public_one(
        gunicorn_with_a_metrics_port):
    env = gunicorn_with_a_metrics_port

    # When a load balancer checks the API's health ten times, over new connections
    for _ in range(10):
        assert httpx.get(local_url(env, "PORT", "/healthz")).status_code == 200

    # Then the metrics port counts all ten, whichever of the two workers answered
    found = scrape(local_url(env, "METRICS_PORT"))
    assert value(found, "challenges_http_requests_total", route="/healthz", method="GET", status="200") == 10

    # And the public port has no metrics
    assert httpx.get(local_url(env, "PORT")).status_code == 404
