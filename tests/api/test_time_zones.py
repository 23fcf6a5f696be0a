"""A time zone PUT /me accepts is one the database can count streaks in, so it can never break
the user's later commands; and a stored zone the database does not know (after a restore onto
an older PostgreSQL) is counted as UTC, never a 500.

The first tests run on the embedded PostgreSQL that `challenges dev` starts (pgserver), whose
tzdata is older than Python's: America/Coyhaique (tzdata 2025b) was accepted by the API, then
every workout, habit and GET /points of that user failed in SQL."""

import datetime as dt
import logging
import uuid
import zoneinfo
from dataclasses import replace

import pytest

from api.schemas.users import PSEUDO_ZONES
from tests.api.support import assert_problem
from tests.conftest import SETTINGS
from tests.faults.harness import PostgresServer
from tests.helpers import API, serving

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """The embedded PostgreSQL of `challenges dev` (pgserver's binaries), migrated."""
    server = PostgresServer(tmp_path_factory.mktemp("embedded-postgres")).init()
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def embedded_api(embedded):
    """The API on that PostgreSQL (read as challenges_api, as in production)."""
    with serving(replace(SETTINGS, database_url=embedded.url, api_database_url="")) as client:
        yield client


def put_me(client, user: str, body: dict):
    from jobs.tokens import issue_token

    # No `Prefer: wait`: no worker runs on this database; an accepted command answers 202.
    return client.simulate_put(API + "/me", json=body,
                               headers={"Authorization": f"Bearer {issue_token(SETTINGS, user)}"})


def zones_python_knows_but(server: PostgresServer) -> list[str]:
    with server.connect() as conn:
        known = {name for (name,) in conn.execute("SELECT name FROM pg_timezone_names")}
    return sorted(zoneinfo.available_timezones() - known - PSEUDO_ZONES)


def test_a_zone_the_database_does_not_know_is_refused(embedded, embedded_api):
    # Given a zone Python's tzdata has and this PostgreSQL's does not (America/Coyhaique today)
    missing = zones_python_knows_but(embedded)
    if not missing:
        pytest.skip("this PostgreSQL knows every zone Python does")
    zone = "America/Coyhaique" if "America/Coyhaique" in missing else missing[0]

    # When a user sets it as their time zone
    response = put_me(embedded_api, str(uuid.uuid4()), {"display_name": "Ana", "timezone": zone})

    # Then 422 naming `timezone`, saying the server does not know it
    body = assert_problem(response, 422, "validation_error", "timezone")
    assert "does not know" in " ".join(body["errors"]["timezone"]), body


def test_a_zone_the_database_knows_is_accepted(embedded_api):
    # Given a zone every tzdata has
    # When a user sets it
    response = put_me(embedded_api, str(uuid.uuid4()), {"timezone": "America/Santiago"})

    # Then the command is accepted
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules"])
def test_a_pseudo_zone_is_refused(api, zone):
    # Given a tzdata name that is no place's time (the server's clock, "unknown", a template)
    # When a user sets it as their time zone
    response = api.put("/me", str(uuid.uuid4()), {"timezone": zone})

    # Then 422 naming `timezone`
    assert_problem(response, 422, "validation_error", "timezone")


def test_a_legacy_zone_name_is_accepted(api):
    # Given a legacy name tzdata still has (a link to America/New_York)
    user = str(uuid.uuid4())

    # When a user sets it
    response = api.put("/me", user, {"timezone": "US/Eastern"})

    # Then it is their time zone
    assert response.status_code == 200, response.text
    assert api.get("/me", user).json["timezone"] == "US/Eastern"


def test_a_stored_zone_the_database_no_longer_knows_counts_as_utc(api, conn, caplog):
    # Given a user whose stored zone this database does not know (restored from a newer one)
    user = api.sign_up("Rosa")
    conn.execute("UPDATE users SET timezone = 'America/Not_Yet_A_Zone' WHERE id = %s", (user,))
    conn.commit()
    caplog.set_level(logging.WARNING, logger="core.db")

    # When they log a workout yesterday and one now, a habit, and read their points
    now = dt.datetime.now(UTC)
    api.log_workout(user, performed_at=(now - dt.timedelta(days=1)).isoformat())
    api.log_workout(user, performed_at=now.isoformat())
    api.log_habit(user)
    points = api.get("/points", user)

    # Then everything worked, the streak counted in UTC (two consecutive UTC days)
    assert points.status_code == 200, points.text
    assert points.json["current_streak"] == 2, points.json
    assert points.json["total"] > 0
    # and a log line says which zone was counted as UTC
    assert any("America/Not_Yet_A_Zone" in record.getMessage() and "UTC" in record.getMessage()
               for record in caplog.records), [record.getMessage() for record in caplog.records]
