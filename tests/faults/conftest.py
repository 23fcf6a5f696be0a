"""Fixtures of the fault-injection suite: one set of private servers and one running system for
the whole session (starting them is most of a scenario's cost), and a per-test fixture that hands
each scenario a whole, working system whatever the previous one left behind.

This suite never touches the shared PostgreSQL and Redis: the two autouse fixtures of
tests/conftest.py that would (a per-session test database, the shared ChromaDB) are overridden
here by no-ops of the same names.

FAULTS_REPORT=path appends one JSON object per scenario to that file; FAULTS_KEEP=1 keeps the
temporary directory (server data and process logs) and prints where it is.
"""

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.faults import harness as h

RUN_ID = uuid.uuid4().hex[:8]
LOAD_USERS = 16
_STATE: dict = {}   # the session's servers and system, for the failure-report hook


@pytest.fixture(autouse=True)
def clean_state():
    """Overrides tests/conftest.py's: no shared test database, no wiping of the shared Redis."""
    yield


@pytest.fixture(scope="session", autouse=True)
def chroma():
    """Overrides tests/conftest.py's: the suite's ChromaDB is one of its private servers."""
    yield None


@pytest.fixture(scope="session")
def workdir():
    path = Path(tempfile.mkdtemp(prefix=f"wc-faults-{RUN_ID}-"))
    yield path
    if os.environ.get("FAULTS_KEEP"):
        print(f"\ntests/faults: kept {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def servers(workdir):
    """Private PostgreSQL (migrated), Redis (AOF) and ChromaDB that the tests may kill."""
    started = h.start_servers(workdir)
    _STATE["servers"] = started
    try:
        yield started
    finally:
        _STATE.pop("servers", None)
        started.cleanup()


@pytest.fixture(scope="session")
def probe_user():
    return h.new_user("Probe")


@pytest.fixture(scope="session")
def system(servers, workdir, probe_user):
    """The Procfile's web, worker and scheduler on the private servers, ready for commands."""
    running = h.System(h.system_env(servers, h.free_port(), RUN_ID), workdir / "logs")
    _STATE["system"] = running
    try:
        running.start()
        h.wait_for_system(running, probe_user)
        yield running
    finally:
        running.stop()
        _STATE.pop("system", None)


@pytest.fixture(scope="session")
def load_users(system):
    """The load generator's users, signed up once through the API."""
    return h.sign_up(system.base_url, [f"Load {n}" for n in range(LOAD_USERS)])


@pytest.fixture
def healthy(system, servers, probe_user, load_users):
    """A whole, working system for the scenario: every server up and none frozen, the worker not
    stopped, every process running and a command making the round trip. What had to be repaired
    is noted in `system.notes` (reported with the scenario): it is what the previous scenario
    left behind."""
    system.notes = []
    for name in h.thaw_all():
        system.notes.append(f"thawed {name}")
    if system.paused:
        for name in list(system.paused):
            system.resume(name)
            system.notes.append(f"resumed {name}")
    if not servers.redis.running:
        servers.redis.start()
        system.notes.append("started Redis")
    if not servers.postgres.running:
        servers.postgres.start()
        system.notes.append("started PostgreSQL")
    if not servers.chroma_running:
        servers.start_chroma()
        system.notes.append("started ChromaDB")
    for name, code in system.exited().items():
        system.restart(name, f"it had exited with {code}")
    try:
        took = h.wait_for_system(system, probe_user, timeout=30)
        if took > 2:
            system.notes.append(f"the system needed {took:.1f}s to answer as a working one")
    except RuntimeError as error:
        reason = str(error).splitlines()[0]
        system.restart("web", reason)
        system.restart("worker", reason)
        h.wait_for_system(system, probe_user, timeout=60)
    return system


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, the tails of every process's and server's log go with the report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and "faults" in str(item.fspath):
        running, started = _STATE.get("system"), _STATE.get("servers")
        if running is not None:
            report.sections.append(("process logs", running.log_tails()))
        if started is not None:
            report.sections.append(("server logs", "\n".join(
                f"----- {path.name} -----\n{h.tail(path, 20)}"
                for path in (started.postgres.log, started.redis.log))))


def pytest_terminal_summary(terminalreporter):
    if h.SUMMARIES:
        terminalreporter.section("fault scenarios")
        for line in h.SUMMARIES:
            terminalreporter.write_line(line)
