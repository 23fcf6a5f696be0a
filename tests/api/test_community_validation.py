"""Community challenges and habit logs at their edges: every body or query that breaks a rule is
answered 422 `validation_error` naming the field, every refused role or join is answered with the
code a client can act on, and a refusal never leaves a job, a row or a participant behind. The
worker checks a join again under the challenge's row lock, so a join that got past the API's
early answer is still refused."""

import datetime as dt
import time

import jwt
import pytest

from core.commands import CommandRejected
from core.rules.community import join_community_challenge
from jobs.maintenance import close_ended_community_challenges
from jobs.tokens import issue_token
from tests.api.support import assert_problem, new_id, send_raw, snapshot
from tests.conftest import SETTINGS

CHALLENGE = {"name": "20 Workouts in 30 Days", "challenge_type": "workouts", "target_value": 20,
             "duration_days": 30}
HABIT = {"habit_name": "water", "value": 1}


def community(**changes) -> dict:
    """A valid community challenge body with `changes` applied (a value of ... removes the field)."""
    body = {**CHALLENGE, **changes}
    return {name: value for name, value in body.items() if value is not ...}


def habit(**changes) -> dict:
    body = {**HABIT, **changes}
    return {name: value for name, value in body.items() if value is not ...}


def from_now(**delta) -> str:
    """An ISO 8601 instant with its offset, `delta` from now."""
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta)).isoformat()


def token(user: str, role: str | None = "coach") -> str:
    return issue_token(SETTINGS, user, role=role)


def create(api, coach: str, body, role: str | None = "coach"):
    """POST /community-challenges with a token carrying `role`."""
    return api.post("/community-challenges", None, body, token=token(coach, role))


def listed_ids(api, user: str) -> list[str]:
    response = api.get("/community-challenges", user)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json["items"]]


def end_challenge(conn, challenge_id: str, days: int = 31) -> None:
    """Move a challenge's whole window `days` back (keeping ends_at = starts_at + duration)."""
    conn.execute("UPDATE challenges SET starts_at = starts_at - make_interval(days => %s),"
                 " ends_at = ends_at - make_interval(days => %s) WHERE id = %s",
                 (days, days, challenge_id))
    conn.commit()


@pytest.fixture
def coach(api):
    return api.sign_up("Coach Kim")


@pytest.fixture
def dan(api):
    return api.sign_up("Dan")


# POST /community-challenges: the body ---------------------------------------------------------

CREATE_CASES = {
    "missing-name": (community(name=...), ["name"]),
    "empty-name": (community(name=""), ["name"]),
    "blank-name": (community(name="   "), ["name"]),
    "name-121-chars": (community(name="x" * 121), ["name"]),
    "name-with-nul": (community(name="Leg\u0000day"), ["name"]),
    "missing-type": (community(challenge_type=...), ["challenge_type"]),
    "type-running": (community(challenge_type="running"), ["challenge_type"]),
    "type-uppercase": (community(challenge_type="WORKOUTS"), ["challenge_type"]),
    "type-a-list": (community(challenge_type=["workouts"]), ["challenge_type"]),
    "missing-target": (community(target_value=...), ["target_value"]),
    "target-0": (community(target_value=0), ["target_value"]),
    "target-negative": (community(target_value=-1), ["target_value"]),
    "target-ten-as-a-word": (community(target_value="ten"), ["target_value"]),
    "target-NaN-string": (community(target_value="NaN"), ["target_value"]),
    "target-nan-string": (community(target_value="nan"), ["target_value"]),
    "target-Infinity-string": (community(target_value="Infinity"), ["target_value"]),
    "target-minus-inf-string": (community(target_value="-inf"), ["target_value"]),
    "target-over-a-billion": (community(target_value=1_000_000_001), ["target_value"]),
    "target-1e12": (community(target_value=1e12), ["target_value"]),
    "target-null": (community(target_value=None), ["target_value"]),
    "target-a-boolean": (community(target_value=True), ["target_value"]),
    "missing-duration": (community(duration_days=...), ["duration_days"]),
    "duration-0": (community(duration_days=0), ["duration_days"]),
    "duration-366": (community(duration_days=366), ["duration_days"]),
    "duration-1.5": (community(duration_days=1.5), ["duration_days"]),
    "duration-a-string": (community(duration_days="30"), ["duration_days"]),
    "duration-a-boolean": (community(duration_days=True), ["duration_days"]),
    "points-negative": (community(points_reward=-1), ["points_reward"]),
    "points-100001": (community(points_reward=100_001), ["points_reward"]),
    "points-a-float": (community(points_reward=10.5), ["points_reward"]),
    "max-participants-0": (community(max_participants=0), ["max_participants"]),
    "max-participants-negative": (community(max_participants=-3), ["max_participants"]),
    "max-participants-over-a-million": (community(max_participants=1_000_001), ["max_participants"]),
    "max-participants-a-string": (community(max_participants="10"), ["max_participants"]),
    "habit-name-for-workouts": (community(habit_name="water"), ["habit_name"]),
    "habit-name-for-volume": (community(challenge_type="volume", habit_name="water"), ["habit_name"]),
    "unit-lb-for-volume": (community(challenge_type="volume", unit="lb"), ["unit"]),
    "unit-hours-for-duration": (community(challenge_type="duration", unit="hours"), ["unit"]),
    "unit-reps-for-workouts": (community(unit="reps"), ["unit"]),
    "unit-blank-for-habit": (community(challenge_type="habit", unit="  "), ["unit"]),
    "unit-31-chars-for-habit": (community(challenge_type="habit", unit="u" * 31), ["unit"]),
    "starts-at-without-offset": (community(starts_at="2030-05-01T10:00:00"), ["starts_at"]),
    "starts-at-not-a-date": (community(starts_at="tomorrow"), ["starts_at"]),
    "starts-at-over-a-year-ahead": (community(starts_at=from_now(days=366)), ["starts_at"]),
    "starts-at-so-early-it-is-over": (community(starts_at=from_now(days=-31)), ["starts_at"]),
    "starts-at-ending-right-now": (community(duration_days=1, starts_at=from_now(days=-1, minutes=-1)),
                                   ["starts_at"]),
    "description-2001-chars": (community(description="d" * 2001), ["description"]),
    "description-null": (community(description=None), ["description"]),
    "unknown-field": (community(color="red"), ["color"]),
}


