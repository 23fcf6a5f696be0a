"""Product analytics over HTTP, for analysts only (a token whose `role` claim is `analyst`; 403
for anyone else): each report reads the views of the schema `analytics` (sql/migrations/0021)
over a period of days and answers JSON, or CSV when the request's Accept prefers `text/csv` (a
header row, then one row per item). Any other Accept gets JSON, as everywhere in this API.

No report holds a name or a quit reason in an athlete's own words; `pairs` holds user ids. The
API's role reads the views as a member of challenges_analyst; the reports are index range scans
over the period's challenges, bounded like every read by API_STATEMENT_TIMEOUT."""

import csv
import io

import falcon
import psycopg

from api.db import Q
from api.errors import DEPENDENCIES, Problem
from api.openapi import Op
from api.schemas.analytics import (
    AnalyticsPeriod, AnalyticsTopPeriod, CompletionReport, HourFigures, HoursReport, PairFigures, PairsReport,
    QuitFigures, QuitReasonsReport, WeekFigures, WorkoutFigures, WorkoutsReport)
from api.validation import load_query

ANALYST_ROLES = {"analyst"}
CSV = "text/csv"
# A cell a spreadsheet would run as a formula (CSV injection): workout names are athletes' words.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PERIOD, TOP_PERIOD = AnalyticsPeriod(), AnalyticsTopPeriod()


def columns(item_schema: type) -> list[str]:
    """An item's fields in order: the JSON item's keys and the CSV's header."""
    return list(item_schema._declared_fields)


def cell(value):
    """A CSV cell: empty for null; text a spreadsheet would run as a formula, quoted with `'`."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(item_schema: type, items: list[dict]) -> str:
    """RFC 4180: a header row of the item's fields, then a row per item; empty for null."""
    names, out = columns(item_schema), io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    writer.writerows([cell(item[name]) for name in names] for item in items)
    return out.getvalue()


def report_op(operation_id: str, summary: str, report: type, item: type, items: list[dict], *,
              query: type = AnalyticsPeriod, description: str) -> Op:
    """A report's operation: JSON (with an example of real-looking days and ids) or CSV."""
    example = {"first_day": "2026-11-01", "last_day": "2026-11-30", "items": items}
    return Op(operation_id, summary, query=query, response=report, errors=(403,),
              description=description + " Send `Accept: text/csv` for CSV: a header row of the "
                                        "item's fields, then a row per item.",
              media={"application/json": {"example": example},
                     CSV: {"schema": {"type": "string", "description": "CSV (RFC 4180) of `items`: "
                                      "a header row, then one row per item; empty for null."},
                           "example": csv_text(item, items)}})


def too_slow() -> Problem:
    name, retry_after = DEPENDENCIES["postgres"]
    return Problem(503, "service_unavailable",
                   f"{name} took longer than the API allows for this report: ask for fewer days, or "
                   "read the `analytics` views directly (docs/ops/analytics-dashboard.json).",
                   headers={"Retry-After": str(retry_after)}, dependency="postgres")


class AnalyticsReport:
    """A report: its `name` (the CSV's file name), the query string it takes, its `item` (a CSV
    row) and its named query (sql/queries/api.sql), which takes that query string's values;
    for analysts only."""

    name: str
    item: type
    statement: str
    query_schema = PERIOD

    def __init__(self, db):
        self.db = db

    def read(self, conn, query: dict) -> list[dict]:
        return list(getattr(Q, self.statement)(conn, **query))

    def on_get(self, req, resp):
        caller = req.context.caller
        if caller.role not in ANALYST_ROLES:
            raise Problem(403, "forbidden", "Only an analyst (a token with the role analyst) can read analytics.")
        query = load_query(req, self.query_schema)
        try:
            with self.db.reading(caller.id) as conn:
                rows = self.read(conn, query)
        except psycopg.errors.QueryCanceled:
            raise too_slow() from None
        items = [{name: row[name] for name in columns(self.item)} for row in rows]
        resp.vary = ("Accept",)
        if req.client_prefers([falcon.MEDIA_JSON, CSV]) == CSV:
            resp.content_type = f"{CSV}; charset=utf-8"
            resp.downloadable_as = (f"{self.name}-{query['from_day']:%Y-%m-%d}-"
                                    f"{query['to_day']:%Y-%m-%d}.csv")
            resp.text = csv_text(self.item, items)
            return
        resp.media = {"first_day": query["from_day"], "last_day": query["to_day"], "items": items}


