from api.db import Q
from api.openapi import Op
from api.schemas.common import Page
from api.schemas.feed import FeedPage
from api.validation import Listing, load_query

PAGE = Page()


def feed_item(row: dict) -> dict:
    return {"id": row["id"], "activity_type": row["activity_type"],
            "activity_data": row["activity_data"], "workout_log_id": row["workout_log_id"],
            "visibility": row["visibility"], "created_at": row["created_at"],
            "can_beat_this": row["can_beat_this"],
            "user": {"id": row["user_id"], "display_name": row["display_name"],
                     "avatar_url": row["avatar_url"]}}


FEED = Listing("feed", ordering="created_at")


class Feed:
    openapi = {"get": Op("listFeed", "Your activity feed", query=Page, response=FeedPage,
                         description="Your posts and your friends' posts, newest first; "
                                     "`can_beat_this` marks a friend's workout you can take on.")}

    def __init__(self, db, cursors):
        self.db, self.cursors = db, cursors

    def on_get(self, req, resp):
        query = load_query(req, PAGE)
        cursor_at, cursor_id = self.cursors.decode(FEED, query["cursor"])
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            rows = list(Q.feed(conn, user_id=caller, cursor_at=cursor_at, cursor_id=cursor_id,
                               limit=query["limit"]))
        result = self.cursors.page(FEED, rows, query["limit"])
        result["items"] = [feed_item(row) for row in rows]
        resp.media = result
