"""Every read sets its caller on its pooled connection before anything else: the next read on the
same connection never sees what the previous caller could."""

import time

import psycopg
import pytest

from api.db import Q, ReadDatabase
from tests.conftest import SETTINGS


@pytest.fixture
def one_connection(database):
    """The API's reads on a pool of one connection, so every read reuses the one before's."""
    db = ReadDatabase(SETTINGS.api_database_url, 1, timeout=SETTINGS.database_pool_timeout,
                      connect_timeout=SETTINGS.database_connect_timeout,
                      statement_timeout=SETTINGS.api_statement_timeout)
    db.open()
    yield db
    db.close()


def test_a_read_after_the_callers_own_sees_only_what_its_caller_may(one_connection, cast, pending):
    # Given Sarah has read the challenge John sent her
    with one_connection.reading(cast.sarah) as conn:
        assert Q.get_challenge(conn, id=pending) is not None

    # When Mike, and then a read with no caller, read it on the same connection
    with one_connection.reading(cast.mike) as conn:
        as_mike = Q.get_challenge(conn, id=pending)
    with one_connection.reading(None) as conn:
        as_nobody = Q.get_challenge(conn, id=pending)

    # Then neither finds it
    assert as_mike is None and as_nobody is None


def test_a_read_that_failed_leaves_nothing_to_the_next(one_connection, cast, pending):
    # Given Sarah's read failed halfway (a statement the API's role may not run)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), one_connection.reading(cast.sarah) as conn:
        conn.execute("SELECT * FROM events")

    # When Mike reads her challenge on the same connection, and then Sarah again
    with one_connection.reading(cast.mike) as conn:
        as_mike = Q.get_challenge(conn, id=pending)
    with one_connection.reading(cast.sarah) as conn:
        as_sarah = Q.get_challenge(conn, id=pending)

    # Then he finds nothing of hers, and she finds it: the connection serves on as usual
    assert as_mike is None and as_sarah is not None


def test_a_precheck_in_one_statement_reads_as_its_own_caller(one_connection, cast, pending):
    # Given Sarah's precheck of the challenge John sent her has just run on the connection
    as_sarah = one_connection.read_as(Q.challenge_state_as, cast.sarah, id=pending)

    # When Mike's precheck of the same challenge, and then a plain read with no caller, follow
    as_mike = one_connection.read_as(Q.challenge_state_as, cast.mike, id=pending)
    with one_connection.reading(None) as conn:
        as_nobody = Q.get_challenge(conn, id=pending)

    # Then Sarah saw it pending, and neither Mike nor nobody sees anything of it
    assert as_sarah["status"] == "pending" and as_sarah["withdrawn_at"] is None
    assert as_mike is None and as_nobody is None


def test_a_precheck_that_failed_gives_its_connection_back(one_connection, cast):
    # Given a precheck whose id PostgreSQL refuses (the pool holds one connection)
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        one_connection.read_as(Q.challenge_state_as, cast.sarah, id="not-a-uuid")

    # When the next read asks for a connection
    with one_connection.reading(cast.sarah) as conn:
        answer = conn.execute("SELECT app_user_id()::text AS caller").fetchone()

    # Then it gets the one connection at once, reading as its own caller
    assert answer["caller"] == cast.sarah


def test_a_read_is_cancelled_by_the_server_past_the_apis_statement_timeout(one_connection):
    # Given the API's read pool, whose statements may run API_STATEMENT_TIMEOUT (1 s)
    started = time.monotonic()

    # When a read runs longer than that
    with pytest.raises(psycopg.errors.QueryCanceled):
        with one_connection.reading(None) as conn:
            conn.execute("SELECT pg_sleep(5)")

    # Then PostgreSQL cancels it after about a second, and the connection serves the next read
    assert time.monotonic() - started < SETTINGS.api_statement_timeout + 1.0
    with one_connection.reading(None) as conn:
        assert conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}