@pytest.mark.parametrize("case", list(CREATE_CASES))
def test_an_invalid_community_challenge_is_refused_and_nothing_is_stored(api, conn, redis_client, coach,
                                                                         case):
    # Given a coach, and a challenge body that breaks a rule
    body, fields = CREATE_CASES[case]
    before = snapshot(conn, redis_client)

    # When the coach creates it
    response = create(api, coach, body)

    # Then 422 naming the field, no job and no challenge; the open list stays empty
    assert_problem(response, 422, "validation_error", *fields)
    assert snapshot(conn, redis_client) == before
    assert listed_ids(api, coach) == []


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_non_finite_target_is_refused(api, conn, redis_client, coach, number):
    # Given a body whose target is a number JSON cannot express (Python's json reads it anyway)
    body = ('{"name":"x","challenge_type":"workouts","duration_days":30,'
            f'"target_value":{number}}}')
    before = snapshot(conn, redis_client)

    # When the coach posts it as raw text
    response = send_raw(api, "POST", "/community-challenges", None, body,
                        headers={"Authorization": f"Bearer {token(coach)}"})

    # Then 422 on target_value, and nothing stored
    assert_problem(response, 422, "validation_error", "target_value")
    assert snapshot(conn, redis_client) == before


def test_several_broken_fields_are_all_named_at_once(api, conn, redis_client, coach):
    # Given a body with four problems
    body = {"name": "", "challenge_type": "running", "target_value": 0, "duration_days": 366}
    before = snapshot(conn, redis_client)

    # When the coach posts it
    response = create(api, coach, body)

    # Then every one of them is named, and nothing stored
    assert_problem(response, 422, "validation_error",
                   "name", "challenge_type", "target_value", "duration_days")
    assert snapshot(conn, redis_client) == before


@pytest.mark.parametrize("raw,status,code,field", [
    ("{not json", 400, "bad_request", None),
    ("", 400, "bad_request", None),
    ("[1, 2, 3]", 422, "validation_error", "_schema"),
    ('"a string"', 422, "validation_error", "_schema"),
    ("null", 422, "validation_error", "_schema"),
])
def test_a_body_that_is_not_a_json_object_is_refused(api, conn, redis_client, coach, raw, status, code,
                                                     field):
    # Given a body that is not JSON at all, or JSON but not an object
    before = snapshot(conn, redis_client)

    # When the coach posts it
    response = send_raw(api, "POST", "/community-challenges", None, raw,
                        headers={"Authorization": f"Bearer {token(coach)}"})

    # Then 400 for what is not JSON, 422 for what is not an object; nothing stored
    assert_problem(response, status, code, *([field] if field else []))
    assert snapshot(conn, redis_client) == before


