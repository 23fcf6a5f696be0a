"""The API's read-only access: a pool logged in as challenges_api, one transaction per read
with the caller's id set, so Row Level Security scopes every query."""

from contextlib import contextmanager

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from sql import queries
from workers.db import configure_connection

Q = queries("api")


class ReadDatabase:
    def __init__(self, url: str, size: int):
        self.pool = ConnectionPool(url, min_size=1, max_size=size, open=False, name="api",
                                   kwargs={"row_factory": dict_row}, configure=configure_connection)

    def open(self):
        self.pool.open()

    def close(self):
        self.pool.close()

    @contextmanager
    def reading(self, caller_id: str | None):
        with self.pool.connection() as conn, conn.transaction():
            if caller_id:
                Q.set_caller(conn, user_id=caller_id)
            yield conn
