"""What the database benchmarks share: numbered users (the seeds write user n with a fixed id, so
the callers are known without reading them back) and the API's reads timed as the API runs them:
logged in as `challenges_api`, `app.user_id` set, Row Level Security on."""

from __future__ import annotations

import time

import psycopg
from psycopg.rows import dict_row

from bench.harness.stats import summary
from core.db import configure_connection
from core.settings import API_ROLE, with_user
from sql import queries

Q = queries("api")
# A challenge's target and an attempt that beats its time, as the seeds write them (jsonb).
TARGET = '{"duration_minutes": 30, "total_volume": 10000, "volume_unit": "lb", "total_volume_kg": 4535.924}'
ATTEMPT = '{"duration_minutes": 28, "total_volume": 9000, "volume_unit": "lb", "total_volume_kg": 4082.3}'


def user_id_sql(number: str) -> str:
    """SQL for the id of user `number` (an SQL expression), as user_id() spells it."""
    return f"('00000000-0000-4000-8000-' || lpad(({number})::text, 12, '0'))::uuid"


def user_id(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def spread_callers(users: int, sample: int) -> list[str]:
    """About `sample` users spread evenly over the numbers 1 to `users`."""
    return [user_id(number) for number in range(1, users + 1, max(1, users // sample))]


def owner_connection(url: str):
    """A connection as the database's owner (Row Level Security does not apply), autocommit."""
    conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)
    configure_connection(conn)
    return conn


def timed(conn, caller: str, read) -> float:
    """One read in its own transaction as `caller`, in milliseconds."""
    with conn.transaction():
        Q.set_caller(conn, user_id=caller)
        started = time.perf_counter()
        read(conn, caller)
        return (time.perf_counter() - started) * 1000


def time_reads(url: str, callers: list[str], reads: dict) -> dict:
    """p50/p99 of each read for the callers, as the API runs it (its role, RLS on), after a
    warm-up of the caches and the prepared plans."""
    with psycopg.connect(with_user(url, API_ROLE), row_factory=dict_row) as conn:
        configure_connection(conn)
        for caller in callers[:5]:
            for read in reads.values():
                timed(conn, caller, read)
        return {name: summary([timed(conn, caller, read) for caller in callers]) for name, read in reads.items()}
