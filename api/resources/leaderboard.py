import datetime as dt

from api.db import Q
from api.errors import validation_error
from api.openapi import Op
from api.schemas.leaderboard import Leaderboard, LeaderboardQuery
from api.validation import load_query
from core.rules.seasons import is_final, period_of, season_of, season_start

QUERY = LeaderboardQuery()
STATS = ("wins", "losses", "quits", "win_rate", "retries", "retries_won", "challenges_sent")


def leaderboard_row(row: dict) -> dict:
    return {"rank": row["rank"],
            "user": {"id": row["user_id"], "display_name": row["display_name"],
                     "avatar_url": row["avatar_url"]},
            **{name: row[name] for name in STATS}, "rating": round(row["rating"], 4)}


def requested_season(query: dict, now: dt.datetime) -> str:
    """The season a leaderboard request asks for: its `season`, else the current one of its
    `period`. A season that has not begun by `now` is refused."""
    if "season" not in query:
        return season_of(query.get("period", "all"), now)
    if season_start(query["season"]) > now:
        raise validation_error({"season": ["Must not be later than the current season."]})
    return query["season"]


def ranking(conn, caller: str, *, scope: str, season: str, order: str, limit: int) -> list[dict]:
    if scope == "friends":
        return list(Q.leaderboard_friends(conn, user_id=caller, season=season, limit=limit,
                                          by_rating=order == "rating"))
    if order == "rating":  # a rating is all-time: the schema allows it with no season
        return list(Q.leaderboard_global_by_rating(conn, user_id=caller, limit=limit))
    return list(Q.leaderboard_global(conn, user_id=caller, season=season, limit=limit))


def read_board(conn, caller: str, *, scope: str, season: str, order: str = "wins", limit: int = 20,
               now: dt.datetime | None = None) -> dict:
    """A closed season's final board is kept under 'final:<season>' (jobs/leaderboards.py). A
    season that ended but was never closed (it ended before closing shipped, or while the
    scheduler was down for longer than it looks back) is final too, with its live counters: no
    result can count in it any more."""
    closed = Q.season_closed(conn, season=season)
    final = closed or is_final(season, now or dt.datetime.now(dt.timezone.utc))
    rows = ranking(conn, caller, scope=scope, season=f"final:{season}" if closed else season, order=order,
                   limit=limit)
    me = [row for row in rows if str(row["user_id"]) == caller][-1]
    return {"scope": scope, "period": period_of(season), "season": season, "order": order, "final": final,
            "items": [leaderboard_row(row) for row in rows if row["in_top"]],
            "me": leaderboard_row(me)}


class ChallengeLeaderboard:
    openapi = {"get": Op("getChallengeLeaderboard", "The challenge leaderboard", query=LeaderboardQuery,
                         response=Leaderboard,
                         description="Ranked by wins, then win rate, then fewer quits (or by "
                                     "skill rating with order=rating, all time only); ties share "
                                     "a rank. `global` or among you and your friends; `me` is always "
                                     "your own row. Live: a result counts as soon as its job has "
                                     "succeeded. `period=week|month` shows the current ISO week or "
                                     "calendar month (UTC), counting what happened in it; `season` a "
                                     "past one, whose final board is kept when it ends.")}

    def __init__(self, db):
        self.db = db

    def on_get(self, req, resp):
        query = load_query(req, QUERY)
        caller = req.context.caller.id
        now = dt.datetime.now(dt.timezone.utc)
        season = requested_season(query, now)
        with self.db.reading(caller) as conn:
            resp.media = read_board(conn, caller, scope=query["scope"], season=season, order=query["order"],
                                    limit=query["limit"], now=now)