def test_a_list_body_is_refused_through_the_json_client(api, conn, redis_client, coach):
    # Given a body that is a JSON list of challenges
    before = snapshot(conn, redis_client)

    # When the coach posts it
    response = create(api, coach, [CHALLENGE])

    # Then 422: the body must be an object; nothing stored
    assert_problem(response, 422, "validation_error", "_schema")
    assert snapshot(conn, redis_client) == before


ACCEPTED_CASES = {
    "kg-for-volume": (community(challenge_type="volume", unit="kg"), "kg"),
    "minutes-for-duration": (community(challenge_type="duration", unit="minutes"), "minutes"),
    "workouts-for-workouts": (community(unit="workouts"), "workouts"),
    "glasses-for-habit": (community(challenge_type="habit", habit_name="water", unit="glasses"), "glasses"),
    "pages-for-any-habit": (community(challenge_type="habit", unit="pages"), "pages"),
    "hours-for-habit": (community(challenge_type="habit", unit="hours"), "hours"),
    "lb-for-habit": (community(challenge_type="habit", unit="lb"), "lb"),
    "null-unit-for-volume": (community(challenge_type="volume", unit=None), "kg"),
}


@pytest.mark.parametrize("case", list(ACCEPTED_CASES))
def test_a_unit_that_fits_the_type_is_accepted(api, coach, case):
    # Given a body whose unit fits its type (fixed for workouts, minutes, kg; anything for a habit)
    body, unit = ACCEPTED_CASES[case]

    # When the coach creates it
    response = create(api, coach, body)

    # Then it is created, counted in that unit
    assert response.status_code == 201, response.text
    assert response.json["result"]["community_challenge"]["unit"] == unit
    detail = api.get(f"/community-challenges/{response.json['community_challenge_id']}", coach)
    assert detail.json["unit"] == unit


def test_every_upper_and_lower_bound_is_accepted(api, coach):
    # Given a challenge at every bound: 120-char name, 2000-char description, a target of a
    # billion, 365 days, 100,000 points, one participant, starting just under a year ahead
    body = community(name="n" * 120, description="d" * 2000, target_value=1_000_000_000,
                     duration_days=365, points_reward=100_000, max_participants=1,
                     starts_at=from_now(days=364))

    # When the coach creates it
    response = create(api, coach, body)

    # Then it is created as sent
    assert response.status_code == 201, response.text
    created = response.json["result"]["community_challenge"]
    assert (created["target_value"], created["duration_days"], created["points_reward"],
            created["max_participants"]) == (1_000_000_000, 365, 100_000, 1)


def test_the_smallest_target_and_free_reward_are_accepted(api, coach):
    # Given a challenge to reach 0.01 for no points, over one day
    body = community(challenge_type="duration", target_value=0.01, points_reward=0, duration_days=1)

    # When the coach creates it
    response = create(api, coach, body)

    # Then it is created as sent
    assert response.status_code == 201, response.text
    created = response.json["result"]["community_challenge"]
    assert (created["target_value"], created["points_reward"], created["duration_days"]) == (0.01, 0, 1)


def test_a_challenge_that_started_yesterday_and_is_still_running_is_accepted(api, coach, dan):
    # Given a 30-day challenge that started yesterday (its window is not over)
    body = community(starts_at=from_now(days=-1))

    # When the coach creates it
    response = create(api, coach, body)

    # Then it is created, listed as open with 29 days left, and joinable
    assert response.status_code == 201, response.text
    challenge_id = response.json["community_challenge_id"]
    [listed] = api.get("/community-challenges", dan).json["items"]
    assert (listed["id"], listed["days_left"]) == (challenge_id, 29)
    api.join(dan, challenge_id)


# POST /community-challenges: who may create ---------------------------------------------------

def test_without_a_token_creating_is_unauthorized(api, conn, redis_client):
    # Given no token at all
    before = snapshot(conn, redis_client)

    # When someone posts a valid challenge
    response = api.post("/community-challenges", None, community())

    # Then 401 unauthorized, and nothing stored
    assert_problem(response, 401, "unauthorized")
    assert snapshot(conn, redis_client) == before


@pytest.mark.parametrize("role", ["user", None, "Coach", "athlete", ""])
def test_a_token_without_a_creator_role_is_forbidden(api, conn, redis_client, dan, role):
    # Given Dan, whose token's role is not coach or admin (or who has no role)
    before = snapshot(conn, redis_client)

    # When he posts a valid challenge
    response = create(api, dan, community(), role=role)

    # Then 403 forbidden, and nothing stored
    assert_problem(response, 403, "forbidden")
    assert snapshot(conn, redis_client) == before
    assert listed_ids(api, dan) == []


