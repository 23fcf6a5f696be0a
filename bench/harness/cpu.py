"""Who used the cores during a measurement. On 2 cores the load generator, the servers,
PostgreSQL and Redis all take from each other, so every rate is recorded with each party's share,
and with how busy the machine already was: others' load skews every number."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness.scratch import ADMIN_URL, REDIS_URL


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` (all its threads), from /proc/<pid>/stat; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot; idle and iowait count as not busy
    (guest time is already inside user time, so it is left out of the sum)."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


def machine_busy_percent(seconds: float = 1.0) -> float:
    """How busy the machine is over `seconds`, measured before a benchmark starts anything."""
    busy, total = machine_cpu_ticks()
    time.sleep(seconds)
    busy_after, total_after = machine_cpu_ticks()
    return round(100 * (busy_after - busy) / max(1, total_after - total), 1)


@dataclass
class CpuProbe:
    """Cores used during a measurement by each party: this process (the load generator), the
    servers under test, the benchmark database's PostgreSQL backends, Redis, and everything else
    (`other`: interrupt-time loopback networking, and any foreign process, such as somebody's
    test run, which would make the numbers low)."""

    database: str
    redis_pid: int

    @classmethod
    def of(cls, database_url: str) -> "CpuProbe":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        try:
            return cls(urlsplit(database_url).path.lstrip("/"), client.info("server")["process_id"])
        finally:
            client.close()

    def postgres_pids(self) -> list[int]:
        import psycopg

        with psycopg.connect(ADMIN_URL) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                (self.database,)).fetchall()
        return [pid for (pid,) in rows]

    def snapshot(self, servers: dict[str, list[int]]) -> dict[str, dict[int, float]]:
        groups = {**servers, "postgres": self.postgres_pids(), "redis": [self.redis_pid]}
        return {name: {pid: process_cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}

    @contextmanager
    def usage(self, servers: dict[str, list[int]]):
        """Fills the yielded dict when the block ends; `servers` names our server processes
        (e.g. {"api": [...], "worker": [...]}). A PostgreSQL backend that connected during the
        block (a pool growing) counts whole: all its CPU was spent inside it."""
        usage: dict = {}
        before = self.snapshot(servers)
        busy, total = machine_cpu_ticks()
        wall, client = time.perf_counter(), time.process_time()
        yield usage
        wall = time.perf_counter() - wall
        client = time.process_time() - client
        busy_after, total_after = machine_cpu_ticks()
        after = self.snapshot(servers)
        usage["client_cores"] = round(client / wall, 2)
        for name, seconds in after.items():
            spent = sum(cpu - before[name].get(pid, 0.0) for pid, cpu in seconds.items())
            usage[f"{name}_cores"] = round(spent / wall, 2)
        busy_share = (busy_after - busy) / max(1, total_after - total)
        parties = sum(usage.values())
        usage["other_cores"] = round(busy_share * os.cpu_count() - parties, 2)
        usage["machine_busy_percent"] = round(100 * busy_share, 1)


class BackendSampler:
    """CPU of the PostgreSQL backends that connect and exit inside a measurement (pgbench's, a
    command's): /proc forgets a process once it exits, so each is read every INTERVAL seconds
    while it lives and counted as last seen. What a backend spends in its last interval is lost:
    a few hundredths of a second each, about 1 % of a 15-second run."""

    INTERVAL = 0.2

    def __init__(self, probe: CpuProbe):
        self.probe, self.seen, self.running = probe, {}, True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.wall = 0.0

    def __enter__(self) -> "BackendSampler":
        self.wall = time.perf_counter()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.running = False
        self.thread.join()
        self.wall = time.perf_counter() - self.wall

    def _sample(self) -> None:
        while self.running:
            for pid in self.probe.postgres_pids():
                self.seen[pid] = max(self.seen.get(pid, 0.0), process_cpu_seconds(pid))
            time.sleep(self.INTERVAL)

    def cores(self) -> float:
        return round(sum(self.seen.values()) / self.wall, 2)


def cpu_ms_per_item(cpu: dict, server: str, per_second: float, item: str) -> dict:
    """CPU milliseconds each request (or job) cost the server alone, and the server with
    PostgreSQL and Redis. Steadier than rates on a shared VM, where the same work takes more
    or less wall time from one minute to the next."""
    stack = cpu[f"{server}_cores"] + cpu["postgres_cores"] + cpu["redis_cores"]
    return {f"{server}_cpu_ms_per_{item}": round(1000 * cpu[f"{server}_cores"] / per_second, 3),
            f"{server}_postgres_redis_cpu_ms_per_{item}": round(1000 * stack / per_second, 3)}


def cpu_text(cpu: dict) -> str:
    """`client 0.2 server 1.6 ... busy 98%`: every party's cores, then the machine's load."""
    cores = " ".join(f"{name[:-len('_cores')]} {value}" for name, value in cpu.items()
                     if name.endswith("_cores"))
    return f"{cores}  busy {cpu['machine_busy_percent']}%"
