"""Actors of the outbox: re-publishing the events a dead worker left behind, and putting events
into the ChromaDB event log."""

from workers.broker import actor, broker
from workers.event_log import EventLog, index_events
from workers.outbox import EVENT_LOG_QUEUE, EVENTS_QUEUE, index_message, publish_events
from workers.runtime import db, redis_client, settings

# Few retries: while ChromaDB is down the scheduler's sweep hands the events on again anyway.
EVENT_LOG_RETRIES = 3
_event_log = None


def event_log() -> EventLog:
    global _event_log
    if _event_log is None:
        _event_log = EventLog.for_settings(settings)
    return _event_log


@actor("events.publish", queue_name=EVENTS_QUEUE)
def publish(event_ids: list[str]) -> None:
    """Then hands what it published on to the indexer, as a command does after its commit."""
    with db.connection() as conn:
        published = publish_events(conn, redis_client, settings, event_ids)
    if published:
        broker.enqueue(index_message(published))


@actor("event_log.index", queue_name=EVENT_LOG_QUEUE, max_retries=EVENT_LOG_RETRIES)
def index(event_ids: list[str]) -> None:
    with db.connection() as conn:
        index_events(conn, event_log(), event_ids)