def test_a_forbidden_caller_with_a_broken_body_is_still_just_forbidden(api, conn, redis_client, dan):
    # Given Dan without a creator role, and a body that breaks several rules
    before = snapshot(conn, redis_client)

    # When he posts it
    response = create(api, dan, {"name": ""}, role="user")

    # Then the role is checked first: 403, nothing stored
    assert_problem(response, 403, "forbidden")
    assert snapshot(conn, redis_client) == before


def test_an_admin_may_create_a_challenge(api, dan):
    # Given an admin
    admin = api.sign_up("Admin Ada")

    # When she creates a challenge
    response = create(api, admin, community(name="Admin's Challenge"), role="admin")

    # Then it is created and athletes see it open
    assert response.status_code == 201, response.text
    assert response.json["status"] == "succeeded"
    assert listed_ids(api, dan) == [response.json["community_challenge_id"]]


DEFAULT_UNITS = {
    "workouts": (community(), "workouts"),
    "duration": (community(challenge_type="duration", target_value=600), "minutes"),
    "volume": (community(challenge_type="volume", target_value=100_000), "kg"),
    "habit-named-water": (community(challenge_type="habit", habit_name="water"), "water"),
    "habit-any": (community(challenge_type="habit"), "times"),
}


@pytest.mark.parametrize("case", list(DEFAULT_UNITS))
def test_a_coach_creates_a_challenge_and_its_unit_defaults_by_type(api, coach, case):
    # Given a coach and a challenge body without a unit
    body, unit = DEFAULT_UNITS[case]

    # When the coach creates it
    response = create(api, coach, body)

    # Then 201 with the finished job, whose result is the challenge in its default unit
    assert response.status_code == 201, response.text
    job = response.json
    assert job["status"] == "succeeded" and job["error"] is None
    created = job["result"]["community_challenge"]
    assert created["id"] == job["community_challenge_id"]
    assert created["unit"] == unit
    assert (created["name"], created["challenge_type"], created["target_value"]) == (
        body["name"], body["challenge_type"], body["target_value"])
    assert (created["participant_count"], created["is_active"], created["points_reward"]) == (0, True, 100)
    assert created["created_by"] == coach
    # And the challenge can be read back as created
    detail = api.get(f"/community-challenges/{created['id']}", coach)
    assert detail.status_code == 200, detail.text
    assert (detail.json["id"], detail.json["unit"]) == (created["id"], unit)


# POST /community-challenges/{id}/join: refusals ------------------------------------------------

def test_joining_an_unknown_challenge_is_not_found(api, conn, redis_client, dan):
    # Given no challenge with this id
    before = snapshot(conn, redis_client)

    # When Dan joins it
    response = api.post(f"/community-challenges/{new_id()}/join", dan)

    # Then 404 not_found, and nothing changed
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before


def test_joining_twice_is_refused_and_nothing_changes(api, conn, redis_client, coach, dan):
    # Given Dan already in a challenge
    challenge_id = api.create_community(coach)
    api.join(dan, challenge_id)
    before = snapshot(conn, redis_client)

    # When he joins it again
    response = api.post(f"/community-challenges/{challenge_id}/join", dan)

    # Then 409 already_joined, nothing changed, and he is counted once
    assert_problem(response, 409, "already_joined")
    assert snapshot(conn, redis_client) == before
    detail = api.get(f"/community-challenges/{challenge_id}", dan).json
    assert (detail["participant_count"], detail["joined"]) == (1, True)


def test_joining_a_full_challenge_is_refused_and_nothing_changes(api, conn, redis_client, coach, dan):
    # Given a challenge for one participant, which Dan has joined
    challenge_id = api.create_community(coach, max_participants=1)
    api.join(dan, challenge_id)
    eve = api.sign_up("Eve")
    before = snapshot(conn, redis_client)

    # When Eve joins it
    response = api.post(f"/community-challenges/{challenge_id}/join", eve)

    # Then 409 challenge_full, nothing changed, and she is not in it
    assert_problem(response, 409, "challenge_full")
    assert snapshot(conn, redis_client) == before
    detail = api.get(f"/community-challenges/{challenge_id}", eve).json
    assert (detail["participant_count"], detail["joined"]) == (1, False)
    assert api.get("/community-challenges/mine", eve).json["items"] == []


