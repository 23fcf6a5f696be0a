"""The workers' metrics: Dramatiq's own (messages, errors, retries, dead letters, in progress and
durations per actor, from its Prometheus middleware), and the domain's: commands carried out by
actor, status and error code, outbox events published, and how long events wait to be in the
event log.

Under the `dramatiq` command, Dramatiq's middleware turns on prometheus_client's multiprocess
mode at process boot, with its files in `dramatiq_prom_db`, and one process of the command's own
serves what all its worker processes wrote, on `dramatiq_prom_host:dramatiq_prom_port`. Ours are
written to the same files, so they are served with Dramatiq's. prometheus_client picks its mode
once, when it is imported, so nothing here imports it before boot: MetricsAtBoot makes ours
then. A worker run any other way (the tests' in-process worker) never boots: it gets ours only,
in memory, on first use.
"""

import os
import threading
import time
from datetime import datetime
from functools import cache
from pathlib import Path

from dramatiq.middleware import Middleware

OUTBOX_SOURCES = ("command", "sweep")
# From a fraction of a second (a command's events, indexed by the next turn) to an hour (an
# outage of ChromaDB, a reindex).
INDEX_LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class WorkerMetrics:
    """One process's domain metrics, in a registry of their own (the files, under Dramatiq)."""

    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Histogram  # after boot: see above

        self.registry = registry = CollectorRegistry()
        self.commands = Counter("challenges_commands", "Commands carried out, by actor, status "
                                "(succeeded, failed) and, when failed, the error's code.",
                                ["actor", "status", "code"], registry=registry)
        self.published = Counter("challenges_outbox_events_published", "Outbox events appended to the "
                                 "event stream, by who published them: the command's worker, or "
                                 "`events.publish` for the scheduler's sweep.", ["source"], registry=registry)
        self.index_lag = Histogram("challenges_event_index_lag_seconds", "Seconds from an event's "
                                   "creation, in its command's transaction, to its indexing in the event "
                                   "log.", buckets=INDEX_LAG_BUCKETS, registry=registry)
        for source in OUTBOX_SOURCES:  # at 0 from the start, so that a rate over them is 0, not absent
            self.published.labels(source)

    def command_finished(self, actor: str, outcome: dict) -> None:
        error = outcome.get("error") or {}
        self.commands.labels(actor, outcome["status"], error.get("code", "")).inc()

    def events_published(self, source: str, count: int) -> None:
        self.published.labels(source).inc(count)

    def events_indexed(self, created: list[datetime]) -> None:
        now = time.time()
        for created_at in created:
            self.index_lag.observe(max(0.0, now - created_at.timestamp()))


_making = threading.Lock()


def worker_metrics() -> WorkerMetrics:
    """This process's metrics, made once, by whichever thread asks first."""
    with _making:
        return _made()


@cache
def _made() -> WorkerMetrics:
    return WorkerMetrics()


class MetricsAtBoot(Middleware):
    """At process boot, which only the `dramatiq` command does, puts Dramatiq's Prometheus
    middleware on the broker and then makes ours. Dramatiq's counts into metrics it makes at
    boot: in a worker that never boots, each of its hooks would fail."""

    def after_process_boot(self, broker) -> None:
        from dramatiq.middleware.prometheus import DB_PATH, Prometheus

        prometheus = Prometheus()
        prometheus.after_process_boot(broker)  # multiprocess mode, with its files in DB_PATH
        broker.add_middleware(prometheus)
        forget_finished_processes(Path(DB_PATH))
        worker_metrics()


def forget_finished_processes(directory: Path) -> None:
    """Delete the files (`<kind>_<pid>.db`) of processes no longer running: a previous run's,
    which Dramatiq 2 leaves behind. So counters start from 0 with each run, as in one process;
    the files of another `dramatiq` sharing the directory are left to it."""
    for values in directory.glob("*.db"):
        if not running(int(values.stem.rsplit("_", 1)[-1])):
            values.unlink(missing_ok=True)


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True
