"""One run, on this machine, of the system as deployed: every Procfile process (web, worker,
scheduler, chroma) started from its own Procfile line with the shipped defaults
(bench/harness/procfile.py), the event log's embedding included.

1. `POST /api/v1/challenges/accept/{id}` served by the Procfile's web process. Every request
   accepts a different pending challenge, so each one passes the API's precheck, enqueues a job
   and answers 202: the whole path a client pays for (bench/system/http.py).
2. The ceiling: bench/system/bare_app.py, the same route answering 202 and nothing else, served
   by the same Procfile line with only the app swapped, the same client and concurrency.
   accept/bare says how much of the budget is ours.
3. `challenges.complete` end to end (bench/system/jobs.py): submitted through the API, done when
   the job has succeeded AND its event is in the event log (`events.indexed_at`, set in the
   transaction that put it in ChromaDB). Queued first (the queue filled before the worker
   starts), one at a time on an idle system (202 to done), and a batch submitted while the
   worker runs.
4. The same with the `event_log` queue left unconsumed: the worker's `--queues` names every other
   queue, and done is the job succeeding. with / without is what the event log costs.
5. PostgreSQL's ceiling for the same jobs: bench/system/complete.pgbench, the job's own SQL,
   under pgbench with as many clients as the worker has database connections. jobs/s / TPS.
6. The embedding's sentences/s (bench/event_log/embeddings.py), once every server has stopped.

Next to each number: which process used how much of the machine's cores, since on 2 cores the
load generator, the servers, PostgreSQL and Redis all take from each other.

Everything it touches is its own: a new database and Redis namespace, servers on free ports of
127.0.0.1, ChromaDB's data in a temporary directory, all removed at the end, also on error,
Ctrl-C or SIGTERM. From the repository root:

    python -m bench.system.run              # defaults: 16 connections, 8000 accepts, 500 jobs
    python -m bench.system.run --help
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from api.gunicorn_conf import WORKER_READY as GUNICORN_READY
from bench.event_log import embeddings
from bench.harness.cpu import CpuProbe, cpu_text
from bench.harness.procfile import (isolated_environment, listening, logged, pids_in, print_logs,
                                    procfile_command, serving)
from bench.harness.results import Run
from bench.harness.scratch import REDIS_URL, delete_keys, scratch_database
from bench.system import pgbench_complete
from bench.system.fixture import accept_requests, seed, settle_events
from bench.system.http import bench_bare, measure_http, web_command, web_environment
from bench.system.jobs import FLOWS, Deployment, Flow, bench_jobs, jobs_needed
from jobs.local_servers import free_port

SCHEDULER_READY = "scheduler starting"
PACKAGES = ("falcon", "gunicorn", "dramatiq", "psycopg", "redis", "chromadb")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=16,
                        help="client connections (threads) for every load run")
    parser.add_argument("--requests", type=int, default=8000,
                        help="measured accepts (each needs its own pending challenge)")
    parser.add_argument("--bare-requests", type=int, default=30000,
                        help="measured requests to the bare app (it is several times faster)")
    parser.add_argument("--warmup", type=int, default=300,
                        help="unmeasured requests before each HTTP run")
    parser.add_argument("--max-seconds", type=float, default=30.0,
                        help="stop any load run after this long")
    parser.add_argument("--jobs", type=int, default=500,
                        help="complete jobs queued before the worker starts, and again in the batch "
                             "(for each of the two workers)")
    parser.add_argument("--idle-jobs", type=int, default=30,
                        help="complete jobs sent one at a time to an idle system")
    parser.add_argument("--idle-gap", type=float, default=0.25,
                        help="seconds the system idles before each one-at-a-time job")
    parser.add_argument("--job-timeout", type=float, default=120.0,
                        help="give up waiting for submitted jobs after this long")
    parser.add_argument("--worker-processes", type=int, default=None,
                        help="WORKER_PROCESSES (default: unset, the Procfile's)")
    parser.add_argument("--worker-threads", type=int, default=None,
                        help="WORKER_THREADS (default: unset, the Procfile's)")
    parser.add_argument("--pgbench-seconds", type=int, default=15, help="pgbench -T")
    parser.add_argument("--pgbench-clients", type=int, default=None,
                        help="pgbench -c (default: the worker's database connections, processes x "
                             "min(threads, WORKER_POOL_SIZE))")
    parser.add_argument("--pgbench-challenges", type=int, default=40000,
                        help="accepted challenges seeded for pgbench: at least its TPS x seconds")
    return parser.parse_args()



def isolate_environment(database_url: str, namespace: str, chroma_port: int, chroma_path: str, args) -> dict:
    """Point this process and every Procfile process at the run's database, namespace and
    ChromaDB, with nothing else of the caller's deployment settings (isolated_environment).

    Done before anything imports `workers`: its runtime reads the environment once, on import.
    API_DATABASE_URL goes with the other settings, so the API derives its read-only URL from this
    database. A production secret of its own (the development one stops every process), the
    API's metrics on a free port rather than the shipped 9190; WORKER_PROCESSES and
    WORKER_THREADS only when asked for.
    """
    overrides = {"WORKER_PROCESSES": args.worker_processes, "WORKER_THREADS": args.worker_threads}
    env = isolated_environment(
        JWT_SECRET=secrets.token_hex(32), METRICS_PORT=str(free_port()),
        DATABASE_URL=database_url, REDIS_URL=REDIS_URL, REDIS_NAMESPACE=namespace,
        CHROMA_URL=f"http://127.0.0.1:{chroma_port}", CHROMA_COLLECTION=namespace,
        CHROMA_PORT=str(chroma_port), CHROMA_PATH=chroma_path, ANONYMIZED_TELEMETRY="False",
        **{name: str(value) for name, value in overrides.items() if value is not None})
    os.environ.clear()
    os.environ.update(env)
    return env


def deployed(env: dict, web_env: dict) -> dict:
    """The Procfile lines as this run expanded them, and the embedding every process used."""
    from core.settings import Settings

    commands = [web_command(web_env), *(procfile_command(name, env) for name in ("worker", "scheduler", "chroma"))]
    return {"procfile": {command.name: command.line() for command in commands},
            "embedding_function": Settings.from_env().embedding_function}


def measure(args, database_url: str, env: dict, log_dir: Path, chroma_pid: int) -> dict:
    started = time.perf_counter()
    fixture = seed(database_url, args.warmup + args.requests, len(FLOWS) * jobs_needed(args))
    settled = settle_events(database_url)
    seconds_to_seed = round(time.perf_counter() - started, 1)
    probe = CpuProbe.of(database_url)
    results = {"bare_202": bench_bare(args, env, log_dir, probe, fixture.pending)}
    web_env = web_environment(env, free_port())
    web, scheduler = web_command(web_env), procfile_command("scheduler", env)
    api_port = int(web_env["PORT"])
    results["deployed"] = deployed(env, web_env)
    with serving(web, web_env, log_dir / "api.log",
                 logged(GUNICORN_READY, int(web.option("--workers")))) as (_, ready), \
            serving(scheduler, env, log_dir / "scheduler.log", logged(SCHEDULER_READY)) as (scheduler_pid, _):
        requests = accept_requests(api_port, fixture.pending)
        results["accept"] = measure_http(api_port, ready, requests[:args.warmup],
                                         requests[args.warmup:], probe, args)
        deployment = Deployment(env, log_dir, probe, api_port, database_url,
                                {"api": pids_in(ready, r"pid=(\d+)"), "chroma": [chroma_pid],
                                 "scheduler": [scheduler_pid]})
        share = jobs_needed(args)
        results["complete_jobs"] = {
            flow.name: bench_jobs(args, flow, deployment, fixture.accepted[number * share:(number + 1) * share])
            for number, flow in enumerate(FLOWS)}
    results["pgbench"] = pgbench_complete.measure(args, database_url, env, probe)
    results["embedding"] = embeddings.measure()
    results["ratios"] = ratios(results)
    results["seed"] = {"pending_challenges": len(fixture.pending),
                       "accepted_challenges": len(fixture.accepted), "events_settled": settled,
                       "seconds": seconds_to_seed}
    return results


def ratio(numerator, denominator):
    return round(numerator / denominator, 3) if numerator and denominator else None


def ratios(results: dict) -> dict:
    """accept / bare; with / without the event log (what indexing costs the commands); and the
    system's complete jobs/s over pgbench's TPS for the same SQL (what of PostgreSQL's ceiling
    the deployed system gets)."""
    jobs, tps = results["complete_jobs"], results["pgbench"]["tps"]
    parts = ("drain", "batch")
    return {
        "accept_vs_bare": ratio(results["accept"]["requests_per_second"],
                                results["bare_202"]["requests_per_second"]),
        "with_vs_without_event_log": {part: ratio(jobs["with_event_log"][part]["jobs_per_second"],
                                                  jobs["without_event_log"][part]["jobs_per_second"])
                                      for part in parts},
        "complete_vs_pgbench": {f"{flow}.{part}": ratio(jobs[flow][part]["jobs_per_second"], tps)
                                for flow in jobs for part in parts},
    }


def problems(results: dict) -> list[str]:
    """Anything that makes the numbers not mean what the table says."""
    found = []
    for name in ("bare_202", "accept"):
        run = results[name]
        if run["statuses"] != {"202": run["requests"]} or run["errors"]:
            found.append(f"{name}: not every request answered 202: {run['statuses']}, "
                         f"{run['errors']} errors {run['first_errors']}")
    for flow, parts in results["complete_jobs"].items():
        for name in ("drain", "one_at_a_time", "batch"):
            run = parts[name]
            if run["job_statuses"] != {"succeeded": run["jobs"]}:
                found.append(f"complete_jobs.{flow}.{name}: not every job succeeded: {run['job_statuses']}")
            if run.get("events_indexed", run["jobs"]) != run["jobs"]:
                found.append(f"complete_jobs.{flow}.{name}: {run['events_indexed']} of {run['jobs']} "
                             "events in the event log")
    pgbench = results["pgbench"]
    if pgbench["exit_status"] or pgbench["aborted"] or not pgbench["tps"]:
        found.append(f"pgbench failed (exit {pgbench['exit_status']}; a client that ran out of "
                     f"challenges needs more --pgbench-challenges): {pgbench['output_tail']}")
    return found


def print_http(results: dict, concurrency: int) -> None:
    print(f"\n{f'HTTP, {concurrency} connections':30}{'requests':>9}{'req/s':>9}{'p50 ms':>8}"
          f"{'p99 ms':>8}{'max ms':>8}  conns/worker  cores used")
    for label, run in (("bare Falcon 202 (ceiling)", results["bare_202"]),
                       ("POST /challenges/accept/{id}", results["accept"])):
        split = "/".join(map(str, run["connections_per_worker"]))
        print(f"{label:30}{run['requests']:>9}{run['requests_per_second']:>9}{run['p50_ms']:>8}"
              f"{run['p99_ms']:>8}{run['max_ms']:>8}  {split:12}  {cpu_text(run['cpu'])}")
    print(f"accept / bare throughput: {results['ratios']['accept_vs_bare']}")
    for label, run in (("bare", results["bare_202"]), ("accept", results["accept"])):
        print(f"{label} CPU ms per request: server {run['server_cpu_ms_per_request']}, "
              f"with PostgreSQL and Redis {run['server_postgres_redis_cpu_ms_per_request']}")


def print_flow(flow: Flow, jobs: dict) -> None:
    queued, idle, burst = jobs["drain"], jobs["one_at_a_time"], jobs["batch"]
    print(f"\n{f'challenges.complete, {flow.title}':62}{'jobs':>6}{'jobs/s':>8}{'p50 ms':>9}"
          f"{'p99 ms':>9}{'max ms':>9}  cores used")
    print(f"{'queued first, then worker started':62}{queued['jobs']:>6}{queued['jobs_per_second']:>8}"
          f"{'-':>9}{'-':>9}{'-':>9}  {cpu_text(queued['cpu'])}")
    print(f"{'one at a time, idle system':62}{idle['jobs']:>6}{'-':>8}{idle['p50_ms']:>9}"
          f"{idle['p99_ms']:>9}{idle['max_ms']:>9}")
    print(f"{'batch, submitted at once':62}{burst['jobs']:>6}{burst['jobs_per_second']:>8}"
          f"{burst['p50_ms']:>9}{burst['p99_ms']:>9}{burst['max_ms']:>9}  {cpu_text(burst['cpu'])}")
    print(f"(worker: {jobs['worker']}; queued first: all done {queued['seconds_from_worker_launch']} s "
          f"after its launch, CPU ms per job: worker {queued['worker_cpu_ms_per_job']}, with "
          f"PostgreSQL and Redis {queued['worker_postgres_redis_cpu_ms_per_job']}; batch submitted at "
          f"{burst['submit']['requests_per_second']} req/s)")


def print_table(results: dict, args) -> None:
    """Cores: the load generator (client), the servers under test, PostgreSQL, Redis and
    `other`, then how busy the whole machine was."""
    print_http(results, args.concurrency)
    for flow in FLOWS:
        print_flow(flow, results["complete_jobs"][flow.name])
    shares, pgbench = results["ratios"], results["pgbench"]
    print(f"\nwith / without the event log, jobs/s: {shares['with_vs_without_event_log']}")
    print(f"pgbench bench/system/complete.pgbench, {pgbench['clients']} clients, {pgbench['seconds']} s: "
          f"{pgbench['tps']} TPS, {pgbench['latency_average_ms']} ms average  {cpu_text(pgbench['cpu'])}")
    print(f"complete jobs/s / pgbench TPS: {shares['complete_vs_pgbench']}")
    print(f"{embedding_text(results['embedding'])}\n")


def embedding_text(embedding: dict) -> str:
    """`embedding all-MiniLM-L6-v2-int8: load 0.8 s; sentences/s for calls of 1: 60, 16: 250, ...`"""
    rates = ", ".join(f"{size}: {row['sentences_per_second']}" for size, row in embedding["batches"].items())
    return (f"embedding {embedding['model']}: load {embedding['load_seconds']} s; sentences/s for "
            f"calls of {rates}")


def main() -> int:
    args = parse_args()
    run = Run("system", vars(args), PACKAGES)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    namespace = f"wc-bench-{uuid.uuid4().hex[:10]}"
    with ExitStack() as cleanup:
        log_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="wc-bench-")))
        chroma_path = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="wc-bench-chroma-"))
        database_url = cleanup.enter_context(scratch_database("wc_bench"))
        chroma_port = free_port()
        env = isolate_environment(database_url, namespace, chroma_port, chroma_path, args)
        cleanup.callback(delete_keys, f"{namespace}:*")
        started = time.perf_counter()
        try:
            chroma_pid, _ = cleanup.enter_context(serving(procfile_command("chroma", env), env,
                                                          log_dir / "chroma.log", listening(chroma_port)))
            results = measure(args, database_url, env, log_dir, chroma_pid)
        except BaseException:
            print_logs(log_dir)
            raise
        results["total_seconds"] = round(time.perf_counter() - started, 1)
    print_table(results, args)
    return run.finish(results, problems(results))


if __name__ == "__main__":
    sys.exit(main())