def test_joining_an_ended_challenge_is_refused_and_nothing_changes(api, conn, redis_client, coach, dan):
    # Given a 30-day challenge whose window ended yesterday (the scheduler has not closed it)
    challenge_id = api.create_community(coach)
    end_challenge(conn, challenge_id)
    before = snapshot(conn, redis_client)

    # When Dan joins it
    response = api.post(f"/community-challenges/{challenge_id}/join", dan)

    # Then 409 invalid_state, nothing changed; it is no longer listed as open
    assert_problem(response, 409, "invalid_state")
    assert snapshot(conn, redis_client) == before
    assert listed_ids(api, dan) == []
    # And the worker's rule refuses it too, had the command got through
    with pytest.raises(CommandRejected) as rejected:
        with conn.transaction():
            join_community_challenge(conn, user_id=dan, community_challenge_id=challenge_id)
    assert (rejected.value.code, rejected.value.status) == ("invalid_state", 409)
    conn.rollback()
    assert snapshot(conn, redis_client) == before


def test_joining_a_closed_challenge_is_refused_and_it_is_no_longer_listed(api, conn, redis_client, coach,
                                                                          dan):
    # Given a challenge that ended and that the scheduler has closed
    challenge_id = api.create_community(coach)
    end_challenge(conn, challenge_id)
    assert close_ended_community_challenges(conn) == 1
    before = snapshot(conn, redis_client)

    # When Dan joins it
    response = api.post(f"/community-challenges/{challenge_id}/join", dan)

    # Then 409 invalid_state and nothing changed
    assert_problem(response, 409, "invalid_state")
    assert snapshot(conn, redis_client) == before
    # And it is not among the open challenges, though it can still be read, inactive
    assert listed_ids(api, dan) == []
    detail = api.get(f"/community-challenges/{challenge_id}", dan)
    assert detail.status_code == 200, detail.text
    assert (detail.json["is_active"], detail.json["days_left"], detail.json["joined"]) == (False, 0, False)


def test_an_upcoming_challenge_can_be_joined(api, coach, dan):
    # Given a challenge that starts tomorrow
    challenge_id = api.create_community(coach, starts_at=from_now(days=1))

    # When Dan joins it
    response = api.post(f"/community-challenges/{challenge_id}/join", dan)

    # Then he is in, counted once, and it shows in his challenges
    assert response.status_code == 200, response.text
    assert response.json["status"] == "succeeded"
    assert response.json["result"]["participant_count"] == 1
    [mine] = api.get("/community-challenges/mine", dan).json["items"]
    assert (mine["community_challenge_id"], mine["status"], mine["total"]) == (challenge_id, "active", 0)


# The worker checks again -----------------------------------------------------------------------

def test_the_worker_refuses_a_second_join_that_got_past_the_api(api, conn, redis_client, coach, dan):
    # Given Dan already in a challenge
    challenge_id = api.create_community(coach)
    api.join(dan, challenge_id)
    before = snapshot(conn, redis_client)

    # When his second join reaches the worker's rule directly (the API's precheck bypassed)
    with pytest.raises(CommandRejected) as rejected:
        with conn.transaction():
            join_community_challenge(conn, user_id=dan, community_challenge_id=challenge_id)

    # Then it is refused as already_joined (409), and nothing changed
    assert (rejected.value.code, rejected.value.status) == ("already_joined", 409)
    conn.rollback()
    assert snapshot(conn, redis_client) == before
    assert api.get(f"/community-challenges/{challenge_id}", dan).json["participant_count"] == 1


def test_the_worker_refuses_a_join_to_a_full_challenge_that_got_past_the_api(api, conn, redis_client,
                                                                              coach, dan):
    # Given a challenge for one participant, which Dan has joined, and Eve signed up
    challenge_id = api.create_community(coach, max_participants=1)
    api.join(dan, challenge_id)
    eve = api.sign_up("Eve")
    before = snapshot(conn, redis_client)

    # When Eve's join reaches the worker's rule directly (the API's precheck bypassed)
    with pytest.raises(CommandRejected) as rejected:
        with conn.transaction():
            join_community_challenge(conn, user_id=eve, community_challenge_id=challenge_id)

    # Then it is refused as challenge_full (409), and nothing changed
    assert (rejected.value.code, rejected.value.status) == ("challenge_full", 409)
    conn.rollback()
    assert snapshot(conn, redis_client) == before
    detail = api.get(f"/community-challenges/{challenge_id}", eve).json
    assert (detail["participant_count"], detail["joined"]) == (1, False)


