"""GET /api/v1/analytics/*: product analytics for analysts (a token with the role `analyst`), read
from the `analytics` views, as JSON or CSV; a 403 for everyone else. The history and its figures
are tests/analytics_history.py's. No answer holds a name or a quit reason in an athlete's words."""

import csv
import datetime as dt
import io
import json
import uuid

import pytest
import schemathesis
from falcon import testing
from schemathesis.checks import (
    content_type_conformance, negative_data_rejection, not_a_server_error, response_headers_conformance,
    response_schema_conformance, status_code_conformance)
from schemathesis.config import SchemathesisConfig

from api.resources import analytics
from jobs.tokens import issue_token
from tests import analytics_history as history_of
from tests.analytics_history import NAMES, SECRET, utc_today
from tests.api.support import assert_problem
from tests.conftest import SETTINGS
from tests.core.rules.factories import friends, user, workout
from tests.helpers import API

REPORTS = ["workouts", "hours", "pairs", "quit-reasons", "completion"]
EXPECTED = {"workouts": history_of.expected_workouts, "hours": history_of.expected_hours,
            "pairs": history_of.expected_pairs, "quit-reasons": history_of.expected_quits,
            "completion": history_of.expected_completion}
ITEMS = {"workouts": analytics.WorkoutFigures, "hours": analytics.HourFigures, "pairs": analytics.PairFigures,
         "quit-reasons": analytics.QuitFigures, "completion": analytics.WeekFigures}


@pytest.fixture
def client(app):
    return testing.TestClient(app)


@pytest.fixture
def history(conn):
    return history_of.build(conn)


def analyst() -> dict:
    return {"Authorization": f"Bearer {issue_token(SETTINGS, str(uuid.uuid4()), role='analyst')}"}


def get(client, report: str, headers: dict | None = None, **query):
    return client.simulate_get(f"{API}/analytics/{report}", params=query or None, headers=headers or analyst())


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    return response.json


def as_json(rows: list[dict]) -> list[dict]:
    """Expected rows as the JSON answer has them (days as text)."""
    return json.loads(json.dumps(rows, default=str))


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8", response.headers
    return list(csv.reader(io.StringIO(response.text)))


def cells(report: str, items: list[dict]) -> list[list[str]]:
    """JSON items as the CSV spells them: the item's fields in order, empty for null."""
    names = list(ITEMS[report]._declared_fields)
    return [names] + [["" if item[name] is None else str(item[name]) for name in names] for item in items]


@pytest.mark.parametrize("report", REPORTS)
def test_each_report_shows_the_last_30_days_by_default(client, history, report):
    # Given the history (tests/analytics_history.py)
    first, last = utc_today() - dt.timedelta(days=29), utc_today()

    # When an analyst asks for the report without a period
    answer = ok(get(client, report))

    # Then it covers the last 30 days, today included, with the history's figures
    assert (answer["first_day"], answer["last_day"]) == (str(first), str(last))
    assert answer["items"] == as_json(EXPECTED[report](history, first, last))


@pytest.mark.parametrize("report", REPORTS)
def test_each_report_comes_as_csv_with_the_same_rows(client, history, report):
    # Given the history, and the report's JSON for a period of 46 days (#8 of 40 days ago included)
    period = {"from": str(utc_today() - dt.timedelta(days=45)), "to": str(utc_today())}
    answer = ok(get(client, report, **period))

    # When it is asked for with Accept: text/csv
    response = get(client, report, {**analyst(), "Accept": "text/csv"}, **period)

    # Then it is CSV: a header row of the item's fields, then the same rows
    assert csv_rows(response) == cells(report, answer["items"])
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{report}-{period["from"]}-{period["to"]}.csv"')
    assert response.headers["vary"] == "Accept"
    assert len(answer["items"]) >= 1


def test_the_workouts_show_each_workout_once_under_its_most_sent_spelling(client, history):
    # Given "Beast Mode Legs" sent three times and "beast  mode legs" twice, and an old workout
    # When an analyst asks for the most challenged workouts of the last 46 days
    items = ok(get(client, "workouts", **{"from": str(utc_today() - dt.timedelta(days=45))}))["items"]

    # Then the two spellings are one workout, with a target of the medians of its two attempts,
    # ahead of "Hill Run" (two sent, none taken on: no rates, no target) and the old workout
    assert [(row["workout_key"], row["workout_name"], row["challenges_sent"]) for row in items] == [
        ("beast mode legs", "Beast Mode Legs", 5), ("hill run", "Hill Run", 2), ("old workout", "Old Workout", 1)]
    legs = items[0]
    assert (legs["completion_rate"], legs["win_rate"], legs["abandonment_rate"]) == (0.4, 0.25, 0.5)
    assert (legs["target_duration_minutes"], legs["target_total_volume_kg"]) == (27.5, 4762.72)
    assert items[1]["win_rate"] is None and items[1]["target_duration_minutes"] is None

    # and `limit` keeps the top one only
    assert [row["workout_key"] for row in ok(get(client, "workouts", limit="1"))["items"]] == ["beast mode legs"]


