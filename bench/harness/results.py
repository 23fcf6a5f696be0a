"""A run's result file: bench/results/<benchmark>-<YYYYMMDD-HHMM>-<commit>.json, one per run,
never overwritten. Next to the numbers it keeps what they depend on and what a reader needs to
trust them: when the run started, the commit (and whether the tree had uncommitted changes), the
machine (how busy it already was included), the exact command line, and the problems that make
a number not mean what it says. BENCHMARKS.md quotes these files; nothing else holds figures."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

from bench.harness.cpu import machine_busy_percent
from bench.harness.scratch import ADMIN_URL, REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
BUSY_LIMIT_PERCENT = 10


def commit() -> dict:
    """HEAD, and whether the working tree differs from it (then the figures are not HEAD's)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "uncommitted_changes": bool(git("status", "--porcelain"))}


def machine(packages: tuple[str, ...], servers: bool = True) -> dict:
    """What the numbers depend on: the cores, how busy they already were (over one second, before
    anything of the run started), memory, Python, the packages named, and, when the benchmark
    uses them, the versions of the shared PostgreSQL and Redis."""
    cpuinfo, meminfo = Path("/proc/cpuinfo").read_text(), Path("/proc/meminfo").read_text()
    facts = {"busy_percent_before_run": machine_busy_percent(), "cpus": os.cpu_count(),
             "cpu_model": re.search(r"model name\s*:\s*(.*)", cpuinfo).group(1),
             "memory_gib": round(int(re.search(r"MemTotal:\s*(\d+)", meminfo).group(1)) / 2**20, 1),
             "kernel": platform.release(), "python": platform.python_version(),
             "packages": {name: importlib.metadata.version(name) for name in packages}}
    if servers:
        facts.update(service_versions())
    return facts


def service_versions() -> dict:
    import psycopg
    import redis

    with psycopg.connect(ADMIN_URL) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return {"postgres": postgres, "redis": client.info("server")["redis_version"]}
    finally:
        client.close()


class Run:
    """One run of a benchmark: its start, commit, machine and command line noted when it is
    created (before anything is measured), its numbers written by `finish`."""

    def __init__(self, benchmark: str, config: dict, packages: tuple[str, ...] = (), servers: bool = True):
        self.benchmark = benchmark
        self.started = dt.datetime.now(dt.timezone.utc)
        command = " ".join([Path(sys.orig_argv[0]).name, *sys.orig_argv[1:]])
        self.record = {"benchmark": benchmark, "run_at": self.started.isoformat(timespec="seconds"),
                       **commit(), "command": command, "config": config, "machine": machine(packages, servers)}

    @property
    def busy_before(self) -> float:
        return self.record["machine"]["busy_percent_before_run"]

    def finish(self, results: dict, problems: list[str] = ()) -> int:
        """Write the run's file and print its problems; the exit status: 1 when there are any.
        A machine already busy before the run is one: something else competed for the cores."""
        problems = list(problems)
        if self.busy_before > BUSY_LIMIT_PERCENT:
            problems.append(f"the machine was {self.busy_before}% busy before the run: something else "
                            "competes for the cores")
        stem = f"{self.benchmark}-{self.started.strftime('%Y%m%d-%H%M')}-{self.record['commit'][:7]}"
        path, number = RESULTS / f"{stem}.json", 2
        while path.exists():  # another run of this benchmark started in the same minute
            path, number = RESULTS / f"{stem}-{number}.json", number + 1
        path.write_text(json.dumps({**self.record, "results": results, "problems": problems}, indent=2) + "\n")
        print(f"wrote {path.relative_to(ROOT)}")
        for problem in problems:
            print(f"PROBLEM: {problem}", file=sys.stderr)
        return 1 if problems else 0
