"""A worker's (or the scheduler's) statement on a PostgreSQL that froze mid-command is bounded:
after its statement timeout and a quarter second the connection is closed, the command's
transaction is rolled back by the server once it runs again, and the error is the kind Dramatiq
retries (workers.broker's TRANSIENT_ERRORS). A frozen server cancels nothing by itself."""

import signal
import time
import uuid
from contextlib import contextmanager

import psutil
import psycopg
import pytest

from core.db import ANSWER_MARGIN_SECONDS, Database
from tests.faults.harness import PostgresServer
from workers.broker import TRANSIENT_ERRORS

STATEMENT_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """A private PostgreSQL (the suite's shared one is never frozen), migrated."""
    server = PostgresServer(tmp_path_factory.mktemp("frozen-postgres")).init()
    yield server
    server.cleanup()


@contextmanager
def frozen(server: PostgresServer):
    postmaster = psutil.Process(int((server.data / "postmaster.pid").read_text().split()[0]))
    processes = [postmaster, *postmaster.children(recursive=True)]
    for process in processes:
        process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for process in processes:
            process.send_signal(signal.SIGCONT)


def test_a_command_on_a_frozen_postgresql_gives_up_after_its_bound_and_changes_nothing(postgres):
    # Given a worker's pool whose statements may run half a second, in the middle of a command
    db = Database(postgres.url, max_size=1, statement_timeout=STATEMENT_TIMEOUT)
    user_id = str(uuid.uuid4())
    try:
        with pytest.raises(psycopg.OperationalError) as raised:
            with db.connection() as conn, conn.transaction():
                conn.execute("INSERT INTO users (id, display_name) VALUES (%s, 'Frozen')", (user_id,))
                # When PostgreSQL freezes before the command's next statement
                with frozen(postgres):
                    started = time.monotonic()
                    try:
                        conn.execute("SELECT count(*) FROM users")
                    finally:
                        waited = time.monotonic() - started

        # Then the statement gave up after its bound, with an error Dramatiq retries
        assert STATEMENT_TIMEOUT <= waited < STATEMENT_TIMEOUT + ANSWER_MARGIN_SECONDS + 0.5, waited
        assert isinstance(raised.value, TRANSIENT_ERRORS)

        # And once PostgreSQL runs again, nothing of the command was kept and the pool serves on
        with db.connection() as conn:
            assert conn.execute("SELECT count(*) AS n FROM users WHERE id = %s", (user_id,)).fetchone() == {"n": 0}
    finally:
        db.close()
