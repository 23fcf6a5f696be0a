from api.db import Q
from api.openapi import Op
from api.schemas import Health as HealthSchema


class Health:
    public = True
    openapi = {"get": Op("The process is up.", response=HealthSchema)}

    def on_get(self, req, resp):
        resp.media = {"status": "ok"}


class Ready:
    """Ready when PostgreSQL and Redis both answer; load balancers route on this."""

    public = True
    openapi = {"get": Op("PostgreSQL and Redis are reachable.", response=HealthSchema, errors=(503,))}

    def __init__(self, db, redis):
        self.db, self.redis = db, redis

    def on_get(self, req, resp):
        checks = {"postgres": self._check(self._postgres), "redis": self._check(self.redis.ping)}
        ok = all(state == "ok" for state in checks.values())
        resp.status = 200 if ok else 503
        resp.media = {"status": "ok" if ok else "unavailable", "checks": checks}

    def _postgres(self):
        with self.db.reading(None) as conn:
            Q.ping(conn)

    @staticmethod
    def _check(probe) -> str:
        try:
            probe()
        except Exception as error:  # any failure means not ready; the reason is reported
            return f"error: {type(error).__name__}"
        return "ok"
