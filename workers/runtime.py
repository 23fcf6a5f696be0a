"""What a worker process shares between its actors: settings, the pool, Redis, the job store.

Everything is built from the environment on import but connects lazily, so importing this in
the parent of a forking process opens nothing.
"""

import logging
import time

from core.commands import JobStore, run_command
from core.connections import UNAVAILABLE, connect_redis
from core.db import Database
from core.outbox import publish_committed
from core.settings import load_settings
from workers.metrics import worker_metrics

log = logging.getLogger("workers.runtime")
command_log = logging.getLogger("workers.commands")
settings = load_settings()  # a worker with settings it cannot use never starts
redis_client = connect_redis(settings)
db = Database(settings.database_url, max_size=settings.worker_pool_size,
              connect_timeout=settings.database_connect_timeout,
              statement_timeout=settings.worker_statement_timeout)
jobs = JobStore(redis_client, settings)


def execute(job_id: str, actor_name: str, user_id: str, effect) -> list[str]:
    """Run a command exactly once, publish its outbox events, then tell waiting clients.
    Returns the ids of the events it published."""
    started = time.monotonic()
    with db.connection() as conn:
        outcome, events = run_command(conn, job_id=job_id, actor_name=actor_name,
                                      user_id=user_id, effect=effect)
        if events is not None:  # None: a redelivery, which carried nothing out again
            worker_metrics().command_finished(actor_name, outcome)
        published = tell_redis(job_id, "publishing its events", lambda: publish_committed(
            conn, redis_client, settings, events or [])) or []
    worker_metrics().events_published("command", len(published))
    tell_redis(job_id, "recording its status", lambda: jobs.finish(job_id, user_id, outcome))
    log_command_outcome(outcome, redelivered=events is None, seconds=time.monotonic() - started)
    return published


def tell_redis(job_id: str, step: str, action):
    """`action()`, or None when Redis is unreachable. What a command tells Redis besides being
    carried out (its status, its events) is not worth failing it for, least of all once it
    has committed, when a retry would do nothing: its unpublished events are swept up by the
    scheduler, and `GET /jobs/{id}` reads the outcome PostgreSQL recorded with it."""
    try:
        return action()
    except UNAVAILABLE["redis"] as error:
        log.warning("job %s: %s failed, left to catch up: %s", job_id, step, error)
        return None


def log_command_outcome(outcome: dict, *, redelivered: bool, seconds: float) -> None:
    """The one INFO line a worker writes per command it finishes: how it ended, how long it took
    (running it, publishing its events, telling Redis)."""
    duration_ms = round(seconds * 1000, 1)
    error_code = (outcome.get("error") or {}).get("code")
    if redelivered:
        summary = f"command already carried out ({outcome['status']})"
    elif error_code:
        summary = f"command rejected: {error_code}"
    else:
        summary = f"command {outcome['status']}"
    fields = {"outcome": outcome["status"], "duration_ms": duration_ms, "redelivered": redelivered}
    if error_code:
        fields["error_code"] = error_code
    command_log.info("%s in %.1f ms", summary, duration_ms, extra=fields)
