"""What a benchmark creates on this machine and removes again, also on an error or Ctrl-C: a
database of its own on the shared PostgreSQL, the keys of a Redis namespace of its own, a
ChromaDB server of its own. The shared servers themselves are only ever used, never touched."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from jobs.local_servers import ChromaServer, free_port

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"


def admin_execute(statement: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(statement)


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new database `<prefix>_<random>`, migrated; yields its URL. Dropped WITH (FORCE) at the
    end, so a connection left open cannot keep it."""
    from sql.migrate import migrate

    database = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin_execute(f'CREATE DATABASE "{database}"')
    try:
        url = ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
        migrate(url)
        yield url
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def delete_keys(pattern: str) -> None:
    """Delete the keys matching `pattern`; benchmarks only ever pass their own namespace."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
    finally:
        client.close()


@contextmanager
def scratch_chroma() -> Iterator[ChromaServer]:
    """`chroma run` on a free port over a temporary directory; stopped and its data removed at the end."""
    chroma = ChromaServer(free_port())
    try:
        yield chroma.start()
    finally:
        chroma.stop()
        chroma.remove()
