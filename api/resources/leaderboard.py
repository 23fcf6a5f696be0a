from api.db import Q
from api.openapi import Op
from api.schemas import Leaderboard, LeaderboardQuery
from api.validation import load_query

QUERY = LeaderboardQuery()
STATS = ("wins", "losses", "quits", "win_rate", "retries", "retries_won", "challenges_sent")


def leaderboard_row(row: dict) -> dict:
    return {"rank": row["rank"],
            "user": {"id": row["user_id"], "display_name": row["display_name"],
                     "avatar_url": row["avatar_url"]},
            **{name: row[name] for name in STATS}}


class ChallengeLeaderboard:
    openapi = {"get": Op("getChallengeLeaderboard", "The challenge leaderboard", query=LeaderboardQuery,
                         response=Leaderboard,
                         description="Ranked by wins, then win rate, then fewer quits; ties share "
                                     "a rank. `global` or among you and your friends; `me` is always "
                                     "your own row. The board is rebuilt by the scheduler every "
                                     "LEADERBOARD_REFRESH_SECONDS (`refreshed_at`), so a result "
                                     "shows here up to that long after it happened.")}

    def __init__(self, db):
        self.db = db

    def on_get(self, req, resp):
        query = load_query(req, QUERY)
        caller = req.context.caller.id
        ranking = Q.leaderboard_global if query["scope"] == "global" else Q.leaderboard_friends
        with self.db.reading(caller) as conn:
            rows = list(ranking(conn, user_id=caller, limit=query["limit"]))
            refreshed_at = Q.leaderboard_refreshed_at(conn)
        me = [row for row in rows if str(row["user_id"]) == caller][-1]
        resp.media = {"scope": query["scope"], "refreshed_at": refreshed_at,
                      "items": [leaderboard_row(row) for row in rows if row["in_top"]],
                      "me": leaderboard_row(me)}