class WorkoutsAnalytics(AnalyticsReport):
    name, item, query_schema = "workouts", WorkoutFigures, TOP_PERIOD
    statement = "analytics_workouts"
    openapi = {"get": report_op(
        "getWorkoutsReport", "The most challenged workouts", WorkoutsReport, WorkoutFigures,
        [{"workout_key": "beast mode legs", "workout_name": "Beast Mode Legs", "challenges_sent": 42,
          "completed": 30, "won": 12, "abandoned": 6, "completion_rate": 0.7143, "win_rate": 0.3333,
          "abandonment_rate": 0.1667, "target_duration_minutes": 31.5, "target_total_volume_kg": 4990.0}],
        query=AnalyticsTopPeriod,
        description="The `limit` workouts with the most challenges sent in the period (names "
                    "grouped in lower case with single spaces), what became of those challenges, "
                    "and a calibrated target: the median duration and volume of the completed "
                    "attempts, which about half the challenged athletes beat.")}


class HoursAnalytics(AnalyticsReport):
    name, item = "hours", HourFigures
    statement = "analytics_hours"
    openapi = {"get": report_op(
        "getHoursReport", "Challenges sent by hour and weekday", HoursReport, HourFigures,
        [{"iso_weekday": 1, "hour": 18, "challenges_sent": 25}],
        description="Challenges sent in the period by the hour (0-23) and ISO weekday (1 Monday "
                    "to 7 Sunday) they were sent at in each sender's own time zone (UTC for a zone "
                    "the database does not know): all 168 hours of the week.")}


class PairsAnalytics(AnalyticsReport):
    name, item, query_schema = "pairs", PairFigures, TOP_PERIOD
    statement = "analytics_pairs"
    openapi = {"get": report_op(
        "getPairsReport", "The pairs with the most challenges", PairsReport, PairFigures,
        [{"user_a": "0b5c1c8e-3f0e-4b7e-9a51-2f4d7f0e6c11", "user_b": "7d2e9a40-5c3b-4f8a-b1e6-93c0d4a7e258",
          "challenges": 9, "sent_by_a": 5, "sent_by_b": 4}],
        query=AnalyticsTopPeriod,
        description="The `limit` pairs of athletes with the most challenges sent between them in "
                    "the period, either way: user ids only.")}


class QuitReasonsAnalytics(AnalyticsReport):
    name, item = "quit-reasons", QuitFigures
    statement = "analytics_quit_reasons"
    openapi = {"get": report_op(
        "getQuitReasonsReport", "Quits by week and reason", QuitReasonsReport, QuitFigures,
        [{"week": "2026-11-23", "category": "Too hard for me 😓", "quits": 7},
         {"week": "2026-11-23", "category": "other", "quits": 3}],
        description="Quits in the period by ISO week and category: the preset reason, or for an "
                    "athlete's own words the preset nearest in meaning or `other`. Counts only, "
                    "never the words.")}


class CompletionAnalytics(AnalyticsReport):
    name, item = "completion", WeekFigures
    statement = "analytics_completion"
    openapi = {"get": report_op(
        "getCompletionReport", "What became of the challenges sent", CompletionReport, WeekFigures,
        [{"week": "2026-11-23", "sent": 120, "accepted": 80, "completed": 52, "won": 20,
          "abandoned": 14, "expired": 25, "declined": 9}],
        description="Per ISO week of the period, the challenges sent in it and what became of "
                    "them: accepted, completed, won, abandoned, expired, declined.")}
