"""The Redis client every process uses, with limits from settings, so a lost server costs a
caller a quick error it can report, never a hang.

redis-py's own defaults would not do: a 5 s socket timeout shorter than the blocking calls we
make, and three retries with up to 10 s of backoff each when the server is down.
"""

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# One immediate retry on a fresh connection: a pooled connection that died with a Redis restart
# costs nothing, a Redis that is down is reported at once. Timeouts are not retried (a command
# that timed out may have run).
REDIS_RETRY = Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))


def connect_redis(settings) -> redis.Redis:
    """A Redis client (connecting lazily) for this deployment."""
    return redis.Redis.from_url(settings.redis_url, socket_timeout=settings.redis_socket_timeout,
                                socket_connect_timeout=settings.redis_connect_timeout,
                                retry=REDIS_RETRY)

