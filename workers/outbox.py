"""The outbox: events written with each change are published to a Redis stream after commit,
and handed to the event log's indexer.

Consumers of `<ns>:events` (push delivery, say) key on the event id, since a sweep after a crash
may publish an event a second time; the event log upserts by it.
"""

from dramatiq import Message

from sql import queries
from workers.db import to_json

Q = queries("workers")
STREAM_MAXLEN = 100_000
EVENTS_QUEUE = "events"
EVENT_LOG_QUEUE = "event_log"


def publish_message(event_ids: list[str]) -> Message:
    return Message(queue_name=EVENTS_QUEUE, actor_name="events.publish", args=(event_ids,),
                   kwargs={}, options={})


def index_message(event_ids: list[str]) -> Message:
    return Message(queue_name=EVENT_LOG_QUEUE, actor_name="event_log.index", args=(event_ids,),
                   kwargs={}, options={})


def _publish(conn, redis, settings, rows) -> list[str]:
    if not rows:
        return []
    with redis.pipeline(transaction=False) as pipe:
        for row in rows:
            pipe.xadd(settings.key("events"), {"id": str(row["id"]), "type": row["event_type"],
                                               "payload": to_json(row["payload"])},
                      maxlen=STREAM_MAXLEN, approximate=True)
        pipe.execute()
    Q.mark_events_published(conn, ids=[row["id"] for row in rows])
    return [str(row["id"]) for row in rows]


def publish_transaction(conn, redis, settings, xact_id: str) -> list[str]:
    """Publish the events a just-committed transaction wrote; their ids."""
    with conn.transaction():
        return _publish(conn, redis, settings, list(Q.unpublished_events_of_xact(conn, xact_id=xact_id)))


def publish_events(conn, redis, settings, event_ids: list[str]) -> list[str]:
    """Publish the given events unless somebody already has (the scheduler's sweep sends ids)."""
    with conn.transaction():
        return _publish(conn, redis, settings, list(Q.unpublished_events_by_id(conn, ids=event_ids)))
