"""The API's read-only access: a pool logged in as challenges_api, one transaction per read
with the caller's id set, so Row Level Security scopes every query.

A read that cannot get a connection within `DATABASE_POOL_TIMEOUT` fails with PoolTimeout, which
the API answers as 503: a thread never waits on a database that is gone.
"""

from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from sql import queries
from workers.db import configure_connection

Q = queries("api")


class ReadDatabase:
    def __init__(self, url: str, size: int, *, timeout: float = 1.5, connect_timeout: int = 2):
        self.pool = ConnectionPool(url, min_size=1, max_size=size, open=False, name="api", timeout=timeout,
                                   kwargs={"row_factory": dict_row, "connect_timeout": connect_timeout},
                                   configure=configure_connection)

    @classmethod
    def for_settings(cls, settings) -> "ReadDatabase":
        return cls(settings.api_database_url, settings.api_pool_size,
                   timeout=settings.database_pool_timeout, connect_timeout=settings.database_connect_timeout)

    def open(self):
        self.pool.open(wait=False)

    def close(self):
        self.pool.close()

    @contextmanager
    def reading(self, caller_id: str | None):
        conn = self._begin(caller_id)
        try:
            yield conn
        except BaseException:
            self._end(conn, conn.rollback)
            raise
        self._end(conn, conn.commit)

    def _begin(self, caller_id: str | None):
        """A pooled connection in a new transaction, the caller set. A connection that died with
        a database restart fails on this first statement: it is dropped (the pool replaces it)
        and the next one tried, so a restart costs readers nothing once the database is back."""
        spares = self.pool.max_size
        while True:
            conn = self.pool.getconn()
            try:
                if caller_id:
                    Q.set_caller(conn, user_id=caller_id)
                else:
                    Q.ping(conn)
                return conn
            except psycopg.OperationalError:
                self.pool.putconn(conn)
                if not conn.broken or spares == 0:
                    raise
                spares -= 1

    def _end(self, conn, finish) -> None:
        try:
            finish()
        finally:
            self.pool.putconn(conn)
