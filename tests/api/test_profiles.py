"""One rule for a user's existence: a user exists from their first accepted command, with the
default profile until PUT /me changes it; before that, GET /me says there is no profile."""

import uuid

from tests.api.support import assert_problem

DEFAULTS = {"display_name": "", "avatar_url": None, "timezone": "UTC"}


def test_before_any_command_there_is_no_profile(api):
    # Given a valid token for someone who has never sent a command
    newcomer = str(uuid.uuid4())

    # When they read their profile
    response = api.get("/me", newcomer)

    # Then it is a 404 that says why, with its own code
    assert_problem(response, 404, "no_profile")
    assert "first command" in response.json["detail"]


def test_after_a_first_command_the_profile_has_the_defaults(api):
    # Given someone whose first command is a workout log, never a PUT /me
    newcomer = str(uuid.uuid4())
    logged = api.post("/workouts", newcomer, {"workout_name": "Leg Day", "duration_minutes": 30,
                                              "total_volume": 100})
    assert logged.status_code == 201, logged.text

    # When they read their profile, and a friend-to-be reads theirs
    mine = api.get("/me", newcomer)
    seen = api.get(f"/users/{newcomer}", api.sign_up("Sarah"))

    # Then both are the defaults, with the workout's points on their own
    assert mine.status_code == 200, mine.text
    assert {key: mine.json[key] for key in DEFAULTS} == DEFAULTS
    assert mine.json["points"] == logged.json["result"]["points"] > 0
    assert seen.status_code == 200, seen.text
    assert (seen.json["display_name"], seen.json["is_friend"]) == ("", False)
    assert "timezone" not in seen.json


def test_put_me_changes_only_what_it_sends(api):
    # Given a user with the defaults
    newcomer = str(uuid.uuid4())
    assert api.post("/habits", newcomer, {"habit_name": "water"}).status_code == 201

    # When they set their name only
    response = api.put("/me", newcomer, {"display_name": "Nina"})

    # Then the job's result is the profile after the change, the rest still the defaults
    assert response.status_code == 200, response.text
    assert response.json["result"]["user"] == {"id": newcomer, **DEFAULTS, "display_name": "Nina"}
