from api.db import Q
from api.errors import not_found
from api.openapi import Op
from api.schemas.notifications import (
    NotificationMarkedRead, NotificationPage, NotificationQuery, NotificationsMarkedRead)
from api.validation import Listing, load_query

QUERY = NotificationQuery()


def notification_item(row: dict) -> dict:
    actor = row["actor_id"] and {"id": row["actor_id"], "display_name": row["actor_display_name"],
                                 "avatar_url": row["actor_avatar_url"]}
    return {"id": row["id"], "challenge_id": row["challenge_id"],
            "community_challenge_id": row["community_challenge_id"],
            "notification_type": row["notification_type"], "data": row["data"],
            "is_read": row["is_read"], "read_at": row["read_at"], "created_at": row["created_at"],
            "actor": actor}


NOTIFICATIONS = Listing("notifications", ordering="created_at")


class Notifications:
    openapi = {"get": Op("listNotifications", "Your notifications", query=NotificationQuery,
                         response=NotificationPage,
                         description="Newest first, with the unread count; `unread=true` for "
                                     "unread ones only.")}

    def __init__(self, db, cursors):
        self.db, self.cursors = db, cursors

    def on_get(self, req, resp):
        query = load_query(req, QUERY)
        cursor_at, cursor_id = self.cursors.decode(NOTIFICATIONS, query["cursor"])
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            rows = list(Q.list_notifications(conn, user_id=caller, unread_only=query["unread"],
                                             cursor_at=cursor_at, cursor_id=cursor_id,
                                             limit=query["limit"]))
            unread = Q.count_unread(conn, user_id=caller)
        result = self.cursors.page(NOTIFICATIONS, rows, query["limit"])
        result["items"] = [notification_item(row) for row in rows]
        result["unread_count"] = unread
        resp.media = result


class NotificationRead:
    openapi = {"post": Op("markNotificationRead", "Mark a notification read",
                          result=NotificationMarkedRead, description="Again is fine.")}

    def __init__(self, db, dispatcher):
        self.db, self.dispatcher = db, dispatcher

    def on_post(self, req, resp, notification_id):
        caller, notification_id = req.context.caller.id, str(notification_id)

        def precheck():
            with self.db.reading(caller) as conn:
                if not Q.notification_exists(conn, id=notification_id, user_id=caller):
                    raise not_found("No such notification of yours.")

        self.dispatcher.submit(req, resp, actor="notifications.read",
                               payload={"notification_id": notification_id}, precheck=precheck)


class NotificationsReadAll:
    openapi = {"post": Op("markAllNotificationsRead", "Mark all notifications read",
                          result=NotificationsMarkedRead)}

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher

    def on_post(self, req, resp):
        self.dispatcher.submit(req, resp, actor="notifications.read_all", payload={})
