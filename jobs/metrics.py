"""The scheduler's metrics, served on SCHEDULER_METRICS_PORT at METRICS_HOST: the state of the
whole system, measured by a job of its own (the queues, the outbox, the event log, challenges
pending, the leaderboard repairs), and when each scheduler job last succeeded. One scheduler runs
per deployment, so these gauges are the deployment's; a second one reports the same values.
"""

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from core.commands import COMMAND_QUEUE
from core.outbox import EVENT_LOG_QUEUE, EVENTS_QUEUE
from jobs.leaderboards import REPAIR_KINDS
from sql import queries

Q = queries("jobs")
log = logging.getLogger("jobs.metrics")
QUEUES = (COMMAND_QUEUE, EVENTS_QUEUE, EVENT_LOG_QUEUE)
MEASURE_INTERVAL_SECONDS = 15


def queue_messages(redis, namespace: str, queue: str) -> dict[str, int]:
    """One Dramatiq queue's messages by state, read at one instant from the keys of its Redis
    broker (dramatiq/brokers/redis/dispatch.lua): `ready` (waiting for a worker), `unacked`
    (taken by a worker, prefetched or running), `delayed` (waiting for their time: retries with
    backoff, the indexer's waits) and `dead` (given up on; kept 7 days)."""
    key = f"{namespace}:{queue}"
    with redis.pipeline(transaction=True) as pipe:
        pipe.llen(key).hlen(f"{key}.msgs").hlen(f"{key}.DQ.msgs").zcard(f"{key}.XQ")
        ready, held, delayed, dead = pipe.execute()
    return {"ready": ready, "unacked": max(0, held - ready), "delayed": delayed, "dead": dead}


class SchedulerMetrics:
    """The scheduler's gauges, in a registry of their own."""

    def __init__(self):
        self.registry = registry = CollectorRegistry()
        self.queue_messages = Gauge("challenges_queue_messages", "Messages of each Dramatiq queue by "
                                    "state: ready, unacked (taken by a worker), delayed, dead.",
                                    ["queue", "state"], registry=registry)
        self.oldest_unpublished = Gauge("challenges_outbox_oldest_unpublished_age_seconds", "Age of the "
                                        "oldest event not yet on the event stream; 0 when none.",
                                        registry=registry)
        self.oldest_unindexed = Gauge("challenges_event_log_oldest_unindexed_age_seconds", "Age of the "
                                      "oldest event not yet in the event log; 0 when none.",
                                      registry=registry)
        self.pending_challenges = Gauge("challenges_pending_challenges", "Friend challenges waiting for "
                                        "an answer.", registry=registry)
        self.leaderboard_repairs = Counter("challenges_leaderboard_repairs", "Leaderboard rows the "
                                           "reconciliation found wrong and repaired: counters (one per "
                                           "athlete and season), levels and ratings.", ["kind"], registry=registry)
        for kind in REPAIR_KINDS:  # exported as 0 from the start, so increase() sees the first repair
            self.leaderboard_repairs.labels(kind)
        self.job_interval = Gauge("challenges_scheduler_job_interval_seconds", "How often each "
                                  "scheduler job runs.", ["job_name"], registry=registry)
        self.job_last_success = Gauge("challenges_scheduler_job_last_success_timestamp_seconds",
                                      "When each scheduler job last succeeded (Unix time); until it "
                                      "first does, when the scheduler started.", ["job_name"],
                                      registry=registry)

    def scheduled(self, name: str, seconds: float) -> None:
        self.job_interval.labels(name).set(seconds)
        self.job_last_success.labels(name).set_to_current_time()

    def job_executed(self, event) -> None:
        """APScheduler's EVENT_JOB_EXECUTED, for a job that returned: a success unless it
        returned False (run_guarded: another scheduler held its lock, and ran it)."""
        if event.retval:
            self.job_last_success.labels(event.job_id).set_to_current_time()

    def measure(self, conn, redis, settings) -> None:
        for queue in QUEUES:
            for state, count in queue_messages(redis, settings.key("dramatiq"), queue).items():
                self.queue_messages.labels(queue, state).set(count)
        with conn.transaction():
            gauges = Q.system_gauges(conn)
        self.pending_challenges.set(gauges["pending_challenges"])
        self.oldest_unpublished.set(gauges["oldest_unpublished_seconds"])
        self.oldest_unindexed.set(gauges["oldest_unindexed_seconds"])

    def leaderboard_repaired(self, repairs: dict) -> None:
        for kind, count in repairs.items():
            self.leaderboard_repairs.labels(kind).inc(count)


def serve(metrics: SchedulerMetrics, settings) -> None:
    """A port already taken is logged as an error, and the scheduler runs on: its jobs matter
    more than their metrics."""
    try:
        start_http_server(settings.scheduler_metrics_port, addr=settings.metrics_host,
                          registry=metrics.registry)
    except OSError as error:
        log.error("metrics not served on %s:%s: %s", settings.metrics_host, settings.scheduler_metrics_port,
                  error)
