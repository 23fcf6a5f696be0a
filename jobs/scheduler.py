"""The scheduler process: one BlockingScheduler, every job behind a Postgres advisory lock so a
second scheduler (a deploy overlap, an operator mistake) only skips runs, never doubles them."""

import logging
import zlib
from datetime import datetime, timezone

from apscheduler.events import EVENT_JOB_EXECUTED
from apscheduler.schedulers.blocking import BlockingScheduler

from core.db import Database
from core.outbox import publish_message, schedule_indexing
from core.settings import Settings
from jobs import crowd, leaderboards, maintenance
from jobs.metrics import MEASURE_INTERVAL_SECONDS, SchedulerMetrics, serve
from sql import queries

Q = queries("jobs")
log = logging.getLogger("jobs.scheduler")
PRUNE_INTERVAL_SECONDS = 3600


def run_guarded(db: Database, name: str, job) -> bool:
    """Run `job(conn)` unless another scheduler holds its lock; True when it ran."""
    lock_id = zlib.crc32(f"jobs.{name}".encode())
    with db.connection() as conn:  # autocommit: the session lock outlives the job's transactions
        if not Q.try_lock(conn, lock_id=lock_id):
            log.info("%s skipped: another scheduler is running it", name)
            return False
        try:
            job(conn)
        finally:
            Q.unlock(conn, lock_id=lock_id)
    return True


def sweep_outbox(conn, broker, redis, settings: Settings) -> int:
    """Hand on what a dead worker or a ChromaDB outage left behind: unpublished events to
    `events.publish` (which then has them indexed); for published events not yet in the event
    log, a turn of the indexer unless it has one (it may be waiting for ChromaDB)."""
    unpublished = maintenance.stale_unpublished_events(conn, settings.outbox_grace_seconds)
    unindexed = maintenance.stale_unindexed_events(conn, settings.outbox_grace_seconds)
    if unpublished:
        broker.enqueue(publish_message(unpublished))
    if unindexed:
        schedule_indexing(redis, broker, settings)
    return len(unpublished) + len(unindexed)


def build_scheduler(settings: Settings, db: Database, broker, redis,
                    metrics: SchedulerMetrics) -> BlockingScheduler:
    scheduler = BlockingScheduler(job_defaults={"coalesce": True, "max_instances": 1,
                                                "misfire_grace_time": 30})
    jobs = {
        "expire_challenges": (settings.expiry_interval_seconds, maintenance.expire_due_challenges),
        "close_community_challenges": (settings.expiry_interval_seconds,
                                       maintenance.close_ended_community_challenges),
        "close_leaderboard_seasons": (settings.expiry_interval_seconds, leaderboards.close_ended_seasons),
        "reconcile_leaderboards": (settings.leaderboard_reconcile_seconds, lambda conn:
                                   metrics.leaderboard_repaired(leaderboards.reconcile_leaderboards(conn))),
        "refresh_crowd_kinds": (settings.crowd_refresh_seconds, crowd.refresh_kinds),
        "reconcile_crowd": (settings.leaderboard_reconcile_seconds, crowd.reconcile_crowd),
        "sweep_outbox": (settings.outbox_sweep_seconds, lambda conn: sweep_outbox(conn, broker, redis, settings)),
        "prune_commands": (PRUNE_INTERVAL_SECONDS, lambda conn: maintenance.prune_finished_commands(
            conn, settings.command_retention_seconds)),
        "measure_system": (MEASURE_INTERVAL_SECONDS,
                           lambda conn: metrics.measure(conn, redis, settings)),
    }
    for name, (seconds, job) in jobs.items():
        metrics.scheduled(name, seconds)
        scheduler.add_job(run_guarded, "interval", seconds=seconds, args=(db, name, job), id=name,
                          name=name)
    scheduler.modify_job("measure_system", next_run_time=datetime.now(timezone.utc))  # gauges from the start
    scheduler.add_listener(metrics.job_executed, EVENT_JOB_EXECUTED)
    return scheduler


def main() -> None:
    from workers.broker import broker, redis_client, settings

    db = Database(settings.database_url, max_size=2, connect_timeout=settings.database_connect_timeout,
                  statement_timeout=settings.scheduler_statement_timeout)
    metrics = SchedulerMetrics()
    serve(metrics, settings)
    log.info("scheduler starting")
    build_scheduler(settings, db, broker, redis_client, metrics).start()
