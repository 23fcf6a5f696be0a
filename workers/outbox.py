"""The outbox: events written with each change are published to a Redis stream after commit.

Consumers (push delivery, the ChromaDB log) read `<ns>:events` and key on the event id, since a
sweep after a crash may publish an event a second time.
"""

from sql import queries
from workers.db import to_json

Q = queries("workers")
STREAM_MAXLEN = 100_000


def _publish(conn, redis, settings, rows) -> int:
    if not rows:
        return 0
    with redis.pipeline(transaction=False) as pipe:
        for row in rows:
            pipe.xadd(settings.key("events"), {"id": str(row["id"]), "type": row["event_type"],
                                               "payload": to_json(row["payload"])},
                      maxlen=STREAM_MAXLEN, approximate=True)
        pipe.execute()
    Q.mark_events_published(conn, ids=[row["id"] for row in rows])
    return len(rows)


def publish_transaction(conn, redis, settings, xact_id: str) -> int:
    """Publish the events a just-committed transaction wrote."""
    with conn.transaction():
        return _publish(conn, redis, settings, list(Q.unpublished_events_of_xact(conn, xact_id=xact_id)))


def publish_events(conn, redis, settings, event_ids: list[str]) -> int:
    """Publish the given events unless somebody already has (the scheduler's sweep sends ids)."""
    with conn.transaction():
        return _publish(conn, redis, settings, list(Q.unpublished_events_by_id(conn, ids=event_ids)))
