"""The outbox: events written with each change are published to a Redis stream after commit,
and handed to the event log's indexer.

The indexer takes turns: one `event_log.index` message at a time is queued, running or waiting
out an outage, marked by the `event_log:turn` key. A command that commits while the indexer has
its turn queues nothing; its events wait for the running indexer's next batch, so the busier
the system, the bigger the batches and the cheaper each event.

Consumers of `<ns>:events` (push delivery, say) key on the event id, since a sweep after a crash
may publish an event a second time; the event log upserts by it.
"""

from dramatiq import Message

from core.db import to_json
from sql import queries

Q = queries("core")
STREAM_MAXLEN = 100_000
EVENTS_QUEUE = "events"
EVENT_LOG_QUEUE = "event_log"


def publish_message(event_ids: list[str]) -> Message:
    return Message(queue_name=EVENTS_QUEUE, actor_name="events.publish", args=(event_ids,),
                   kwargs={}, options={})


# How long a turn outlives its last sign of life: an indexer that died with it is replaced by
# the next command or the scheduler's sweep after this long.
INDEXING_TURN_MS = 60_000


def index_message(retry_delay_ms: int = 0) -> Message:
    kwargs = {"retry_delay_ms": retry_delay_ms} if retry_delay_ms else {}
    return Message(queue_name=EVENT_LOG_QUEUE, actor_name="event_log.index", args=(),
                   kwargs=kwargs, options={})


def indexing_turn(settings) -> str:
    return settings.key("event_log", "turn")


def schedule_indexing(redis, broker, settings) -> bool:
    """Queue the indexer unless it already has its turn; True when this call queued it."""
    if not redis.set(indexing_turn(settings), "1", nx=True, px=INDEXING_TURN_MS):
        return False
    broker.enqueue(index_message())
    return True


def extend_turn(redis, settings, milliseconds: int = INDEXING_TURN_MS) -> None:
    """The indexer still has its turn for `milliseconds` more: it is working, or waiting out an
    outage that long."""
    redis.set(indexing_turn(settings), "1", px=milliseconds)


def end_turn(redis, settings) -> None:
    redis.delete(indexing_turn(settings))


def _append_to_stream(redis, settings, rows) -> list[str]:
    with redis.pipeline(transaction=False) as pipe:
        for row in rows:
            pipe.xadd(settings.key("events"), {"id": str(row["id"]), "type": row["event_type"],
                                               "payload": to_json(row["payload"])},
                      maxlen=STREAM_MAXLEN, approximate=True)
        pipe.execute()
    return [str(row["id"]) for row in rows]


def publish_committed(conn, redis, settings, events: list[dict]) -> list[str]:
    """Publish the events a command's transaction has just committed; their ids. They are
    marked published once the stream has them, in one statement (a worker's connection commits
    each statement outside a transaction block). Were the scheduler's sweep to publish one at
    the same moment, the stream would hold it twice; its consumers key on the id."""
    if not events:
        return []
    return _publish(conn, redis, settings, events)


def publish_events(conn, redis, settings, event_ids: list[str]) -> list[str]:
    """Publish the given events unless somebody already has (the scheduler's sweep sends ids)."""
    with conn.transaction():
        rows = list(Q.unpublished_events_by_id(conn, ids=event_ids))
        if not rows:
            return []
        return _publish(conn, redis, settings, rows)


def _publish(conn, redis, settings, events: list[dict]) -> list[str]:
    """Onto the stream, then marked published; their ids (the worker counts them)."""
    ids = _append_to_stream(redis, settings, events)
    Q.mark_events_published(conn, ids=ids)
    return ids
