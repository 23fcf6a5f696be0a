"""Actors of the outbox: re-publishing the events a dead worker left behind."""

from workers.broker import actor
from workers.outbox import publish_events
from workers.runtime import db, redis_client, settings


@actor("events.publish", queue_name="events")
def publish(event_ids: list[str]) -> None:
    with db.connection() as conn:
        publish_events(conn, redis_client, settings, event_ids)
