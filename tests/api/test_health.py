"""Liveness and readiness, for load balancers and orchestrators (no token needed): `/healthz`
touches no dependency; `/readyz` checks each one with a timeout and says which is down."""

import dataclasses
import time

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

