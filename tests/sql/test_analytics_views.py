"""The analytics views (sql/migrations/0021) as the analysts' role reads them: every report's
figures for a small history, nothing of the tables below them, never an athlete's own quit
reason, a period read as an index range; and the analytics dashboard's panels, each run as that
role over the last 30 days."""

import datetime as dt
import json
import re
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from core.db import configure_connection
from core.rules.challenges import QUIT_REASONS
from sql import queries
from tests import analytics_history as history_of
from tests.analytics_history import SECRET, at, utc_today

ANALYST = "challenges_analyst"
VIEWS = {"analytics.workouts", "analytics.hours", "analytics.pairs", "analytics.quit_reasons",
         "analytics.completion"}
DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "ops" / "analytics-dashboard.json"
Q = queries("api")


@contextmanager
def as_analyst(database: str):
    """A connection with the analysts' role and nothing more (the owner, SET ROLE)."""
    with psycopg.connect(database, row_factory=dict_row, autocommit=True) as conn:
        configure_connection(conn)
        conn.execute(f"SET ROLE {ANALYST}")
        yield conn


@pytest.fixture
def history(conn):
    return history_of.build(conn)


def last_30_days() -> tuple[dt.date, dt.date]:
    return utc_today() - dt.timedelta(days=29), utc_today()


def as_items(rows) -> list[dict]:
    return [{key: str(value) if key.startswith("user_") else value for key, value in row.items()} for row in rows]


def test_the_analysts_role_reads_every_report_of_the_history_from_the_views(database, history):
    # Given the history, and the last 30 days
    first, last = last_30_days()
    period = {"from_day": first, "to_day": last}

    # When the analysts' role runs each report's statement (the API's own)
    with as_analyst(database) as conn:
        workouts = list(Q.analytics_workouts(conn, **period, limit=20))
        hours = list(Q.analytics_hours(conn, **period))
        pairs = as_items(Q.analytics_pairs(conn, **period, limit=20))
        quits = list(Q.analytics_quit_reasons(conn, **period))
        completion = list(Q.analytics_completion(conn, **period))

    # Then each shows the history's figures, as the views alone give them
    assert workouts == history_of.expected_workouts(history, first, last)
    assert hours == history_of.expected_hours(history, first, last)
    assert pairs == history_of.expected_pairs(history, first, last)
    assert quits == history_of.expected_quits(history, first, last)
    assert completion == history_of.expected_completion(history, first, last)


def test_a_longer_period_counts_the_older_challenge_too(database, history):
    # Given the history, whose #8 (Dan's "Old Workout", declined) was sent 40 days ago
    first, last = utc_today() - dt.timedelta(days=45), utc_today()

    # When the last 46 days are read
    with as_analyst(database) as conn:
        workouts = list(Q.analytics_workouts(conn, from_day=first, to_day=last, limit=20))
        completion = list(Q.analytics_completion(conn, from_day=first, to_day=last))

    # Then the old workout is the third most challenged, and its week shows it sent and declined
    assert workouts == history_of.expected_workouts(history, first, last)
    assert workouts[-1]["workout_key"] == "old workout"
    assert completion == history_of.expected_completion(history, first, last)
    assert sum(week["declined"] for week in completion) == 2


def test_the_top_lists_stop_at_their_limit_and_a_period_without_challenges_is_zeros(database, history):
    # Given the history
    # When the top list of one is read, and a period a year ago
    with as_analyst(database) as conn:
        top_workout = list(Q.analytics_workouts(conn, from_day=utc_today() - dt.timedelta(days=29),
                                                to_day=utc_today(), limit=1))
        top_pair = as_items(Q.analytics_pairs(conn, from_day=utc_today() - dt.timedelta(days=29),
                                              to_day=utc_today(), limit=1))
        year_ago = {"from_day": utc_today() - dt.timedelta(days=400), "to_day": utc_today() - dt.timedelta(days=380)}
        empty = [list(query(conn, **year_ago, **extra)) for query, extra in (
            (Q.analytics_workouts, {"limit": 20}), (Q.analytics_pairs, {"limit": 20}),
            (Q.analytics_quit_reasons, {}))]
        quiet_hours = list(Q.analytics_hours(conn, **year_ago))
        quiet_weeks = list(Q.analytics_completion(conn, **year_ago))

    # Then the top is the most challenged workout and the pair of Ann and Ben (three challenges)
    assert [row["workout_key"] for row in top_workout] == ["beast mode legs"]
    assert [(row["challenges"], {row["user_a"], row["user_b"]}) for row in top_pair] == [
        (3, {history.ann, history.ben})]
    # and a year ago lists nothing, but every hour and week, at zero
    assert empty == [[], [], []]
    assert len(quiet_hours) == 168 and {row["challenges_sent"] for row in quiet_hours} == {0}
    assert len(quiet_weeks) in (3, 4) and {row["sent"] for row in quiet_weeks} == {0}


