"""Liveness and readiness, for load balancers and orchestrators (no token needed)."""

import threading
import time

from api.openapi import Op
from api.schemas.health import Health as HealthSchema
from api.schemas.health import Readiness as ReadinessSchema

# Without these the API can serve nothing; without ChromaDB it serves everything but insights.
REQUIRED = ("postgres", "redis")
CHROMA_TIMEOUT_SECONDS = 1.0
# Readiness is public and unlimited: a flood of it asks the dependencies at most this often.
READINESS_MAX_AGE_SECONDS = 1.0


class Health:
    """Alive: answers at once and touches no dependency, so it stays true while they are down."""

    public = True
    openapi = {"get": Op("getHealth", "Liveness", response=HealthSchema, offline=True,
                         description="The process is up (checks no dependency).")}

    def __init__(self, documented: bool = True):
        if not documented:  # an alias of the documented path
            self.openapi = None

    def on_get(self, req, resp):
        resp.media = {"status": "ok"}


class DependencyChecks:
    """The dependencies' state, asked at most once per READINESS_MAX_AGE_SECONDS per process,
    however many ask: one thread probes while the others answer from the previous result, so
    a frozen dependency holds one thread for its timeout, not every caller's."""

    def __init__(self, probes: dict, clock=time.monotonic, max_age: float = READINESS_MAX_AGE_SECONDS):
        self.probes, self.clock, self.max_age = probes, clock, max_age
        self._latest: tuple[float, dict] | None = None  # (when, checks), replaced whole
        self._probing = threading.Lock()

    @classmethod
    def of(cls, db, redis, event_log) -> "DependencyChecks":
        def postgres():
            with db.reading(None):
                pass  # the pool's first statement on the connection is the probe

        return cls({"postgres": postgres, "redis": lambda: redis.ping(),
                    "chromadb": lambda: event_log.heartbeat(CHROMA_TIMEOUT_SECONDS)})

    def checks(self) -> dict:
        latest = self._latest
        if self._fresh(latest):
            return latest[1]
        if not self._probing.acquire(blocking=latest is None):
            return latest[1]
        try:
            latest = self._latest
            if not self._fresh(latest):
                latest = self._latest = (self.clock(), {name: check(probe) for name, probe in self.probes.items()})
            return latest[1]
        finally:
            self._probing.release()

    def _fresh(self, latest) -> bool:
        return latest is not None and self.clock() - latest[0] < self.max_age


def check(probe) -> str:
    try:
        probe()
    except Exception as error:  # any failure means not ready; the reason is reported
        return f"error: {type(error).__name__}"
    return "ok"


class Ready:
    """Ready when PostgreSQL and Redis both answer, each within its client's timeout; ChromaDB is
    checked and reported too, but only makes the answer `degraded` (insights unavailable)."""

    public = True
    openapi = {"get": Op("getReadiness", "Readiness", response=ReadinessSchema, unavailable=ReadinessSchema,
                         description="Whether PostgreSQL, Redis and ChromaDB answer: 200 `ok` or "
                                     "`degraded` (ChromaDB down: insights unavailable), 503 "
                                     "`unavailable` when PostgreSQL or Redis is down; `checks` "
                                     "says which.")}

    def __init__(self, dependencies: DependencyChecks, documented: bool = True):
        self.dependencies = dependencies
        if not documented:  # an alias of the documented path
            self.openapi = None

    def on_get(self, req, resp):
        checks = self.dependencies.checks()
        if any(checks[name] != "ok" for name in REQUIRED):
            resp.status, status = 503, "unavailable"
        else:
            status = "ok" if checks["chromadb"] == "ok" else "degraded"
        resp.media = {"status": status, "checks": checks}
