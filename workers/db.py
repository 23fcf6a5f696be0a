"""PostgreSQL access shared by workers and the scheduler: one pool per process, opened lazily.

Opening on first use (never at import) means a pool is never inherited across a fork, the
pitfall of preforking servers; numbers come back as floats so results serialise as JSON.
"""

import datetime as dt
import json
import threading

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import set_json_dumps
from psycopg.types.numeric import FloatLoader
from psycopg_pool import ConnectionPool


def json_default(value) -> str:
    """Timestamps as RFC 3339 in UTC (what the API promises); ids, dates, decimals as text."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return str(value)


def to_json(value) -> str:
    """JSON for every value a row can hold, in jobs, messages and jsonb parameters alike."""
    return json.dumps(value, default=json_default)


set_json_dumps(to_json)
# How long a pool keeps at one reconnection attempt (its delays double: 1 s, 2 s, ...) before
# starting over (keep_reconnecting), so a database that comes back is found within seconds.
RECONNECT_TIMEOUT_SECONDS = 3.0


def configure_connection(conn: psycopg.Connection) -> None:
    conn.adapters.register_loader("numeric", FloatLoader)


def keep_reconnecting(pool: ConnectionPool) -> None:
    """A pool's `reconnect_failed`: start a new attempt at once. psycopg_pool would otherwise
    wait for a new request before trying again, while the requests already waiting for a
    connection wait out their whole timeout, long after the database is back; and its backoff
    doubles without end (16 s, 32 s, ...) over a long outage."""
    pool.check()


class Database:
    """A pool of connections that commit each statement outside a `conn.transaction()` block:
    every change that needs a transaction opens one, and a lone statement (marking events
    published) costs one round trip, not three."""

    def __init__(self, url: str, max_size: int = 4, connect_timeout: int = 2):
        self.url = url
        self.max_size = max_size
        self.connect_timeout = connect_timeout
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.url, min_size=1, max_size=self.max_size, open=True,
                    kwargs={"row_factory": dict_row, "connect_timeout": self.connect_timeout,
                            "autocommit": True},
                    configure=configure_connection, reconnect_timeout=RECONNECT_TIMEOUT_SECONDS,
                    reconnect_failed=keep_reconnecting,
                    name="workers")
            return self._pool

    def connection(self):
        return self.pool.connection()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
