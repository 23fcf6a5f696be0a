"""Text and times are handled evenly (issue 25, item 7): every free-text field is trimmed of
surrounding whitespace and invisible characters (U+200B, U+FEFF, U+00A0...); a blank one is a 422
naming it, or, where the field has a documented default, gets that default; a logged workout or
habit dated before 2000 is a 422 naming its time, and nothing is stored or queued."""

import datetime as dt

import pytest

from jobs.tokens import issue_token
from tests.api.support import assert_problem, snapshot
from tests.conftest import SETTINGS

WORKOUT = {"workout_name": "Beast Mode Legs", "duration_minutes": 35, "total_volume": 10000,
           "volume_unit": "lb"}
HABIT = {"habit_name": "water", "value": 8}
# Text that shows nothing: spaces, a zero-width space, a byte order mark, no-break spaces.
BLANKS = {
    "spaces": "   ",
    "zero-width-space": "\u200b",
    "byte-order-mark": "\ufeff",
    "no-break-spaces": "\u00a0\u00a0",
    "mixed": " \u200b\t\u2060\u3000\n",
}


def coach_token(coach: str) -> str:
    return issue_token(SETTINGS, coach, role="coach")


@pytest.fixture
def john(api):
    return api.sign_up("John")


def me(api, user) -> dict:
    response = api.get("/me", user)
    assert response.status_code == 200, response.text
    return response.json


def workouts(api, user) -> list[dict]:
    response = api.get("/workouts", user)
    assert response.status_code == 200, response.text
    return response.json["items"]


def points(api, user) -> dict:
    response = api.get("/points", user)
    assert response.status_code == 200, response.text
    return response.json


# Blank required text: a 422 naming the field ---------------------------------------------------

@pytest.mark.parametrize("blank", list(BLANKS))
def test_a_blank_display_name_is_refused_and_the_old_one_kept(api, conn, redis_client, john, blank):
    # Given John, and a display name of only invisible characters
    before = snapshot(conn, redis_client)

    # When he sets it
    response = api.put("/me", john, {"display_name": BLANKS[blank]})

    # Then 422 naming display_name, nothing stored, and he is still "John"
    assert_problem(response, 422, "validation_error", "display_name")
    assert snapshot(conn, redis_client) == before
    assert me(api, john)["display_name"] == "John"


@pytest.mark.parametrize("blank", list(BLANKS))
def test_a_blank_workout_name_is_refused_and_nothing_logged(api, conn, redis_client, john, blank):
    # Given a workout named with only invisible characters
    before = snapshot(conn, redis_client)

    # When John logs it
    response = api.post("/workouts", john, {**WORKOUT, "workout_name": BLANKS[blank]})

    # Then 422 naming workout_name, no job, no row, and no workout in his list
    assert_problem(response, 422, "validation_error", "workout_name")
    assert snapshot(conn, redis_client) == before
    assert workouts(api, john) == []


@pytest.mark.parametrize("path, body, field", [
    ("/habits", {**HABIT, "habit_name": "\u200b"}, "habit_name"),
    ("/habits", {**HABIT, "habit_name": "\ufeff\u00a0"}, "habit_name"),
])
def test_a_habit_named_only_with_invisible_characters_is_refused(api, conn, redis_client, john,
                                                                 path, body, field):
    # Given a habit whose name is only invisible characters (plain spaces were already refused)
    before = snapshot(conn, redis_client)

    # When John logs it
    response = api.post(path, john, body)

    # Then 422 naming habit_name, and nothing stored
    assert_problem(response, 422, "validation_error", field)
    assert snapshot(conn, redis_client) == before


def test_a_quit_reason_of_a_zero_width_space_is_refused(api, conn, redis_client, cast, accepted):
    # Given Sarah's accepted challenge
    before = snapshot(conn, redis_client)

    # When she quits with a reason that is a zero-width space
    response = api.post(f"/challenges/abandon/{accepted}", cast.sarah, {"quit_reason": "\u200b"})

    # Then 422 naming quit_reason, and the challenge is still accepted
    assert_problem(response, 422, "validation_error", "quit_reason")
    assert snapshot(conn, redis_client) == before
    assert api.get(f"/challenges/{accepted}", cast.sarah).json["status"] == "accepted"


@pytest.mark.parametrize("field", ["name", "habit_name", "unit"])
def test_a_community_challenge_with_invisible_text_is_refused(api, conn, redis_client, john, field):
    # Given a coach, and a habit challenge one of whose words is a zero-width space
    body = {"name": "Hydrate", "challenge_type": "habit", "habit_name": "water", "unit": "glasses",
            "target_value": 20, "duration_days": 30, field: "\u200b"}
    before = snapshot(conn, redis_client)

    # When the coach creates it
    response = api.post("/community-challenges", None, body, token=coach_token(john))

    # Then 422 naming that field, and nothing stored
    assert_problem(response, 422, "validation_error", field)
    assert snapshot(conn, redis_client) == before


# Text is trimmed -------------------------------------------------------------------------------

def test_names_are_kept_without_surrounding_spaces_or_invisible_characters(api, john):
    # Given names padded with spaces, a byte order mark and a zero-width space
    # When John sets his display name and logs a workout with them
    assert api.put("/me", john, {"display_name": "\ufeff  Johnny \u200b"}).status_code == 200
    api.log_workout(john, name="\u00a0 Leg Day\u200b ")

    # Then both are stored trimmed
    assert me(api, john)["display_name"] == "Johnny"
    assert [w["workout_name"] for w in workouts(api, john)] == ["Leg Day"]


