"""Actors of the outbox: re-publishing the events a dead worker left behind, and the event log's
indexer, which takes turns (core/outbox.py) and indexes in batches (core/event_log.py)."""

import logging
import threading
import time

from dramatiq.middleware import Middleware

from core.connections import unavailable_service
from core.event_log import EventLog, has_events_to_index, index_pending
from core.outbox import (EVENT_LOG_QUEUE, EVENTS_QUEUE, INDEXING_TURN_MS, end_turn, extend_turn,
                            index_message, publish_events, schedule_indexing)
from workers.broker import actor, broker
from workers.metrics import worker_metrics
from workers.runtime import db, redis_client, settings

logger = logging.getLogger("workers.events")
# Events per batch: one embedding call, one kinds lookup and one upsert each. A batch holds its
# events' row locks while it is embedded, a fraction of a second at this size.
INDEX_BATCH = 128
# A turn hands over to a fresh message after this long, well inside the actor's time limit.
TURN_SECONDS = 20
# While ChromaDB or PostgreSQL is out of reach the turn waits, doubling from the first delay to
# the last, and then asks ChromaDB's heartbeat before embedding anything: an outage costs one
# cheap request per delay, not CPU taken from the commands.
RETRY_DELAYS_MS = (1_000, 30_000)
HEARTBEAT_TIMEOUT_SECONDS = 2.0
_event_log = None


def event_log() -> EventLog:
    global _event_log
    if _event_log is None:
        _event_log = EventLog.for_settings(settings)
    return _event_log


class LoadEmbeddingAtBoot(Middleware):
    """A worker that indexes loads the embedding model as it starts, in the background, so the
    first events after a deploy do not wait for it (half a second) behind a turn."""

    def after_worker_boot(self, broker, worker) -> None:
        if worker.consumer_whitelist and EVENT_LOG_QUEUE not in worker.consumer_whitelist:
            return
        threading.Thread(target=self._load, name="load-embedding", daemon=True).start()

    @staticmethod
    def _load() -> None:
        try:
            event_log().embedding
        except Exception:  # noqa: BLE001 (the first turn raises it again, where it is handled)
            logger.exception("event log: the embedding model could not be loaded at boot")


broker.add_middleware(LoadEmbeddingAtBoot())


def next_retry_delay(previous_ms: int) -> int:
    first, last = RETRY_DELAYS_MS
    return min(max(previous_ms * 2, first), last)


def take_turn(database, log: EventLog, redis, broker, settings, retry_delay_ms: int = 0) -> str:
    """One turn of the indexer; says how it ended: `drained` (nothing left, the turn is over),
    `handed_over` (time is up, a fresh message goes on) or `waiting` (a service is out of
    reach; the same turn resumes after a delay)."""
    try:
        if retry_delay_ms:
            log.heartbeat(HEARTBEAT_TIMEOUT_SECONDS)
        with database.connection() as conn:
            drained = index_pending(conn, log, INDEX_BATCH, until=time.monotonic() + TURN_SECONDS,
                                    after_batch=lambda: extend_turn(redis, settings),
                                    indexed=worker_metrics().events_indexed)
    except Exception as error:
        if unavailable_service(error) not in {"chromadb", "postgres"}:
            raise
        delay = next_retry_delay(retry_delay_ms)
        logger.warning("event log: %s is out of reach (%s); indexing again in %.0f s",
                       unavailable_service(error), error, delay / 1000)
        extend_turn(redis, settings, delay + INDEXING_TURN_MS)
        broker.enqueue(index_message(delay), delay=delay)
        return "waiting"
    if not drained:
        broker.enqueue(index_message())
        return "handed_over"
    end_turn(redis, settings)
    # An event committed just before the turn ended found the turn taken and queued nothing.
    with database.connection() as conn:
        if has_events_to_index(conn):
            schedule_indexing(redis, broker, settings)
    return "drained"


@actor("events.publish", queue_name=EVENTS_QUEUE)
def publish(event_ids: list[str]) -> None:
    """Then has the indexer take them, as a command does after its commit."""
    with db.connection() as conn:
        published = publish_events(conn, redis_client, settings, event_ids)
    worker_metrics().events_published("sweep", len(published))
    if published:
        schedule_indexing(redis_client, broker, settings)


# No retries of its own: a turn that ends in an error leaves the turn taken until it expires,
# and the next command or the scheduler's sweep starts a new one.
@actor("event_log.index", queue_name=EVENT_LOG_QUEUE, max_retries=0)
def index(retry_delay_ms: int = 0) -> None:
    take_turn(db, event_log(), redis_client, broker, settings, retry_delay_ms)