def readable_relations(conn, role: str) -> set[str]:
    return {row["name"] for row in conn.execute(
        "SELECT c.oid::regclass::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        " WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        "   AND has_schema_privilege(%s, n.oid, 'USAGE') AND has_any_column_privilege(%s, c.oid, 'SELECT')",
        (role, role))}


def test_the_analysts_role_can_read_the_analytics_views_and_nothing_else(conn):
    # Given the migrated schema
    # When the catalog lists every relation the analysts' role can read
    readable = readable_relations(conn, ANALYST)
    role = conn.execute("SELECT rolcanlogin, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s",
                        (ANALYST,)).fetchone()

    # Then it is exactly the five views, for a role that cannot log in or bypass anything
    assert readable == VIEWS
    assert role == {"rolcanlogin": False, "rolsuper": False, "rolbypassrls": False}


@pytest.mark.parametrize("relation", ["public.workout_challenges", "users", "challenges_as_seen",
                                      "public_profiles", "crowd_athletes", "events"])
def test_the_analysts_role_cannot_read_a_table_or_view_below_the_analytics(database, history, relation):
    # Given the history, When the analysts' role reads one of the relations the views read
    # Then permission is denied
    with as_analyst(database) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"SELECT count(*) FROM {relation}")


def test_the_analysts_role_cannot_change_anything(database, history):
    with as_analyst(database) as conn:
        for statement in ("DELETE FROM analytics.workouts", "CREATE VIEW analytics.mine AS SELECT 1",
                          "UPDATE workout_challenges SET quit_reason = 'x'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_the_api_role_reads_the_views_as_a_member_of_the_analysts_role(conn):
    # Given the migrated schema
    # When the API's role's memberships are read
    member = conn.execute("SELECT pg_has_role('challenges_api', %s, 'USAGE') AS member", (ANALYST,)).fetchone()

    # Then it is a member, and reads the views (tests/sql/test_privacy.py lists their columns)
    assert member == {"member": True}
    assert VIEWS <= readable_relations(conn, "challenges_api")


def categories(database) -> dict:
    with as_analyst(database) as conn:
        return {row["category"]: row["quits"] for row in conn.execute(
            "SELECT category, sum(quits)::integer AS quits FROM analytics.quit_reasons GROUP BY category")}


def test_a_quit_counts_under_its_preset_or_other_and_never_as_the_athletes_words(conn, database, history):
    # Given the history's three quits: Ann's in her own words (not classified yet), her "Too hard
    # for me", and Cat's "I give up" on a rematch
    assert categories(database) == {"other": 1, "Too hard for me 😓": 1, "I give up 🏳️": 1}
    quit = history.ids[2]

    # When her own words are classified as each preset in turn (the indexer's nearest preset)
    # Then the quit counts under that preset: the view knows every one of QUIT_REASONS
    for preset in QUIT_REASONS:
        conn.execute("UPDATE workout_challenges SET quit_category = %s WHERE id = %s", (preset, quit))
        conn.commit()
        assert categories(database).get(preset, 0) == 1 + (preset in ("Too hard for me 😓", "I give up 🏳️")), preset

    # and a category that is no preset at all (her words themselves, as a faulty classifier could
    # store them) counts as 'other', never as the words
    conn.execute("UPDATE workout_challenges SET quit_category = quit_reason WHERE id = %s", (quit,))
    conn.commit()
    assert categories(database) == {"other": 1, "Too hard for me 😓": 1, "I give up 🏳️": 1}
    with as_analyst(database) as analyst:
        everything = json.dumps([analyst.execute(f"SELECT * FROM {view}").fetchall() for view in sorted(VIEWS)],
                                default=str, ensure_ascii=False)
    assert SECRET not in everything
    assert not any(name in everything for name in history_of.NAMES.values())


@pytest.mark.parametrize("report,index", [
    ("analytics_workouts", "workout_challenges_sent_by_day"), ("analytics_hours", "workout_challenges_sent_by_day"),
    ("analytics_pairs", "workout_challenges_sent_by_day"), ("analytics_completion", "workout_challenges_sent_by_day"),
    ("analytics_quit_reasons", "workout_challenges_quits_by_day")])
def test_a_period_reaches_the_table_as_a_range_of_its_index(database, report, index):
    # Given a report's statement over the last 30 days, with a sequential scan out of the question
    first, last = last_30_days()

    # When PostgreSQL plans it
    with as_analyst(database) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(row["QUERY PLAN"] for row in conn.execute(
            "EXPLAIN " + getattr(Q, report).sql, {"from_day": first, "to_day": last, "limit": 20}))

    # Then it reads workout_challenges through the index, on the period's days: the condition
    # on the view's `day` reached the table through the view
    assert re.search(rf"Index (Only )?Scan.* on {index}|Index Scan using {index}", plan), plan
    assert f"'{first}'::date" in plan and "Seq Scan on workout_challenges" not in plan, plan


# The dashboard --------------------------------------------------------------------------------

def expand_macros(sql: str, start: dt.datetime, end: dt.datetime) -> str:
    """Grafana's PostgreSQL macros, as Grafana expands them for the time range [start, end]."""
    rfc3339 = "%Y-%m-%dT%H:%M:%SZ"
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)",
                 lambda m: f"{m[1].strip()} BETWEEN '{start:{rfc3339}}' AND '{end:{rfc3339}}'", sql)
    sql = sql.replace("$__timeFrom()", f"'{start:{rfc3339}}'").replace("$__timeTo()", f"'{end:{rfc3339}}'")
    assert "$" not in sql, sql
    return sql


