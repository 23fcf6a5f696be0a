"""The systemd units of docs/ops/systemd, installed into this checkout: systemd's own checker
accepts them, and each service's ExecStart, run as systemd runs it (its WorkingDirectory, the
EnvironmentFile's variables, SIGTERM to stop), starts its process and stops within TimeoutStopSec.
systemd is not PID 1 here, so the units are run by the test rather than by systemd."""

import configparser
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from jobs.local_servers import free_port, wait_for_port
from tests.running import ROOT, environment

UNITS = ROOT / "docs" / "ops" / "systemd"
INSTALLED_AT = "/opt/workout-challenges"
ENVIRONMENT_FILE = "/etc/workout-challenges/env"
SERVICES = ("chroma", "web", "worker", "scheduler")


def installed(unit: Path, env_file: Path) -> str:
    """The unit as it would read installed into this checkout: its paths here, and no User= or
    Group= (there is no `challenges` account on a test machine)."""
    lines = unit.read_text().replace(f"{INSTALLED_AT}/.venv", str(Path(sys.executable).parent.parent))
    lines = lines.replace(INSTALLED_AT, str(ROOT)).replace(ENVIRONMENT_FILE, str(env_file))
    return "\n".join(line for line in lines.splitlines() if not line.startswith(("User=", "Group=")))


def service_section(text: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    return parser["Service"]


@pytest.fixture
def units(tmp_path):
    """Every unit installed into tmp_path, with an EnvironmentFile holding the test's settings."""
    env = environment(CHROMA_PORT=str(free_port()), CHROMA_PATH=str(tmp_path / "chroma"))
    env_file = tmp_path / "env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in env.items()
                                if name.isidentifier() and "\n" not in value))
    for unit in UNITS.glob("workout-challenges*"):
        (tmp_path / unit.name).write_text(installed(unit, env_file))
    return tmp_path, env


def test_systemd_accepts_every_unit(units):
    # Given the units installed into this checkout
    directory, _ = units
    paths = sorted(str(path) for path in directory.glob("workout-challenges*"))
    assert len(paths) == len(SERVICES) + 1

    # When systemd's own checker reads them
    checked = subprocess.run(["systemd-analyze", "verify", *paths], capture_output=True, text=True,
                             timeout=60)

    # Then it finds nothing to say (an unknown key or a missing program would be reported)
    assert checked.returncode == 0 and not (checked.stdout + checked.stderr).strip(), checked


def test_every_service_starts_as_systemd_runs_it_and_stops_on_sigterm(units):
    # Given each service's ExecStart and WorkingDirectory, and the EnvironmentFile's settings
    directory, env = units
    services = {name: service_section((directory / f"workout-challenges-{name}.service").read_text())
                for name in SERVICES}
    started = {}
    try:
        # When each is started in the units' order (the event log first)
        for name, service in services.items():
            started[name] = subprocess.Popen(
                shlex.split(service["ExecStart"]), cwd=service["WorkingDirectory"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

        # Then ChromaDB, the API (ready), the workers' and the scheduler's metrics all answer
        for port in (env["CHROMA_PORT"], env["PORT"], env["WORKER_METRICS_PORT"], env["SCHEDULER_METRICS_PORT"]):
            wait_for_port(int(port), f"port {port}", timeout=60)
        assert httpx.get(f"http://127.0.0.1:{env['PORT']}/readyz", timeout=5).status_code == 200
        assert all(process.poll() is None for process in started.values()), started
    finally:
        # And SIGTERM to each main process (KillMode=mixed) stops it within TimeoutStopSec
        for process in started.values():
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + int(services["web"]["TimeoutStopSec"])
        for name, process in started.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                subprocess.run(["pkill", "-KILL", "-s", str(process.pid)])
                pytest.fail(f"{name} did not stop within TimeoutStopSec")
