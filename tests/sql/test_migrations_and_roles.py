"""Migrations (idempotent, safe in parallel) and the API's read-only, row-scoped role."""

import threading
import uuid

import psycopg
import pytest
from psycopg.rows import dict_row

from sql.migrate import migrate
from tests.conftest import SETTINGS, empty_database
from tests.core.rules.factories import pair, pending_challenge, user, workout


@pytest.fixture
def fresh_database():
    with empty_database(f"wc_test_mig_{uuid.uuid4().hex[:8]}") as url:
        yield url


def test_two_migrations_at_once_apply_everything_once(fresh_database):
    # Given a fresh database, When two runners migrate it at the same time
    results, errors = [], []

    def run():
        try:
            results.append(migrate(fresh_database))
        except Exception as error:  # collected to fail the test below with its message
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then both succeed, one applied every migration and the other found nothing to do
    assert errors == []
    assert sorted(map(len, results)) == [0, len(max(results, key=len))] and max(map(len, results)) >= 4
    assert migrate(fresh_database) == []


def as_api(caller: str):
    conn = psycopg.connect(SETTINGS.api_database_url, row_factory=dict_row)
    conn.execute("SELECT set_config('app.user_id', %s, false)", (caller,))
    return conn


def test_the_api_role_cannot_write(conn):
    john = user(conn, "John")
    conn.commit()
    with as_api(john) as api_conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            api_conn.execute("UPDATE users SET display_name = 'hacked'")


def test_row_level_security_hides_other_peoples_rows_even_without_a_where(conn):
    # Given John and Sarah with a challenge between them, and Mallory with her own workout
    john, sarah = pair(conn)
    pending_challenge(conn, john, sarah)
    mallory = user(conn, "Mallory")
    workout(conn, mallory)
    conn.commit()

    # When Mallory's API transaction reads whole tables
    with as_api(mallory) as api_conn:
        def rows(table):
            return api_conn.execute(f"SELECT * FROM {table}").fetchall()

        # Then she sees only her own rows
        assert rows("workout_challenges") == []
        assert rows("challenge_notifications") == []
        assert [str(r["user_id"]) for r in rows("workout_logs")] == [mallory]
        assert [str(r["user_id"]) for r in rows("activity_feed")] == [mallory]
        assert rows("friendships") == []

    # and Sarah sees the challenge she is part of
    with as_api(sarah) as api_conn:
        assert len(api_conn.execute("SELECT * FROM workout_challenges").fetchall()) == 1
