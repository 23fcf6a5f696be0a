"""Apply pending migrations with yoyo, one runner at a time.

yoyo records what ran and applies each file in its own transaction. Its own lock table is
created lazily, so two runners starting together could both try to create it; a Postgres
advisory lock held around the whole run makes concurrent `challenges migrate` calls queue
up instead, and the second one then finds nothing to do.
"""

import psycopg
from yoyo import get_backend, read_migrations

from sql import MIGRATIONS_DIR

MIGRATION_LOCK = 727_001


def yoyo_url(database_url: str) -> str:
    scheme, rest = database_url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in {"postgres", "postgresql"} else database_url


def migrate(database_url: str) -> list[str]:
    """Apply what has not been applied yet; returns the ids applied now (empty when up to date)."""
    with psycopg.connect(database_url, autocommit=True) as lock_conn:
        lock_conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        backend = get_backend(yoyo_url(database_url))
        try:
            pending = backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))
            with backend.lock():
                backend.apply_migrations(pending)
            return [migration.id for migration in pending]
        finally:
            backend.connection.close()
            lock_conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
