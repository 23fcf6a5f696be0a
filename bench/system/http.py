"""HTTP throughput of the Procfile's web process: `POST /challenges/accept/{id}` served by the
API, and its ceiling, bench/system/bare_app.py served by the same line with only the app swapped;
with how the keep-alive connections split between gunicorn's workers."""

from __future__ import annotations

import os
import time
from pathlib import Path

from api.gunicorn_conf import WORKER_READY as GUNICORN_READY
from bench.harness.cpu import CpuProbe, cpu_ms_per_item
from bench.harness.loadgen import run_load
from bench.harness.procfile import Command, local_bind, logged, pids_in, procfile_command, serving
from bench.system.fixture import accept_requests
from jobs.local_servers import free_port

API_APP = "api.app:gunicorn_app()"
BARE_APP = "bench.system.bare_app:app"


def web_command(env: dict, app: str = API_APP) -> Command:
    """The Procfile's web line (gunicorn's workers, threads and access log to stdout as
    shipped) on 127.0.0.1, serving `app`; `env` from web_environment (it has the PORT)."""
    return local_bind(procfile_command("web", env)).replacing(API_APP, app)


def web_environment(env: dict, port: int) -> dict:
    return {**env, "PORT": str(port)}


def server_side_inodes(port: int, client_ports: set[int]) -> set[str]:
    """Socket inodes of the server ends of our connections, from /proc/net/tcp."""
    inodes = set()
    with open("/proc/net/tcp") as table:
        for row in list(table)[1:]:
            fields = row.split()
            local_port, remote_port = (int(addr.rsplit(":", 1)[1], 16) for addr in fields[1:3])
            if local_port == port and remote_port in client_ports:
                inodes.add(fields[9])
    return inodes


def socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets `pid` holds open (fds closing meanwhile are skipped)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def connections_per_worker(port: int, client_ports: list[int], pids: list[int]) -> list[int]:
    """How many client connections each gunicorn worker accepted. Keep-alive connections stay
    with that worker for the whole run, so an uneven split caps throughput at one worker's."""
    deadline = time.monotonic() + 2
    while True:
        inodes = server_side_inodes(port, set(client_ports))
        counts = [len(socket_inodes(pid) & inodes) for pid in pids]
        if sum(counts) >= len(client_ports) or time.monotonic() > deadline:
            return sorted(counts, reverse=True)
        time.sleep(0.01)


def measure_http(port: int, ready_lines: list[str], warmup: list[bytes], measured: list[bytes],
                 probe: CpuProbe, args) -> dict:
    """Warm both workers up (pools, imports, caches), then measure with fresh connections."""
    pids = pids_in(ready_lines, r"pid=(\d+)")
    run_load(port, warmup, args.concurrency, args.max_seconds)
    split: list[int] = []
    with probe.usage({"server": pids}) as cpu:
        result = run_load(port, measured, args.concurrency, args.max_seconds,
                          on_connected=lambda ports: split.extend(connections_per_worker(port, ports, pids)))
    summary = result.summary()
    return {**summary, "connections_per_worker": split, "cpu": cpu,
            **cpu_ms_per_item(cpu, "server", summary["requests_per_second"], "request")}


def bench_bare(args, env: dict, log_dir: Path, probe: CpuProbe, pairs: list[tuple[str, str]]) -> dict:
    """The accept run's request bytes (paths, tokens), repeated as often as needed: the bare
    app keeps no state, and at its rate the accept run's count would be over in a second."""
    port = free_port()
    requests = accept_requests(port, pairs)
    wanted = args.warmup + args.bare_requests
    requests = (requests * (wanted // len(requests) + 1))[:wanted]
    web_env = web_environment(env, port)
    command = web_command(web_env, BARE_APP)
    with serving(command, web_env, log_dir / "bare.log",
                 logged(GUNICORN_READY, int(command.option("--workers")))) as (_, ready):
        return measure_http(port, ready, requests[:args.warmup], requests[args.warmup:], probe, args)