def panels() -> dict[str, str]:
    dashboard = json.loads(DASHBOARD.read_text())
    found = {}
    for panel in dashboard["panels"]:
        assert panel["datasource"]["type"] == "grafana-postgresql-datasource", panel["title"]
        [target] = panel["targets"]
        assert target["rawQuery"] and target["format"] in {"table", "time_series"}, panel["title"]
        found[panel["title"]] = target["rawSql"]
    return found


def midnight_utc(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def test_the_dashboard_has_a_panel_for_each_view_and_reads_nothing_else():
    # Given the dashboard's panels
    sql = panels()

    # When the relations their SQL reads are picked out
    relations = {name for text in sql.values() for name in re.findall(r"\b(?:FROM|JOIN)\s+([\w.]+)", text)}

    # Then every analytics view has a panel, and no panel reads anything but the views (and series)
    assert {name for name in relations if name.startswith("analytics.")} == VIEWS
    assert relations - VIEWS <= {"spellings", "top", "targets", "generate_series"}


def test_every_panel_of_the_dashboard_shows_the_history_when_run_as_the_analysts_role(database, history):
    # Given the history, and Grafana's "Last 30 days" (from 30 days ago at this time to now)
    end = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    start = end - dt.timedelta(days=30)
    first, last = start.date(), end.date()

    # When each panel's SQL, its macros expanded for that range, runs as the analysts' role
    with as_analyst(database) as conn:
        shown = {title: conn.execute(expand_macros(sql, start, end)).fetchall() for title, sql in panels().items()}

    # Then each panel shows the history's figures
    workouts = history_of.expected_workouts(history, first, last)
    assert shown["Most challenged workouts"] == [
        {"workout": row["workout_name"], "sent": row["challenges_sent"], "completion rate": row["completion_rate"],
         "win rate": row["win_rate"], "abandonment rate": row["abandonment_rate"],
         "target minutes": row["target_duration_minutes"], "target kg": row["target_total_volume_kg"]}
        for row in workouts]
    hours = {(row["iso_weekday"], row["hour"]): row["challenges_sent"]
             for row in history_of.expected_hours(history, first, last)}
    weekdays = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    assert shown["Challenges sent by hour and weekday"] == [
        {"hour": hour, **{name: hours[(number, hour)] for number, name in enumerate(weekdays, 1)}}
        for hour in range(24)]
    assert as_items(shown["Pairs with the most challenges"]) == history_of.expected_pairs(history, first, last)
    assert shown["Quits by reason"] == sorted(
        ({"time": midnight_utc(row["week"]), "metric": row["category"], "quits": row["quits"]}
         for row in history_of.expected_quits(history, first, last)), key=lambda row: (row["time"], row["metric"]))
    assert shown["What became of the challenges sent"] == [
        {"time": midnight_utc(row["week"]), **{key: value for key, value in row.items() if key != "week"}}
        for row in history_of.expected_completion(history, first, last) if row["sent"]]
    assert at(40, 9).date() < first  # the old challenge is outside the range, and in no panel
