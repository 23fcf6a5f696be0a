"""The caller's points: total, streak, the multiplier a log made now would get, and the ledger."""

from api.db import Q
from api.openapi import Op
from api.schemas.common import Page
from api.schemas.points import Points
from api.validation import Listing, load_query
from core.rules.points import streak_multiplier, streak_now

PAGE = Page()


POINTS_LEDGER = Listing("points", ordering="created_at")


class PointsResource:
    openapi = {"get": Op("getPoints", "Your points", query=Page, response=Points,
                         description="Your points total, current streak and multiplier, and the "
                                     "ledger of awards newest first.")}

    def __init__(self, db, cursors):
        self.db, self.cursors = db, cursors

    def on_get(self, req, resp):
        query = load_query(req, PAGE)
        cursor_at, cursor_id = self.cursors.decode(POINTS_LEDGER, query["cursor"])
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            total = Q.points_total(conn, user_id=caller)
            streaks = Q.streaks(conn, user_id=caller)
            rows = list(Q.points_ledger(conn, user_id=caller, cursor_at=cursor_at, cursor_id=cursor_id,
                                        limit=query["limit"]))
        current, next_log = streak_now(streaks["today"] or 0, streaks["yesterday"] or 0) if streaks else (0, 1)
        resp.media = {"total": total, "current_streak": current,
                      "multiplier": float(streak_multiplier(next_log)), **self.cursors.page(POINTS_LEDGER, rows, query["limit"])}
