"""SQL lives here: numbered migrations and named queries, loaded once by name with aiosql."""

from functools import cache
from pathlib import Path

import aiosql

SQL_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = SQL_DIR / "migrations"


@cache
def queries(name: str):
    """The named queries of `queries/<name>.sql` (e.g. "api", "workers", "jobs")."""
    return aiosql.from_path(SQL_DIR / "queries" / f"{name}.sql", "psycopg", mandatory_parameters=False)
