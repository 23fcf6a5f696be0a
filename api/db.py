"""The API's read-only access: a pool logged in as challenges_api, and every read sets the
caller's id on its connection first, so Row Level Security scopes every query.

The caller is a session setting, set by every read before anything else it runs (to nobody
when there is none), so a pooled connection never reads as the caller before. Reads run in
autocommit, without BEGIN and COMMIT, two of the four round trips a command's precheck used to
make: a SELECT-only role in READ COMMITTED sees the same either way (each statement takes its
own snapshot). Two round trips remain, the caller and the query: the caller cannot be set by
the query's own statement (the policies' `app_user_id()` may be evaluated before anything else
in it, as an index condition for one), and psycopg's pipeline mode, which sends both at once,
costs more CPU than the round trip it saves (it writes to the socket once per statement, and
once more to sync). The hottest read, a challenge command's precheck, takes one: `read_as` runs
a SQL function that sets the caller in its first statement and reads in its next.

A read never holds a thread on a database that is gone: it waits at most `DATABASE_POOL_TIMEOUT`
for a connection (PoolTimeout, answered as 503), and only QUICK_TIMEOUT_SECONDS while the pool
knows the database is unreachable (its last reconnection attempt failed, none succeeded since).
The pool keeps reconnecting (core.db.keep_reconnecting), so a database that comes back is
found within a couple of seconds.
"""

from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool

from core.db import (
    ANSWER_MARGIN_SECONDS, RECONNECT_TIMEOUT_SECONDS, BoundedConnection, configure_connection, connection_kwargs, keep_reconnecting)
from sql import queries

Q = queries("api")
QUICK_TIMEOUT_SECONDS = 0.1
# How long a quick read waits for PostgreSQL's answer: it is only worth it if it comes at once.
QUICK_ANSWER_SECONDS = 0.25


class ReadDatabase:
    def __init__(self, url: str, size: int, *, timeout: float, connect_timeout: int,
                 statement_timeout: float):
        self.timeout, self.statement_timeout, self.unreachable = timeout, statement_timeout, False
        self._time_zones: frozenset[str] | None = None
        self.pool = ConnectionPool(url, min_size=1, max_size=size, open=False, name="api", timeout=timeout,
                                   connection_class=BoundedConnection,
                                   kwargs=connection_kwargs(statement_timeout, connect_timeout),
                                   configure=self._connected, reconnect_timeout=RECONNECT_TIMEOUT_SECONDS,
                                   reconnect_failed=self._unreachable)

    def _connected(self, conn) -> None:
        self.unreachable = False
        configure_connection(conn, self.statement_timeout)

    def _unreachable(self, pool) -> None:
        self.unreachable = True
        keep_reconnecting(pool)

    @classmethod
    def for_settings(cls, settings) -> "ReadDatabase":
        return cls(settings.api_database_url, settings.api_pool_size,
                   timeout=settings.database_pool_timeout, connect_timeout=settings.database_connect_timeout,
                   statement_timeout=settings.api_statement_timeout)

    def open(self):
        self.pool.open(wait=False)

    def close(self):
        self.pool.close()

    @contextmanager
    def reading(self, caller_id: str | None, *, quick: bool = False):
        """A connection reading as `caller_id`. `quick`: for a read that is only worth doing
        if a connection is at hand and answers at once (it waits QUICK_TIMEOUT_SECONDS at most
        for one, QUICK_ANSWER_SECONDS for each answer)."""
        conn, _ = self._checkout(quick, Q.set_caller, user_id=caller_id or "")
        try:
            yield conn
        finally:
            self._give_back(conn)

    def time_zones(self) -> frozenset[str]:
        """The time zone names this PostgreSQL knows (pg_timezone_names, readable by any role),
        read once per process: its tzdata may be older than Python's, and a zone it does not
        know would fail every statement that counts in it. Two first reads at once both read,
        and agree."""
        if self._time_zones is None:
            with self.reading(None) as conn:
                self._time_zones = frozenset(row["name"] for row in Q.time_zone_names(conn))
        return self._time_zones

    def read_as(self, query, caller_id: str, **params):
        """What `query(conn, caller=caller_id, **params)` answers. The query must set the
        caller itself before it reads (sql/queries/api.sql says which do): one round trip."""
        conn, answer = self._checkout(False, query, caller=caller_id, **params)
        self._give_back(conn)
        return answer

    def _give_back(self, conn) -> None:
        """A connection closed while in use did not get its answer in time (BoundedConnection):
        until the pool connects again, reads wait for a connection only QUICK_TIMEOUT_SECONDS."""
        if conn.closed:
            self.unreachable = True
        self.pool.putconn(conn)

    def _checkout(self, quick: bool, first, **params):
        """A pooled connection and what `first`, the statement that sets the caller, answered
        on it. A connection that died with a database restart fails on that statement: it is
        dropped (the pool replaces it) and the next one tried, so a restart costs readers
        nothing once the database is back."""
        spares = self.pool.max_size
        while True:
            conn = self.pool.getconn(QUICK_TIMEOUT_SECONDS if quick or self.unreachable else self.timeout)
            conn.answer_within = QUICK_ANSWER_SECONDS if quick else self.statement_timeout + ANSWER_MARGIN_SECONDS
            try:
                answer = first(conn, **params)
            except BaseException as error:
                self._give_back(conn)
                if not isinstance(error, psycopg.OperationalError) or not conn.broken or spares == 0:
                    raise
                spares -= 1
                continue
            self.unreachable = False  # a pool growth refused ("too many clients") set it
            return conn, answer