def test_the_worker_refuses_a_join_to_an_unknown_challenge(api, conn, redis_client, dan):
    # Given Dan, and no challenge with this id
    before = snapshot(conn, redis_client)

    # When his join reaches the worker's rule directly
    with pytest.raises(CommandRejected) as rejected:
        with conn.transaction():
            join_community_challenge(conn, user_id=dan, community_challenge_id=new_id())

    # Then it is refused as not_found (404), and nothing changed
    assert (rejected.value.code, rejected.value.status) == ("not_found", 404)
    conn.rollback()
    assert snapshot(conn, redis_client) == before


def test_the_worker_lets_the_last_place_go_to_one_join(api, conn, coach, dan):
    # Given a challenge for two, which Dan has joined, and Eve and Fay signed up
    challenge_id = api.create_community(coach, max_participants=2)
    api.join(dan, challenge_id)
    eve, fay = api.sign_up("Eve"), api.sign_up("Fay")

    # When both their joins reach the worker's rule, one after the other
    with conn.transaction():
        joined = join_community_challenge(conn, user_id=eve, community_challenge_id=challenge_id)
    with pytest.raises(CommandRejected) as rejected:
        with conn.transaction():
            join_community_challenge(conn, user_id=fay, community_challenge_id=challenge_id)
    conn.rollback()

    # Then Eve takes the last place and Fay is told it is full
    assert joined["participant_count"] == 2
    assert rejected.value.code == "challenge_full"
    detail = api.get(f"/community-challenges/{challenge_id}", fay).json
    assert (detail["participant_count"], detail["joined"]) == (2, False)


# POST /habits ---------------------------------------------------------------------------------

HABIT_CASES = {
    "empty-object": ({}, ["habit_name"]),
    "missing-name": (habit(habit_name=...), ["habit_name"]),
    "empty-name": (habit(habit_name=""), ["habit_name"]),
    "blank-name": (habit(habit_name="   "), ["habit_name"]),
    "name-81-chars": (habit(habit_name="h" * 81), ["habit_name"]),
    "name-with-nul": (habit(habit_name="wa\u0000ter"), ["habit_name"]),
    "name-a-number": (habit(habit_name=8), ["habit_name"]),
    "value-0": (habit(value=0), ["value"]),
    "value-negative": (habit(value=-1), ["value"]),
    "value-10001": (habit(value=10_001), ["value"]),
    "value-a-word": (habit(value="x"), ["value"]),
    "value-NaN-string": (habit(value="NaN"), ["value"]),
    "value-null": (habit(value=None), ["value"]),
    "value-a-boolean": (habit(value=True), ["value"]),
    "value-rounding-to-zero": (habit(value=0.001), ["value"]),
    "logged-at-without-offset": (habit(logged_at="2024-05-01T10:00:00"), ["logged_at"]),
    "logged-at-not-a-date": (habit(logged_at="this morning"), ["logged_at"]),
    "unknown-field": (habit(unit="glasses"), ["unit"]),
}


@pytest.mark.parametrize("case", list(HABIT_CASES))
def test_an_invalid_habit_log_is_refused_and_nothing_is_stored(api, conn, redis_client, dan, case):
    # Given Dan, and a habit log that breaks a rule
    body, fields = HABIT_CASES[case]
    before = snapshot(conn, redis_client)

    # When he logs it
    response = api.post("/habits", dan, body)

    # Then 422 naming the field, no job, no log and no points
    assert_problem(response, 422, "validation_error", *fields)
    assert snapshot(conn, redis_client) == before
    assert api.get("/points", dan).json["items"] == []


def test_a_habit_body_that_is_not_json_is_a_bad_request(api, conn, redis_client, dan):
    # Given a body that is not JSON
    before = snapshot(conn, redis_client)

    # When Dan posts it
    response = send_raw(api, "POST", "/habits", dan, "{habit")

    # Then 400 bad_request, and nothing stored
    assert_problem(response, 400, "bad_request")
    assert snapshot(conn, redis_client) == before


def test_a_habit_log_without_a_token_is_unauthorized(api, conn, redis_client):
    # Given no token
    before = snapshot(conn, redis_client)

    # When a habit is logged
    response = api.post("/habits", None, habit())

    # Then 401, and nothing stored
    assert_problem(response, 401, "unauthorized")
    assert snapshot(conn, redis_client) == before


