"""Rate limits, counted in Redis with the `limits` package (fixed windows), so every API process
shares one count: per user, separate budgets for mutations and reads, and for searches on top of
reads (a search costs far more than a read: api/resources/insights.py); per client address, a
budget of failed authentications (a flood of bad tokens, or a guess at them).

A limiter that cannot reach Redis lets requests through rather than failing them, and stops
asking for a few seconds so that a slow Redis costs reads nothing.
"""

import logging
import math
import time

import redis
from limits import parse
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter

from api.errors import Problem

log = logging.getLogger(__name__)
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PAUSE_AFTER_REDIS_FAILURE_SECONDS = 5.0
# A count answers in a millisecond: one that takes longer is not worth holding a request for
# (a frozen Redis would otherwise cost every request the client's whole socket timeout first).
REDIS_TIMEOUT_SECONDS = 0.25


class RateLimits:
    def __init__(self, settings, metrics):
        self.enabled = settings.rate_limit_enabled
        self.metrics = metrics
        pool = redis.ConnectionPool.from_url(settings.redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                             socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        storage = RedisStorage(settings.redis_url, connection_pool=pool, key_prefix=settings.key("rate-limit"))
        self.limiter = FixedWindowRateLimiter(storage)
        self.budgets = {"mutations": parse(settings.rate_limit_mutations),
                        "reads": parse(settings.rate_limit_reads),
                        "failed authentications": parse(settings.rate_limit_auth_failures),
                        "searches": parse(settings.rate_limit_search)}
        self.paused_until = 0.0

    def charge_request(self, method: str, user_id: str) -> None:
        """Count one request of the user's; 429 once their budget for its kind is spent."""
        self._charge("mutations" if method in MUTATING_METHODS else "reads", "user", user_id)

    def charge_search(self, user_id: str) -> None:
        """Count one search of the user's, on top of the read it also is; 429 once their
        budget of searches is spent."""
        self._charge("searches", "user", user_id)

    def charge_auth_failure(self, address: str | None) -> None:
        """Count a failed authentication from `address`; 429 (instead of 401) once its budget is
        spent. Requests with a valid token are not held back by it."""
        self._charge("failed authentications", "address", address or "unknown")

    def _charge(self, budget: str, *identifiers: str) -> None:
        if not self.enabled or time.monotonic() < self.paused_until:
            return
        limit = self.budgets[budget]
        try:
            if self.limiter.hit(limit, budget, *identifiers):
                return
            window = self.limiter.get_window_stats(limit, budget, *identifiers)
        except redis.RedisError as error:  # whatever ails Redis, the limiter is not worth a refusal
            self.paused_until = time.monotonic() + PAUSE_AFTER_REDIS_FAILURE_SECONDS
            log.warning("rate limits not applied for %.0f s: Redis unavailable: %s",
                        PAUSE_AFTER_REDIS_FAILURE_SECONDS, error)
            return
        self.metrics.refused(budget)
        raise too_many(budget, limit, window)


def too_many(budget: str, limit, window) -> Problem:
    reset = max(1, math.ceil(window.reset_time - time.time()))
    headers = {"Retry-After": str(reset), "RateLimit-Limit": str(limit.amount),
               "RateLimit-Remaining": str(window.remaining), "RateLimit-Reset": str(reset)}
    return Problem(429, "too_many_requests",
                   f"Too many {budget}: at most {limit.amount} per {window_text(limit)}; "
                   f"try again in {reset} s.", headers=headers)


def window_text(limit) -> str:
    unit = limit.GRANULARITY.name
    return unit if limit.multiples == 1 else f"{limit.multiples} {unit}s"