def test_a_coachs_padded_habit_name_is_the_unit_without_its_spaces(api, john):
    # Given a coach's habit challenge for "  Water " with no unit of its own
    challenge_id = api.create_community(john, name="  Hydrate ", challenge_type="habit",
                                        habit_name="  Water ", target_value=20)

    # When it is read back
    response = api.get(f"/community-challenges/{challenge_id}", john)

    # Then the habit, the unit (the habit's name) and the name carry no spaces
    assert response.status_code == 200, response.text
    seen = response.json
    assert (seen["name"], seen["habit_name"], seen["unit"]) == ("Hydrate", "Water", "Water")


def test_a_padded_quit_reason_is_kept_trimmed(api, cast, accepted):
    # When Sarah quits with a reason padded by spaces and a zero-width space
    response = api.post(f"/challenges/abandon/{accepted}", cast.sarah,
                        {"quit_reason": "  Too hard for me 😓\u200b "})

    # Then the reason shown is trimmed (the emoji kept)
    assert response.status_code == 200, response.text
    assert api.get(f"/challenges/{accepted}", cast.sarah).json["quit_reason"] == "Too hard for me 😓"


# Blank optional text: its documented default ---------------------------------------------------

@pytest.fixture
def lost(api, cast, accepted):
    """Sarah lost John's challenge: she may retry it."""
    response = api.post(f"/challenges/complete/{accepted}", cast.sarah,
                        {"duration_minutes": 45, "total_volume": 5000, "volume_unit": "kg"})
    assert response.status_code == 200, response.text
    return accepted


@pytest.mark.parametrize("blank", list(BLANKS))
def test_a_blank_rematch_message_is_round_two_like_an_empty_one(api, cast, lost, blank):
    # Given Sarah's lost challenge
    # When she asks for a rematch with a message of only invisible characters
    response = api.post(f"/challenges/retry/{lost}", cast.sarah, {"message": BLANKS[blank]})

    # Then John's new round says "Round 2! 💪", as for "" or no message
    assert response.status_code == 201, response.text
    [rematch] = response.json["challenge_ids"]
    assert api.get(f"/challenges/{rematch}", cast.john).json["challenge_message"] == "Round 2! 💪"


def test_a_padded_rematch_message_is_kept_trimmed(api, cast, lost):
    # When Sarah asks for a rematch with a padded message
    response = api.post(f"/challenges/retry/{lost}", cast.sarah, {"message": "\u200b  Again! "})

    # Then John sees it trimmed
    assert response.status_code == 201, response.text
    [rematch] = response.json["challenge_ids"]
    assert api.get(f"/challenges/{rematch}", cast.john).json["challenge_message"] == "Again!"


def test_blank_notes_are_no_notes(api, john):
    # When John logs a workout whose notes are only spaces and a zero-width space
    response = api.post("/workouts", john, {**WORKOUT, "notes": "  \u200b "})

    # Then it is logged, without notes
    assert response.status_code == 201, response.text
    assert [w["notes"] for w in workouts(api, john)] == [None]


# Log times: not before 2000 --------------------------------------------------------------------

@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z",
                                  "1999-12-31T23:59:59Z", "2000-01-01T00:30:00+01:00"])
@pytest.mark.parametrize("path, body, field", [("/workouts", WORKOUT, "performed_at"),
                                               ("/habits", HABIT, "logged_at")])
def test_a_log_dated_before_2000_is_refused_and_earns_nothing(api, conn, redis_client, john, when, path, body,
                                                              field):
    # Given a workout or habit dated before 2000 (0001-01-01 is a client's empty date)
    before = snapshot(conn, redis_client)
    points_before = points(api, john)

    # When John logs it
    response = api.post(path, john, {**body, field: when})

    # Then 422 naming the time, nothing stored or queued, and no points
    assert_problem(response, 422, "validation_error", field)
    assert snapshot(conn, redis_client) == before
    assert points(api, john) == points_before


@pytest.mark.parametrize("path, body, field", [
    ("/workouts", WORKOUT, "performed_at"),
    ("/habits", HABIT, "logged_at"),
])
def test_a_log_dated_a_day_ahead_is_refused(api, conn, redis_client, john, path, body, field):
    # Given a log dated a day and an hour ahead (from now, whenever the test runs)
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1, hours=1)).isoformat()
    before = snapshot(conn, redis_client)

    # When John sends it
    response = api.post(path, john, {**body, field: when})

    # Then 422 naming the time, and nothing stored
    assert_problem(response, 422, "validation_error", field)
    assert snapshot(conn, redis_client) == before


@pytest.mark.parametrize("path, body, field", [
    ("/workouts", WORKOUT, "performed_at"),
    ("/habits", HABIT, "logged_at"),
])
def test_a_log_dated_at_the_start_of_2000_is_taken(api, john, path, body, field):
    # When John logs something done at the first accepted instant
    response = api.post(path, john, {**body, field: "2000-01-01T00:00:00Z"})

    # Then it is taken
    assert response.status_code == 201, response.text
