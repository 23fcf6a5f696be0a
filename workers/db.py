"""PostgreSQL access shared by workers and the scheduler: one pool per process, opened lazily.

Opening on first use (never at import) means a pool is never inherited across a fork, the
pitfall of preforking servers; numbers come back as floats so results serialise as JSON.
"""

import json
import threading

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import set_json_dumps
from psycopg.types.numeric import FloatLoader
from psycopg_pool import ConnectionPool


def to_json(value) -> str:
    """JSON for every value a row can hold: ids, timestamps and decimals become strings."""
    return json.dumps(value, default=str)


set_json_dumps(to_json)


def configure_connection(conn: psycopg.Connection) -> None:
    conn.adapters.register_loader("numeric", FloatLoader)


class Database:
    def __init__(self, url: str, max_size: int = 4):
        self.url = url
        self.max_size = max_size
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.url, min_size=1, max_size=self.max_size, open=True,
                    kwargs={"row_factory": dict_row}, configure=configure_connection,
                    name="workers")
            return self._pool

    def connection(self):
        return self.pool.connection()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