def test_the_pairs_are_user_ids_with_the_most_challenges_either_way(client, history):
    # Given Ann and Ben, who sent each other three challenges (Ann one, Ben two)
    # When an analyst asks for the top pair
    [pair] = ok(get(client, "pairs", limit="1"))["items"]

    # Then it is theirs, as ids, with who sent how many
    a, b = sorted((history.ann, history.ben), key=uuid.UUID)
    assert pair == {"user_a": a, "user_b": b, "challenges": 3,
                    "sent_by_a": 1 if a == history.ann else 2, "sent_by_b": 2 if a == history.ann else 1}


def test_the_hours_are_the_senders_own_and_every_hour_of_the_week_is_listed(client, history):
    # Given Ann in Kolkata (UTC+5:30) who sent two challenges at 20:45 UTC three days ago, that
    # is 02:15 the next day for her, and Cat, whose zone the database does not know, at 10:10 UTC
    items = ok(get(client, "hours"))["items"]
    sent = {(row["iso_weekday"], row["hour"]): row["challenges_sent"] for row in items if row["challenges_sent"]}

    # Then Ann's count at 2 o'clock on her next weekday, and Cat's at 10 o'clock UTC
    ann_day = (utc_today() - dt.timedelta(days=2)).isoweekday()
    cat_day = (utc_today() - dt.timedelta(days=12)).isoweekday()
    assert sent[(ann_day, 2)] == 2 and sent[(cat_day, 10)] == 2
    assert len(items) == 168 and sum(sent.values()) == 7


@pytest.mark.parametrize("accept", ["text/html", "application/problem+json", "application/json, text/csv;q=0.5", "*/*"])
def test_an_accept_it_cannot_serve_or_preferring_json_gets_json(client, history, accept):
    # Given an analyst whose Accept prefers JSON or names nothing the API makes
    # When a report is asked for
    # Then it is JSON, as every answer of this API
    assert ok(get(client, "completion", {**analyst(), "Accept": accept}))["items"]


def test_a_csv_cell_that_a_spreadsheet_would_run_as_a_formula_is_quoted(client, conn):
    # Given a challenge to a workout named like a spreadsheet formula
    john, sarah = user(conn, "John"), user(conn, "Sarah")
    friends(conn, john, sarah)
    history_of.send(conn, john, [sarah], workout(conn, john, name='=HYPERLINK("http://evil.example")'))
    conn.commit()

    # When the workouts come as CSV
    [header, row] = csv_rows(get(client, "workouts", {**analyst(), "Accept": "text/csv"}))

    # Then its name starts with a quote, so the cell is text; JSON has it as it is
    assert row[header.index("workout_name")] == '\'=HYPERLINK("http://evil.example")'
    assert ok(get(client, "workouts"))["items"][0]["workout_name"] == '=HYPERLINK("http://evil.example")'


@pytest.mark.parametrize("report", REPORTS)
def test_only_an_analyst_may_read_analytics(client, history, report):
    # Given an athlete's token, a coach's, an admin's, and no token at all
    for role in (None, "coach", "admin"):
        token = issue_token(SETTINGS, history.ann, role=role)
        # When each asks for a report, Then it is a 403 problem, whatever its query
        for query in ({}, {"from": "nonsense"}):
            body = assert_problem(get(client, report, {"Authorization": f"Bearer {token}"}, **query),
                                  403, "forbidden")
            assert "analyst" in body["detail"]
    assert_problem(client.simulate_get(f"{API}/analytics/{report}"), 401, "unauthorized")


@pytest.mark.parametrize("query,field", [
    ({"from": "2026-13-01"}, "from"), ({"to": "yesterday"}, "to"), ({"from": "1999-12-31", "to": "2000-01-10"}, "from"),
    ({"to": "1999-12-31"}, "to"), ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
    ({"from": "2025-01-01", "to": "2026-01-02"}, "from"), ({"from": str(utc_today() + dt.timedelta(days=1))}, "from"),
    ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "ten"}, "limit"), ({"day": "2026-01-01"}, "day"),
])
def test_a_bad_period_or_limit_is_a_422_naming_it(client, history, query, field):
    # Given an analyst, When a top list is asked for with a bad value (a date that is none, before
    # 2000, `from` after `to` or more than 366 days before it, a limit out of 1-100, an unknown
    # parameter), Then it is a 422 naming the field
    assert_problem(get(client, "workouts", **query), 422, "validation_error", field)


