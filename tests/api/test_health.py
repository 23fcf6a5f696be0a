"""Liveness and readiness, for load balancers and orchestrators (no token needed): `/healthz`
touches no dependency; `/readyz` checks each one with a timeout and says which is down."""

import dataclasses
import threading
import time

import falcon
import falcon.testing

from api.resources.health import READINESS_MAX_AGE_SECONDS, DependencyChecks, Ready
from tests.conftest import SETTINGS
from tests.helpers import serving

CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"
CLOSED_PORT_POSTGRES = "postgresql://challenges_api@127.0.0.1:1/challenges"
CLOSED_PORT_CHROMA = "http://127.0.0.1:1"


def test_healthz_and_readyz_answer_at_the_root_and_under_the_api(api):
    for path in ("/healthz", "/readyz", "/api/v1/healthz", "/api/v1/readyz"):
        response = api.client.simulate_get(path)
        assert response.status_code == 200, path
    assert api.client.simulate_get("/readyz").json == {
        "status": "ok", "checks": {"postgres": "ok", "redis": "ok", "chromadb": "ok"}}


def test_readyz_is_503_when_redis_is_unreachable():
    # Given an API whose Redis is a closed port
    with serving(dataclasses.replace(SETTINGS, redis_url=CLOSED_PORT_REDIS)) as client:
        # When a load balancer asks, Then it is told not to route here, and why
        response = client.simulate_get("/readyz")
        assert response.status_code == 503
        assert response.json["status"] == "unavailable"
        assert response.json["checks"]["postgres"] == "ok"
        assert response.json["checks"]["redis"].startswith("error")


def test_without_postgresql_readyz_says_so_quickly_and_healthz_answers_at_once():
    # Given an API whose PostgreSQL is a closed port
    with serving(dataclasses.replace(SETTINGS, api_database_url=CLOSED_PORT_POSTGRES)) as client:
        # When a load balancer asks for readiness
        started = time.monotonic()
        response = client.simulate_get("/readyz")

        # Then it hears 503 naming PostgreSQL within about the pool timeout, not a hang
        assert response.status_code == 503
        assert time.monotonic() - started < SETTINGS.database_pool_timeout + 1.0
        assert response.json["checks"]["postgres"].startswith("error")
        assert response.json["checks"]["redis"] == "ok"

        # and liveness answers at once
        started = time.monotonic()
        assert client.simulate_get("/healthz").status_code == 200
        assert time.monotonic() - started < 0.2


def test_without_chromadb_the_api_is_ready_but_degraded():
    # Given an API whose ChromaDB is a closed port
    with serving(dataclasses.replace(SETTINGS, chroma_url=CLOSED_PORT_CHROMA)) as client:
        # When a load balancer asks, Then it may still route here (only insights are missing)
        response = client.simulate_get("/readyz")
        assert response.status_code == 200
        assert response.json["status"] == "degraded"
        assert response.json["checks"]["chromadb"].startswith("error")
        assert {response.json["checks"][name] for name in ("postgres", "redis")} == {"ok"}


def test_healthz_is_answered_from_the_process_alone():
    # Given an API none of whose dependencies can be reached
    broken = dataclasses.replace(SETTINGS, redis_url=CLOSED_PORT_REDIS, api_database_url=CLOSED_PORT_POSTGRES,
                                 chroma_url=CLOSED_PORT_CHROMA)
    with serving(broken) as client:
        # When liveness is asked, Then it is alive
        response = client.simulate_get("/healthz")
        assert (response.status_code, response.json) == (200, {"status": "ok"})



def counting(answers: list[str]):
    """A dependency probe that records each time it is asked, and fails once told to."""
    def probe():
        answers.append("asked")
        if answers[0] == "down":
            raise ConnectionError("down")
    return probe


def test_a_flood_of_readiness_checks_asks_the_dependencies_once_a_second():
    # Given readiness over three dependencies whose probes count how often they are asked
    asked = {name: ["up"] for name in ("postgres", "redis", "chromadb")}
    now = [1000.0]
    dependencies = DependencyChecks({name: counting(answers) for name, answers in asked.items()},
                                    clock=lambda: now[0])
    client = falcon.testing.TestClient(readiness_app(dependencies))

    # When a load balancer (or anyone) asks 100 times within the same second
    answers = [client.simulate_get("/readyz") for _ in range(100)]

    # Then every answer is 200, and each dependency was asked once
    assert {response.status_code for response in answers} == {200}
    assert {name: len(answers) - 1 for name, answers in asked.items()} == {
        "postgres": 1, "redis": 1, "chromadb": 1}

    # And once Redis goes down, the next answer after the result's age is up says so
    asked["redis"][0] = "down"
    assert client.simulate_get("/readyz").status_code == 200  # still the fresh result
    now[0] += READINESS_MAX_AGE_SECONDS
    response = client.simulate_get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["redis"] == "error: ConnectionError"


def test_while_one_thread_probes_the_others_answer_from_the_last_result():
    # Given readiness that was checked once, whose next PostgreSQL probe hangs until released
    release, probing = threading.Event(), threading.Event()
    now = [1000.0]

    def postgres():
        if now[0] > 1000.0:
            probing.set()
            release.wait(10)

    dependencies = DependencyChecks({"postgres": postgres, "redis": lambda: None, "chromadb": lambda: None},
                                    clock=lambda: now[0])
    dependencies.checks()
    now[0] += READINESS_MAX_AGE_SECONDS

    # When one thread is stuck probing it
    stuck = threading.Thread(target=dependencies.checks)
    stuck.start()
    assert probing.wait(10)

    # Then another caller is answered at once, from the last result
    started = time.monotonic()
    assert dependencies.checks()["postgres"] == "ok"
    assert time.monotonic() - started < 0.1
    release.set()
    stuck.join(10)


def readiness_app(dependencies: DependencyChecks) -> falcon.App:
    app = falcon.App()
    app.add_route("/readyz", Ready(dependencies))
    return app