def test_a_good_habit_log_earns_ten_points(api, dan):
    # Given Dan, who has logged nothing yet (so no streak)
    # When he logs two glasses of water
    response = api.post("/habits", dan, habit(value=2))

    # Then 201 with the log's id, and the job's result pays 10 points and feeds no challenge
    assert response.status_code == 201, response.text
    job = response.json
    assert job["status"] == "succeeded"
    assert job["result"]["habit_log_id"] == job["habit_log_id"]
    assert job["result"]["points"] == 10
    assert job["result"]["community"] == []
    [entry] = api.get("/points", dan).json["items"]
    assert (entry["action"], entry["points"]) == ("habit_logged", 10)


def test_the_habit_bounds_are_accepted(api, dan):
    # Given an 80-character habit name with the largest value, and a value of one hundredth
    # When both are logged, the second with an explicit time and offset
    first = api.post("/habits", dan, habit(habit_name="h" * 80, value=10_000))
    second = api.post("/habits", dan, habit(value=0.01, logged_at=from_now(minutes=-5)))

    # Then both are stored
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text


def test_a_habit_log_feeds_a_joined_habit_challenge(api, coach, dan):
    # Given Dan in a habit challenge of 8 glasses of water
    challenge_id = api.create_community(coach, name="Hydrate", challenge_type="habit", habit_name="water",
                                        unit="glasses", target_value=8)
    api.join(dan, challenge_id)

    # When he logs 2 glasses of water
    response = api.post("/habits", dan, habit(value=2))

    # Then the result says which challenge it fed, and by how much
    assert response.status_code == 201, response.text
    [fed] = response.json["result"]["community"]
    assert (fed["community_challenge_id"], fed["added"], fed["total"], fed["percentage"]) == (
        challenge_id, 2, 2, 25)


# Reading: one challenge, the list, the leaderboard ---------------------------------------------

def test_an_unknown_challenge_is_not_found(api, dan):
    # Given no challenge with this id
    # When Dan reads it, or its leaderboard
    one = api.get(f"/community-challenges/{new_id()}", dan)
    board = api.get(f"/community-challenges/{new_id()}/leaderboard", dan)

    # Then both are 404 not_found
    assert_problem(one, 404, "not_found")
    assert_problem(board, 404, "not_found")


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=-1", "limit=ten"])
def test_the_leaderboard_refuses_a_bad_limit(api, coach, dan, query):
    # Given a challenge Dan is in
    challenge_id = api.create_community(coach)
    api.join(dan, challenge_id)

    # When its leaderboard is read with a limit out of bounds
    response = api.get(f"/community-challenges/{challenge_id}/leaderboard?{query}", dan)

    # Then 422 naming limit
    assert_problem(response, 422, "validation_error", "limit")


def test_the_leaderboard_limit_bounds_are_accepted(api, coach, dan):
    # Given a challenge Dan is in
    challenge_id = api.create_community(coach)
    api.join(dan, challenge_id)

    # When its leaderboard is read with the smallest and the largest limits
    # Then both are answered, with Dan's own row
    for limit in (1, 100):
        response = api.get(f"/community-challenges/{challenge_id}/leaderboard?limit={limit}", dan)
        assert response.status_code == 200, response.text
        assert response.json["me"]["is_you"] is True
        assert response.json["participants"] == 1


@pytest.mark.parametrize("query,field", [("cursor=garbage", "cursor"), ("cursor=bm9uc2Vuc2U=", "cursor"),
                                         ("limit=0", "limit"), ("limit=101", "limit")])
def test_the_open_list_refuses_a_bad_page_request(api, dan, query, field):
    # Given a page request that breaks a rule
    # When the open challenges are listed with it
    response = api.get(f"/community-challenges?{query}", dan)

    # Then 422 naming the parameter
    assert_problem(response, 422, "validation_error", field)


@pytest.mark.parametrize("method,path", [
    ("GET", "/community-challenges/not-a-uuid"),
    ("GET", "/community-challenges/42/leaderboard"),
    ("POST", "/community-challenges/not-a-uuid/join"),
])
def test_an_id_that_is_not_a_uuid_is_not_found(api, conn, redis_client, dan, method, path):
    # Given a path whose challenge id is not a UUID
    before = snapshot(conn, redis_client)

    # When Dan calls it
    response = api.call(method, path, dan)

    # Then 404 not_found, and nothing changed
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before


def test_the_community_routes_need_a_token(api):
    # Given no token
    # When the community routes are read
    # Then each is 401 unauthorized
    for path in ("/community-challenges", "/community-challenges/mine", f"/community-challenges/{new_id()}",
                 f"/community-challenges/{new_id()}/leaderboard", "/points"):
        assert_problem(api.get(path, None), 401, "unauthorized")
    assert_problem(api.post(f"/community-challenges/{new_id()}/join", None), 401, "unauthorized")