def test_a_year_is_the_longest_period(client, history):
    # Given an analyst, When the completion is asked for 366 days (2024 was a leap year)
    answer = ok(get(client, "completion", **{"from": "2024-01-01", "to": "2024-12-31"}))

    # Then every ISO week touching the year is listed, from the Monday before New Year's Day
    assert (answer["items"][0]["week"], answer["items"][-1]["week"], len(answer["items"])) == (
        "2024-01-01", "2024-12-30", 53)
    # and `limit` belongs to the top lists only
    assert_problem(get(client, "hours", limit="5"), 422, "validation_error", "limit")


def test_no_answer_holds_a_name_or_an_athletes_own_quit_reason(client, history):
    # Given the history: display names, and Ann's quit in her own words (SECRET-TEXT)
    period = {"from": str(utc_today() - dt.timedelta(days=45))}

    # When every report is read, as JSON and as CSV
    bodies = [get(client, report, headers, **period).text
              for report in REPORTS for headers in (analyst(), {**analyst(), "Accept": "text/csv"})]

    # Then none holds her words, or any name, or any part of one; her quit counts as 'other'
    assert all(bodies)
    for body in bodies:
        assert SECRET not in body and "SECRET" not in body and "knee" not in body
        for name in NAMES.values():
            assert name not in body and name.split()[1] not in body
    quits = ok(get(client, "quit-reasons"))["items"]
    assert sorted((row["category"], row["quits"]) for row in quits) == [
        ("I give up 🏳️", 1), ("Too hard for me 😓", 1), ("other", 1)]


def test_a_report_slower_than_the_api_allows_is_a_503_that_says_to_ask_for_fewer_days(client, monkeypatch):
    # Given a report that takes longer than the API's statement timeout (1 s)
    monkeypatch.setattr(analytics.HoursAnalytics, "read",
                        lambda self, conn, query: conn.execute("SELECT pg_sleep(3)").fetchall())

    # When an analyst asks for it
    body = assert_problem(get(client, "hours"), 503, "service_unavailable")

    # Then it is a 503 naming PostgreSQL, saying what to do; and the next read works
    assert body["dependency"] == "postgres" and "fewer days" in body["detail"]
    monkeypatch.undo()
    assert len(ok(get(client, "hours"))["items"]) == 168


def test_the_document_offers_json_and_csv_for_each_report(client):
    # Given the OpenAPI document
    paths = client.simulate_get(f"{API}/openapi.json").json["paths"]

    for report in REPORTS:
        # When a report's operation is read
        operation = paths[f"{API}/analytics/{report}"]["get"]
        content = operation["responses"]["200"]["content"]

        # Then it answers JSON or CSV, each with an example, documents its 403, and takes a period
        assert set(content) == {"application/json", "text/csv"}
        header = content["text/csv"]["example"].splitlines()[0]
        assert header.split(",") == list(ITEMS[report]._declared_fields)
        assert content["application/json"]["example"]["items"]
        assert "403" in operation["responses"] and operation["tags"] == ["Analytics"]
        assert {"from", "to"} <= {parameter["name"] for parameter in operation["parameters"]}


# Schemathesis over the analytics operations, as an analyst (tests/api/test_schemathesis.py
# fuzzes every operation as a coach, to whom these answer 403).

@pytest.fixture
def analyst_schema(request, app, conn):
    if not hasattr(request.node, "_nodeid"):  # as in tests/api/test_schemathesis.py
        request.node._nodeid = request.node.nodeid
    history_of.build(conn)
    config = SchemathesisConfig.from_dict({
        "seed": 20261201, "suppress-health-check": ["too_slow", "filter_too_much"],
        "headers": analyst(), "generation": {"max-examples": 25, "deterministic": True, "database": "none"}})
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


analyst_fuzzing = schemathesis.pytest.from_fixture("analyst_schema").include(path_regex="^/api/v1/analytics/")


@analyst_fuzzing.parametrize()
@pytest.mark.filterwarnings("ignore:Do not use the `random` module:hypothesis.errors.HypothesisDeprecationWarning")
def test_every_analytics_answer_to_an_analyst_is_one_the_document_promises(case):
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                   response_headers_conformance, response_schema_conformance,
                                   negative_data_rejection])

