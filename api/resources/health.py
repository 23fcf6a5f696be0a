"""Liveness and readiness, for load balancers and orchestrators (no token needed)."""

from api.openapi import Op
from api.schemas import Health as HealthSchema
from api.schemas import Readiness

# Without these the API can serve nothing; without ChromaDB it serves everything but insights.
REQUIRED = ("postgres", "redis")
CHROMA_TIMEOUT_SECONDS = 1.0


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


class Ready:
    """Ready when PostgreSQL and Redis both answer, each within its client's timeout; ChromaDB is
    checked and reported too, but only makes the answer `degraded` (insights unavailable)."""

    public = True
    openapi = {"get": Op("getReadiness", "Readiness", response=Readiness, unavailable=Readiness,
                         description="Whether PostgreSQL, Redis and ChromaDB answer: 200 `ok` or "
                                     "`degraded` (ChromaDB down: insights unavailable), 503 "
                                     "`unavailable` when PostgreSQL or Redis is down; `checks` "
                                     "says which.")}

    def __init__(self, db, redis, event_log, documented: bool = True):
        self.db, self.redis, self.event_log = db, redis, event_log
        if not documented:  # an alias of the documented path
            self.openapi = None

    def on_get(self, req, resp):
        checks = {"postgres": self._check(self._postgres), "redis": self._check(self.redis.ping),
                  "chromadb": self._check(lambda: self.event_log.heartbeat(CHROMA_TIMEOUT_SECONDS))}
        if any(checks[name] != "ok" for name in REQUIRED):
            resp.status, status = 503, "unavailable"
        else:
            status = "ok" if checks["chromadb"] == "ok" else "degraded"
        resp.media = {"status": status, "checks": checks}

    def _postgres(self):
        with self.db.reading(None):
            pass  # the pool's first statement on the connection is the probe

    @staticmethod
    def _check(probe) -> str:
        try:
            probe()
        except Exception as error:  # any failure means not ready; the reason is reported
            return f"error: {type(error).__name__}"
        return "ok"
