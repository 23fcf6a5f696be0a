"""PostgreSQL access shared by workers and the scheduler: one pool per process, opened lazily.

Opening on first use (never at import) means a pool is never inherited across a fork, the
pitfall of preforking servers; numbers come back as floats so results serialise as JSON.
"""

import datetime as dt
import json
import logging
import threading
from functools import partial

import psycopg
from psycopg.connection import _WAIT_INTERVAL
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


# How much longer than the server's statement_timeout a client waits for an answer: past it,
# the server is not cancelling statements because it is not running at all (frozen, or its host
# is), and only the client can end the wait.
ANSWER_MARGIN_SECONDS = 0.25
# A session idle inside a transaction this many times its statement timeout is ended by the
# server, so a client that froze mid-transaction does not hold its row locks for good.
IDLE_IN_TRANSACTION_FACTOR = 4
# TCP keepalives (seconds) and libpq's tcp_user_timeout (ms): a peer whose host or network is gone
# is noticed in ~15 s even when no statement is waiting on it.
TCP_OPTIONS = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
               "tcp_user_timeout": 15_000}


class BoundedConnection(psycopg.Connection):
    """A connection that waits at most `answer_within` seconds for any answer of the server.

    statement_timeout is the server's own bound, and a server that is frozen (SIGSTOP, a stalled
    disk, a VM paused) enforces nothing while its kernel keeps the connection open. The wait
    that runs out leaves the protocol mid-exchange, so the connection is closed (a pool drops
    it) and the caller gets an OperationalError: 503 in the API, a retry in a worker."""

    answer_within: float | None = None

    def wait(self, gen, interval: float = _WAIT_INTERVAL, timeout: float | None = None):
        try:
            return super().wait(gen, interval, self.answer_within if timeout is None else timeout)
        except psycopg.errors._WaitTimeout:
            self.close()
            raise psycopg.OperationalError(
                f"PostgreSQL did not answer within {self.answer_within} s; connection closed") from None


def connection_kwargs(statement_timeout: float, connect_timeout: int) -> dict:
    """libpq keywords of a pooled connection whose statements run at most `statement_timeout`."""
    milliseconds = round(statement_timeout * 1000)
    return {"row_factory": dict_row, "connect_timeout": connect_timeout, "autocommit": True,
            "options": f"-c statement_timeout={milliseconds} "
                       f"-c idle_in_transaction_session_timeout={milliseconds * IDLE_IN_TRANSACTION_FACTOR}",
            **TCP_OPTIONS}


def configure_connection(conn: psycopg.Connection, statement_timeout: float | None = None) -> None:
    conn.adapters.register_loader("numeric", FloatLoader)
    conn.add_notice_handler(log_warning)
    if statement_timeout is not None:
        conn.answer_within = statement_timeout + ANSWER_MARGIN_SECONDS


SERVER_LOG = logging.getLogger("core.db")


def log_warning(notice: psycopg.errors.Diagnostic) -> None:
    """A WARNING the database raised for a statement (a user's time zone it does not know,
    counted as UTC: sql/migrations/0018): one log line. Lesser notices are not logged."""
    if notice.severity_nonlocalized == "WARNING":
        SERVER_LOG.warning("PostgreSQL: %s", notice.message_primary)


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

    def __init__(self, url: str, max_size: int = 4, connect_timeout: int = 2, statement_timeout: float = 30.0):
        self.url = url
        self.max_size = max_size
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.url, min_size=1, max_size=self.max_size, open=True, connection_class=BoundedConnection,
                    kwargs=connection_kwargs(self.statement_timeout, self.connect_timeout),
                    configure=partial(configure_connection, statement_timeout=self.statement_timeout),
                    reconnect_timeout=RECONNECT_TIMEOUT_SECONDS,
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