# The OpenAPI document --------------------------------------------------------------------------

def test_the_openapi_document_lists_the_community_routes(api):
    # Given no token
    # When the OpenAPI document is fetched
    response = api.client.simulate_get("/api/v1/openapi.json")

    # Then it lists the community challenges, their join and leaderboard, points and habits
    assert response.status_code == 200, response.text
    paths = response.json["paths"]
    expected = {
        "/api/v1/community-challenges": {"get", "post"},
        "/api/v1/community-challenges/mine": {"get"},
        "/api/v1/community-challenges/{challenge_id}": {"get"},
        "/api/v1/community-challenges/{challenge_id}/join": {"post"},
        "/api/v1/community-challenges/{challenge_id}/leaderboard": {"get"},
        "/api/v1/points": {"get"},
        "/api/v1/habits": {"post"},
    }
    for path, methods in expected.items():
        assert path in paths, sorted(paths)
        assert methods <= set(paths[path]), (path, sorted(paths[path]))


# Edge cases a review found (each answered 500 before its fix) ----------------------------------

@pytest.mark.parametrize("starts_at", ["9999-12-20T00:00:00Z", "9999-12-31T23:59:59+00:00"])
def test_a_start_near_the_end_of_the_calendar_is_refused_as_too_far_ahead(api, conn, redis_client, coach,
                                                                          starts_at):
    # (Adding duration_days to such a start overflows the calendar; the year check comes first.)
    # Given a start date in the year 9999 (far more than a year ahead)
    before = snapshot(conn, redis_client)

    # When the coach creates a challenge starting then
    response = create(api, coach, community(starts_at=starts_at))

    # Then 422 naming starts_at, as for any start over a year ahead, and nothing stored
    assert_problem(response, 422, "validation_error", "starts_at")
    assert snapshot(conn, redis_client) == before


@pytest.mark.parametrize("logged_at", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-14:00"])
def test_a_logged_at_outside_the_calendar_in_utc_is_refused(api, conn, redis_client, dan, logged_at):
    # (Such a time has no UTC form; it once left a job queued forever as well.)
    # Given a habit log whose time, in UTC, is before year 1 or after year 9999
    before = snapshot(conn, redis_client)

    # When Dan logs it
    response = api.post("/habits", dan, habit(logged_at=logged_at))

    # Then 422 naming logged_at, and no job, no log and no points
    assert_problem(response, 422, "validation_error", "logged_at")
    assert snapshot(conn, redis_client) == before


@pytest.mark.parametrize("role", [["coach"], {"name": "coach"}])
def test_a_role_claim_that_is_not_a_string_is_forbidden(api, conn, redis_client, coach, role):
    # (A role that is not a string is no role.)
    # Given a validly signed token whose role claim is a list or an object, not a string
    claims = {"sub": coach, "exp": int(time.time()) + 600, "role": role}
    claims.update({"aud": SETTINGS.jwt_audience} if SETTINGS.jwt_audience else {})
    claims.update({"iss": SETTINGS.jwt_issuer} if SETTINGS.jwt_issuer else {})
    odd_token = jwt.encode(claims, SETTINGS.jwt_secret, algorithm="HS256")
    before = snapshot(conn, redis_client)

    # When it is used to create a challenge
    response = api.post("/community-challenges", None, community(), token=odd_token)

    # Then 403 forbidden (the role is not coach or admin), and nothing stored
    assert_problem(response, 403, "forbidden")
    assert snapshot(conn, redis_client) == before


@pytest.mark.parametrize("path, field", [("/habits", "logged_at"), ("/workouts", "performed_at")])
def test_a_log_dated_in_the_future_is_refused(api, conn, redis_client, dan, path, field):
    # (A log dated later could count for a challenge before it happened.)
    # Given a log dated an hour from now
    body = habit() if path == "/habits" else {"workout_name": "Run", "duration_minutes": 30, "total_volume": 0}
    before = snapshot(conn, redis_client)

    # When Dan sends it
    response = api.post(path, dan, {**body, field: from_now(hours=1)})

    # Then 422 naming the time, and nothing stored
    assert_problem(response, 422, "validation_error", field)
    assert snapshot(conn, redis_client) == before


def test_a_log_a_minute_ahead_of_our_clock_is_accepted(api, dan):
    # Given a phone whose clock runs a minute fast
    # When Dan logs a habit at its "now"
    response = api.post("/habits", dan, habit(logged_at=from_now(minutes=1)))

    # Then it is taken
    assert response.status_code == 201, response.text
