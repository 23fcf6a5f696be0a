"""Notifications: marking them read. They are written by the challenge triggers, in the same
transaction as the change they announce."""

from core.commands import CommandRejected
from sql import queries

Q = queries("core")


def mark_read(conn, *, user_id: str, notification_id: str) -> dict:
    marked = Q.mark_notification_read(conn, id=notification_id, user_id=user_id)
    if marked is None:
        raise CommandRejected("not_found", "No such notification of yours.", 404)
    return {"notification_id": notification_id, "is_read": True, "read_at": marked["read_at"]}


def mark_all_read(conn, *, user_id: str) -> dict:
    return {"marked_read": Q.mark_all_notifications_read(conn, user_id=user_id)}
