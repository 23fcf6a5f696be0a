"""The database's ceiling for `challenges.complete`: bench/system/complete.pgbench (the job's own
SQL, both of its transactions) under pgbench, on accepted challenges seeded here.

bench/system/run.py divides the system's complete jobs/s by this TPS: how much of what PostgreSQL
could do for these jobs the deployed system gets, with the broker, the worker's Python, the
event log and the API around it. pgbench runs as many clients as the worker holds database
connections, on the same 2 cores as everything else.
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
import time
from glob import glob
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness.cpu import BackendSampler, CpuProbe
from bench.harness.procfile import procfile_command
from bench.system.fixture import CHALLENGERS, settle_events

SCRIPT = Path(__file__).resolve().parent / "complete.pgbench"
# The challenge's target and the fixture's attempt, as in bench/system/fixture.py: the attempt wins.
TARGET = {"duration_minutes": 35, "total_volume": 10000, "volume_unit": "lb", "total_volume_kg": 4535.924}


def pgbench_binary() -> str:
    """pgbench on PATH, else the newest in Debian's PostgreSQL bin directories."""
    found = shutil.which("pgbench") or max(glob("/usr/lib/postgresql/*/bin/pgbench"), default=None,
                                            key=lambda path: int(Path(path).parts[-3]))
    if found is None:
        raise FileNotFoundError("pgbench is not installed (Debian: postgresql-client or the server package)")
    return found


def seed(conn, count: int) -> None:
    """`count` accepted challenges, each to its own athlete, challenge n from challenger n % 64
    (so the clients' side-by-side transactions settle games of different athletes, as in the
    fixture), with the ids complete.pgbench derives from its numbers (md5 of a prefix and the
    number). Plain SQL with generate_series: the rows the workers' rules would make (the
    triggers write each one's notification and event), in seconds."""
    target = json.dumps(TARGET)
    with conn.transaction():
        conn.execute("INSERT INTO users (id, display_name) SELECT md5('pgbench-challenger-' || c)::uuid, "
                     "'Pgbench Challenger ' || c FROM generate_series(0, %s) c", (CHALLENGERS - 1,))
        conn.execute("INSERT INTO users (id, display_name) SELECT md5('pgbench-athlete-' || n)::uuid, "
                     "'Pgbench Athlete ' || n FROM generate_series(1, %s) n", (count,))
        conn.execute("""
            INSERT INTO workout_challenges (id, from_user_id, to_user_id, workout_name, workout_data,
                                            challenger_stats, status, accepted_at, expires_at)
            SELECT md5('pgbench-challenge-' || n)::uuid, md5('pgbench-challenger-' || n %% %(challengers)s)::uuid,
                   md5('pgbench-athlete-' || n)::uuid, 'Beast Mode Legs', %(target)s::jsonb,
                   %(target)s::jsonb, 'accepted', now(), now() + interval '7 days'
              FROM generate_series(1, %(count)s) n""", {"target": target, "count": count, "challengers": CHALLENGERS})


def connection_args(database_url: str) -> list[str]:
    parts = urlsplit(database_url)
    return ["-h", parts.hostname, "-p", str(parts.port or 5432), "-U", parts.username or "postgres",
            parts.path.lstrip("/")]


def run(database_url: str, clients: int, seconds: int) -> dict:
    """`pgbench -n -M prepared -f bench/system/complete.pgbench -c clients -j 2 -T seconds`: TPS,
    latency, and pgbench's own CPU (it shares the cores with the PostgreSQL backends)."""
    command = [pgbench_binary(), "-n", "-M", "prepared", "-D", f"clients={clients}", "-D", "round=0",
               "-f", str(SCRIPT), "-c", str(clients), "-j", "2", "-T", str(seconds),
               *connection_args(database_url)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    output = finished.stdout + finished.stderr
    return {"command": " ".join(command[:-len(connection_args(database_url))]) + " <database>",
            "exit_status": finished.returncode, **parse(output),
            "pgbench_cores": round(cpu / wall, 2), "output_tail": output.strip().splitlines()[-12:]}


def parse(output: str) -> dict:
    """pgbench's summary lines: transactions, TPS without connection time, average latency."""
    def number(pattern: str):
        found = re.search(pattern, output)
        return float(found.group(1)) if found else None

    processed = number(r"number of transactions actually processed: (\d+)")
    tps = number(r"tps = ([\d.]+) \(without initial connection time\)")
    return {"transactions": processed and int(processed), "tps": tps and round(tps, 1),
            "latency_average_ms": number(r"latency average = ([\d.]+) ms"),
            "aborted": "aborted" in output}


def worker_connections(env: dict) -> int:
    """How many database connections the Procfile's worker can hold at once: each process's
    pool (WORKER_POOL_SIZE) or its threads, whichever is fewer."""
    from core.settings import Settings

    worker = procfile_command("worker", env)
    threads = min(int(worker.option("--threads")), Settings.from_env().worker_pool_size)
    return int(worker.option("--processes")) * threads


def measure(args, database_url: str, env: dict, probe: CpuProbe) -> dict:
    """complete.pgbench on `pgbench_challenges` accepted challenges seeded next to the
    fixture's, with every Procfile process stopped: PostgreSQL doing only this work."""
    import psycopg

    clients = args.pgbench_clients or worker_connections(env)
    with psycopg.connect(database_url) as conn:
        seed(conn, args.pgbench_challenges)
    settle_events(database_url)
    with BackendSampler(probe) as backends, probe.usage({}) as cpu:
        result = run(database_url, clients, args.pgbench_seconds)
    # pgbench and its backends were gone before usage() looked: theirs is counted here instead
    # of in `other`.
    sampled = {"pgbench_cores": result.pop("pgbench_cores"), "postgres_cores": backends.cores()}
    unseen = sampled["pgbench_cores"] + sampled["postgres_cores"] - cpu["postgres_cores"]
    cpu = {**cpu, **sampled, "other_cores": round(cpu["other_cores"] - unseen, 2)}
    return {**result, "clients": clients, "seconds": args.pgbench_seconds,
            "challenges_seeded": args.pgbench_challenges, "cpu": cpu}
