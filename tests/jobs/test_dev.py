"""`challenges dev` as a developer runs it: a minute of the walk-through against it, then Ctrl-C.
The console stays readable (every line behind its process's name, few of them, none a warning
or an error, before or at the stop), the API listens on this machine only, and ChromaDB's own
output goes to var/chroma.log."""

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from jobs.dev import STOP_TIMEOUT, Printer
from jobs.local_servers import free_port, wait_for_port
from tests.conftest import SETTINGS, TEST_DB, empty_database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RUN_SECONDS = 60
MAX_LINES = 150
# Web and worker, then ChromaDB (no embedded servers here): each stage may take STOP_TIMEOUT.
SHUTDOWN_BUDGET = 2 * STOP_TIMEOUT
ALARMS = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback")
LOOPBACK = {"127.0.0.1", "::1"}
# What the test session's own processes read that a developer's shell would not have.
SESSION_ONLY = ("CHROMA_URL", "CHROMA_COLLECTION", "API_DATABASE_URL", "OUTBOX_GRACE_SECONDS",
                "PROMETHEUS_MULTIPROC_DIR", "ENVIRONMENT", "METRICS_PORT")


class Console:
    """What a process prints, line by line, as a terminal would show it."""

    def __init__(self, stream):
        self.lines, self.changed = [], threading.Condition()
        self.reader = threading.Thread(target=self.read, args=(stream,), daemon=True)
        self.reader.start()

    def read(self, stream) -> None:
        for raw in stream:
            with self.changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: any(text in line for line in self.lines), timeout):
                raise RuntimeError(f"no {text!r} on the console:\n" + "\n".join(self.lines[-40:]))

    @property
    def text(self) -> str:
        with self.changed:
            return "\n".join(self.lines)


@pytest.fixture
def dev_database_url():
    """A database of its own, which `challenges dev` migrates and seeds."""
    with empty_database(f"{TEST_DB}_dev") as url:
        yield url


@pytest.fixture
def dev_namespace(redis_client):
    """A Redis namespace of its own, so that the session's worker never takes its messages."""
    namespace = f"{SETTINGS.redis_namespace}:dev"
    yield namespace
    keys = list(redis_client.scan_iter(match=f"{namespace}:*", count=1000))
    if keys:
        redis_client.delete(*keys)


