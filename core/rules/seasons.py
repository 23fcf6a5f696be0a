"""Leaderboard seasons: all time, the ISO week and the calendar month, in UTC.

A season's key is what its counters are kept under (sql/migrations/0010_live_leaderboard.sql
makes the same keys in SQL): 'all', 'YYYY-Www' (ISO week, Monday to Sunday) or 'YYYY-MM'.
"""

import datetime as dt
import re

PERIODS = ("all", "week", "month")
ALL = "all"
WEEK_KEY = re.compile(r"^(\d{4})-W(\d{2})$")
MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")
# A result committed just after midnight may carry a time just before it: a season is final (and
# the scheduler closes it) this long after it ended.
CLOSE_GRACE = dt.timedelta(minutes=5)


def season_of(period: str, at: dt.datetime) -> str:
    """The key of the `period` season that `at` falls in."""
    at = at.astimezone(dt.timezone.utc)
    if period == "week":
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{at.year}-{at.month:02d}"
    return ALL


def period_of(season: str) -> str | None:
    """'week', 'month' or 'all' for a valid key; None for anything else (a week 54, a month 13)."""
    if season == ALL:
        return ALL
    try:
        season_start(season)
    except ValueError:
        return None
    return "week" if WEEK_KEY.match(season) else "month"


def season_start(season: str) -> dt.datetime:
    """When a week or month season begins (UTC); ValueError for a key that names none."""
    if week := WEEK_KEY.match(season):
        day = dt.date.fromisocalendar(int(week[1]), int(week[2]), 1)
    elif month := MONTH_KEY.match(season):
        day = dt.date(int(month[1]), int(month[2]), 1)
    else:
        raise ValueError(f"not a week or month season: {season!r}")
    return dt.datetime.combine(day, dt.time(), dt.timezone.utc)


def season_end(season: str) -> dt.datetime:
    """When the next season of the same period begins."""
    start = season_start(season)
    if WEEK_KEY.match(season):
        return start + dt.timedelta(days=7)
    return (start + dt.timedelta(days=32)).replace(day=1)


def is_final(season: str, now: dt.datetime) -> bool:
    """Whether `season` ended (CLOSE_GRACE ago) by `now`, so no result can still count in it:
    never for 'all'."""
    return season != ALL and season_end(season) + CLOSE_GRACE <= now


def ended_seasons(now: dt.datetime, back: int = 2) -> list[str]:
    """The last `back` weeks and months that have ended by `now`, oldest first: what the
    scheduler closes (a season it missed while down is still among them the next turn)."""
    seasons = []
    for period in ("week", "month"):
        season = season_of(period, now)
        for _ in range(back):
            season = season_of(period, season_start(season) - dt.timedelta(seconds=1))
            seasons.append(season)
    return sorted(seasons, key=season_start)
