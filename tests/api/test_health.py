"""Liveness and readiness, for load balancers and orchestrators (no token needed)."""

import dataclasses

import redis
from falcon import testing

from api.app import create_app
from tests.conftest import SETTINGS


def test_healthz_and_readyz_answer_at_the_root_and_under_the_api(api):
    for path in ("/healthz", "/readyz", "/api/v1/healthz", "/api/v1/readyz"):
        response = api.client.simulate_get(path)
        assert response.status_code == 200, path
    assert api.client.simulate_get("/readyz").json["checks"] == {"postgres": "ok", "redis": "ok"}


def test_readyz_is_503_when_redis_is_unreachable():
    # Given an API whose Redis is a closed port
    unreachable = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    app = create_app(dataclasses.replace(SETTINGS, redis_url="redis://127.0.0.1:1/0"), unreachable)
    try:
        # When a load balancer asks, Then it is told not to route here, and why
        response = testing.TestClient(app).simulate_get("/readyz")
        assert response.status_code == 503
        assert response.json["checks"]["postgres"] == "ok"
        assert response.json["checks"]["redis"].startswith("error")
    finally:
        app.close()