def start_dev(port: int, cwd: Path, **env: str) -> subprocess.Popen:
    environment = {name: value for name, value in os.environ.items() if name not in SESSION_ONLY}
    return subprocess.Popen([str(BIN / "challenges"), "dev", "--port", str(port)], cwd=cwd,
                            env={**environment, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def stop_everything(dev: subprocess.Popen) -> None:
    """After a failure: what `challenges dev` left running (its processes have sessions of their
    own, so killing it alone would not stop them)."""
    if dev.poll() is None:
        children = psutil.Process(dev.pid).children(recursive=True)
        dev.kill()
        for child in children:
            child.kill()
    dev.wait()


def listening_addresses(port: int) -> set[str]:
    return {conn.laddr.ip for conn in psutil.net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port}


def run_walkthrough(base_url: str, coach_token: str, environment: str) -> subprocess.CompletedProcess:
    """The walk-through in a shell where the README's export lines were pasted: ENVIRONMENT is the
    one `challenges dev` printed, not the test session's."""
    shell = {name: value for name, value in os.environ.items() if name != "ENVIRONMENT"}
    env = {**shell, "CHALLENGES": str(BIN / "challenges"), "COACH_TOKEN": coach_token, "ENVIRONMENT": environment}
    return subprocess.run(["bash", "docs/walkthrough.sh", base_url], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=100)


@pytest.mark.timeout(RUN_SECONDS + SHUTDOWN_BUDGET + 120)
def test_a_minute_of_the_walkthrough_leaves_a_calm_console_and_ctrl_c_stops_cleanly(
        tmp_path, dev_database_url, dev_namespace):
    # Given `challenges dev` started as a developer starts it, in a directory of its own (./var),
    # with a database and a Redis namespace of its own and ChromaDB started by it
    port = free_port()
    started = time.monotonic()
    dev = start_dev(port, tmp_path, DATABASE_URL=dev_database_url, REDIS_NAMESPACE=dev_namespace,
                    CHROMA_PATH=str(tmp_path / "chroma"))
    console = Console(dev.stdout)
    try:
        console.wait_for("Ctrl-C stops everything.", timeout=120)
        wait_for_port(port, "challenges dev's API", timeout=60)
        coach_token = re.search(r"^export COACH_TOKEN=(\S+)", console.text, re.MULTILINE).group(1)
        environment = re.search(r"^export ENVIRONMENT=(\S+)", console.text, re.MULTILINE).group(1)

        # When the walk-through runs against it with the coach token it printed, and it runs on
        # for a minute in all
        walkthrough = run_walkthrough(f"http://127.0.0.1:{port}/api/v1", coach_token, environment)
        api_addresses = listening_addresses(port)
        api_metrics = re.search(r"^metrics: +(\S+) \(API\)", console.text, re.MULTILINE).group(1)
        metrics_status = httpx.get(api_metrics, timeout=10).status_code
        public_metrics_status = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code
        time.sleep(max(0.0, started + RUN_SECONDS - time.monotonic()))
        # and then Ctrl-C
        dev.send_signal(signal.SIGINT)
        exit_code = dev.wait(timeout=SHUTDOWN_BUDGET)
    finally:
        stop_everything(dev)
    console.reader.join(timeout=10)
    lines = console.lines
    output = "\n".join(lines)

    # Then the walk-through went through, and the command stopped cleanly
    assert walkthrough.returncode == 0, f"{walkthrough.stderr[-3000:]}\n--- console:\n{output[-6000:]}"
    assert exit_code == 0, output[-6000:]
    # And the console says where the API, its docs and its metrics are, and the tokens to export
    assert f"http://127.0.0.1:{port}/api/v1/docs" in output
    # on a port of their own, not the API's
    assert (metrics_status, public_metrics_status) == (200, 404), api_metrics
    assert re.search(r"^export TOKEN=\S+$", output, re.MULTILINE)
    # And each process's lines come behind its name, the access log's readable, without colour
    # codes (this console is no terminal)
    assert re.search(r"^web +\| .*\bPOST /api/v1/challenges/create 201\b", output, re.MULTILINE), output
    for name in ("worker", "scheduler"):
        assert re.search(rf"^{name} +\| ", output, re.MULTILINE), output
    assert "\x1b[" not in output
    # And the console stayed calm: few lines, and not one warning or error, at the stop included
    by_process = {name: sum(1 for line in lines if re.match(rf"{name} +\| ", line))
                  for name in ("web", "worker", "scheduler", "chroma")}
    assert len(lines) < MAX_LINES, f"{len(lines)} lines ({by_process}):\n{output}"
    assert not [line for line in lines if ALARMS.search(line)], output
    # And the API listened on this machine only
    assert api_addresses and api_addresses <= LOOPBACK, api_addresses
    # And ChromaDB's output went to var/chroma.log, without a line per request
    chroma_log = (tmp_path / "var" / "chroma.log").read_text(errors="replace")
    assert str(tmp_path / "chroma") in chroma_log  # its banner says where its data is
    assert " INFO " not in chroma_log and "HTTP request" not in chroma_log, chroma_log[-3000:]


def test_process_names_are_coloured_on_a_terminal_only():
    # Given a printer for two processes, on a terminal and on a plain stream
    leader, follower = os.openpty()
    with open(follower, "w") as terminal:
        # When each prints a line
        Printer(["web", "worker"], terminal).write("web", "GET /api/v1/me 200")
        plain = io.StringIO()
        Printer(["web", "worker"], plain).write("web", "GET /api/v1/me 200")

    # Then the terminal's name is coloured, and the plain stream's is the name alone
    assert os.read(leader, 1000).decode() == "\x1b[36mweb    | \x1b[0mGET /api/v1/me 200\r\n"
    os.close(leader)
    assert plain.getvalue() == "web    | GET /api/v1/me 200\n"
