"""The services every process talks to: the Redis client, with limits from settings, so a lost
server costs a caller a quick error it can report, never a hang; and which errors mean that a
service cannot be reached, named as the API names it in a 503.

redis-py's own defaults would not do: a 5 s socket timeout shorter than the blocking calls we
make, and three retries with up to 10 s of backoff each when the server is down.
"""

import httpx
import psycopg
import psycopg_pool
import redis
from redis.backoff import NoBackoff
from redis.exceptions import OutOfMemoryError, ReadOnlyError
from redis.retry import Retry

from core.event_log import EventLogUnavailable

# Down, restarting, loading its data (BusyLoadingError is a ConnectionError), or refusing writes
# (a replica after a failover, out of memory): the service, not the request, is at fault.
UNAVAILABLE = {
    "postgres": (psycopg.OperationalError, psycopg_pool.PoolTimeout),
    "redis": (redis.ConnectionError, redis.TimeoutError, ReadOnlyError, OutOfMemoryError),
    "chromadb": (EventLogUnavailable, httpx.TransportError),
}


def unavailable_service(error: BaseException) -> str | None:
    """The service `error` says cannot be reached, or None when it says something else."""
    return next((name for name, errors in UNAVAILABLE.items() if isinstance(error, errors)), None)


# One immediate retry on a fresh connection: a pooled connection that died with a Redis restart
# costs nothing, a Redis that is down is reported at once. Timeouts are not retried (a command
# that timed out may have run).
REDIS_RETRY = Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))


def connect_redis(settings) -> redis.Redis:
    """A Redis client (connecting lazily) for this deployment."""
    return redis.Redis.from_url(settings.redis_url, socket_timeout=settings.redis_socket_timeout,
                                socket_connect_timeout=settings.redis_connect_timeout,
                                retry=REDIS_RETRY)
