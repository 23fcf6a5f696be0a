"""Request validation: a body or query string that breaks a rule is answered 422
`validation_error`, `errors` names the offending field, and nothing is queued or stored."""

import pytest

from tests.api.support import assert_problem, auth, new_id, send_raw, snapshot

WORKOUT = {"workout_name": "Beast Mode Legs", "duration_minutes": 35, "total_volume": 10000,
           "volume_unit": "lb"}


def workout(**changes) -> dict:
    """A valid workout body with `changes` applied (a value of ... removes the field)."""
    body = {**WORKOUT, **changes}
    return {name: value for name, value in body.items() if value is not ...}


@pytest.fixture
def john(api):
    return api.sign_up("John")


# POST /workouts ------------------------------------------------------------------------------

WORKOUT_CASES = {
    "empty-object": ({}, ["workout_name", "duration_minutes", "total_volume"]),
    "missing-name": (workout(workout_name=...), ["workout_name"]),
    "missing-duration": (workout(duration_minutes=...), ["duration_minutes"]),
    "missing-volume": (workout(total_volume=...), ["total_volume"]),
    "duration-a-string": (workout(duration_minutes="abc"), ["duration_minutes"]),
    "volume-a-string": (workout(total_volume="lots"), ["total_volume"]),
    "duration-a-boolean": (workout(duration_minutes=True), ["duration_minutes"]),
    "duration-null": (workout(duration_minutes=None), ["duration_minutes"]),
    "duration-a-list": (workout(duration_minutes=[30]), ["duration_minutes"]),
    "name-a-number": (workout(workout_name=42), ["workout_name"]),
    "negative-duration": (workout(duration_minutes=-5), ["duration_minutes"]),
    "zero-duration": (workout(duration_minutes=0), ["duration_minutes"]),
    "negative-volume": (workout(total_volume=-1), ["total_volume"]),
    "absurd-volume": (workout(total_volume=1e12), ["total_volume"]),
    "absurd-duration": (workout(duration_minutes=100000), ["duration_minutes"]),
    "duration-over-a-day": (workout(duration_minutes=1441), ["duration_minutes"]),
    # Stored with two decimals, 0.001 would become 0 (regression: the worker used to fail on it).
    "duration-rounding-to-zero": (workout(duration_minutes=0.001), ["duration_minutes"]),
    "duration-too-large-for-a-float": (workout(duration_minutes=10 ** 400), ["duration_minutes"]),
    "unknown-field": (workout(color="red"), ["color"]),
    "unit-stone": (workout(volume_unit="stone"), ["volume_unit"]),
    "unit-uppercase": (workout(volume_unit="LB"), ["volume_unit"]),
    "empty-name": (workout(workout_name=""), ["workout_name"]),
    "name-too-long": (workout(workout_name="x" * 121), ["workout_name"]),
    "notes-too-long": (workout(notes="x" * 1001), ["notes"]),
    # PostgreSQL text cannot hold U+0000 (regression: the worker used to fail on it).
    "name-with-nul": (workout(workout_name="Leg\u0000day"), ["workout_name"]),
    "notes-with-nul": (workout(notes="a\u0000b"), ["notes"]),
    "performed-at-without-zone": (workout(performed_at="2024-05-01T10:00:00"), ["performed_at"]),
    "performed-at-not-a-date": (workout(performed_at="yesterday"), ["performed_at"]),
}


@pytest.mark.parametrize("case", list(WORKOUT_CASES))
def test_an_invalid_workout_is_refused_and_nothing_is_stored(api, conn, redis_client, john, case):
    # Given John, and a workout body that breaks a rule
    body, fields = WORKOUT_CASES[case]
    before = snapshot(conn, redis_client)

    # When he logs it
    response = api.post("/workouts", john, body)

    # Then 422 naming the field, no job, no row; his workout list stays empty
    assert_problem(response, 422, "validation_error", *fields)
    assert snapshot(conn, redis_client) == before
    assert api.get("/workouts", john).json["items"] == []


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_non_finite_number_is_refused(api, conn, redis_client, john, number):
    # Given a body with a number JSON cannot express (Python's json reads it anyway)
    body = f'{{"workout_name":"x","duration_minutes":{number},"total_volume":1}}'
    before = snapshot(conn, redis_client)

    # When it is posted as raw text
    response = send_raw(api, "POST", "/workouts", john, body)

    # Then 422 on duration_minutes, and nothing stored
    assert_problem(response, 422, "validation_error", "duration_minutes")
    assert snapshot(conn, redis_client) == before


def test_a_non_finite_volume_is_refused(api, conn, redis_client, john):
    # Given a body whose volume is NaN
    body = '{"workout_name":"x","duration_minutes":30,"total_volume":NaN}'
    before = snapshot(conn, redis_client)

    # When it is posted
    response = send_raw(api, "POST", "/workouts", john, body)

    # Then 422 on total_volume, and nothing stored
    assert_problem(response, 422, "validation_error", "total_volume")
    assert snapshot(conn, redis_client) == before


def test_several_broken_fields_are_all_named_at_once(api, john):
    # Given a body with three problems
    body = {"workout_name": "", "duration_minutes": -1, "total_volume": 1e12, "volume_unit": "stone"}

    # When it is posted
    response = api.post("/workouts", john, body)

    # Then every one of them is named
    assert_problem(response, 422, "validation_error",
                   "workout_name", "duration_minutes", "total_volume", "volume_unit")


def test_the_largest_allowed_values_are_accepted(api, john):
    # Given a workout at every upper bound (a day, a million, 120 characters)
    body = workout(workout_name="x" * 120, duration_minutes=1440, total_volume=1_000_000,
                   volume_unit="kg", notes="n" * 1000)

    # When it is logged
    response = api.post("/workouts", john, body)

    # Then it is stored
    assert response.status_code == 201, response.text
    assert len(api.get("/workouts", john).json["items"]) == 1


def test_the_smallest_allowed_values_are_accepted(api, john):
    # Given a workout of one hundredth of a minute that moved nothing
    body = workout(duration_minutes=0.01, total_volume=0)

    # When it is logged
    response = api.post("/workouts", john, body)

    # Then it is stored as sent
    assert response.status_code == 201, response.text
    [item] = api.get("/workouts", john).json["items"]
    assert (item["duration_minutes"], item["total_volume"]) == (0.01, 0)


def test_a_workout_with_performed_at_is_logged(api, john):
    # Given a workout performed at a known time, with its zone
    # (regression: any performed_at used to answer 500, the datetime did not fit the message)
    body = workout(performed_at="2024-05-01T12:00:00+02:00")

    # When it is logged
    response = api.post("/workouts", john, body)

    # Then it is stored at that instant
    assert response.status_code == 201, response.text
    [item] = api.get("/workouts", john).json["items"]
    assert item["performed_at"] == "2024-05-01T10:00:00Z"


# POST /challenges/create ---------------------------------------------------------------------

def challenge(**changes) -> dict:
    body = {"to_user_ids": [new_id()], "workout_log_id": new_id(), **changes}
    return {name: value for name, value in body.items() if value is not ...}


FRIEND = "6f1c2b3a-0d4e-4f5a-8b6c-7d8e9f0a1b2c"
CHALLENGE_CASES = {
    "no-recipients": (challenge(to_user_ids=[]), ["to_user_ids"]),
    "21-recipients": (challenge(to_user_ids=[new_id() for _ in range(21)]), ["to_user_ids"]),
    "duplicate-recipients": (challenge(to_user_ids=[FRIEND, FRIEND]), ["to_user_ids"]),
    "duplicate-recipients-in-other-case": (challenge(to_user_ids=[FRIEND, FRIEND.upper()]),
                                           ["to_user_ids"]),
    "recipient-not-a-uuid": (challenge(to_user_ids=["sarah"]), ["to_user_ids.0"]),
    "recipients-not-a-list": (challenge(to_user_ids=FRIEND), ["to_user_ids"]),
    "missing-recipients": (challenge(to_user_ids=...), ["to_user_ids"]),
    "missing-workout": (challenge(workout_log_id=...), ["workout_log_id"]),
    "workout-not-a-uuid": (challenge(workout_log_id="42"), ["workout_log_id"]),
    "message-too-long": (challenge(message="x" * 501), ["message"]),
    "message-with-nul": (challenge(message="beat\u0000this"), ["message"]),
    "unknown-field": (challenge(deadline="tomorrow"), ["deadline"]),
}


@pytest.mark.parametrize("case", list(CHALLENGE_CASES))
def test_an_invalid_challenge_is_refused_and_nothing_is_stored(api, conn, redis_client, john, case):
    # Given John, and a challenge body that breaks a rule
    body, fields = CHALLENGE_CASES[case]
    before = snapshot(conn, redis_client)

    # When he sends it
    response = api.post("/challenges/create", john, body)

    # Then 422 naming the field, and no job and no challenge
    assert_problem(response, 422, "validation_error", *fields)
    assert snapshot(conn, redis_client) == before


def test_twenty_recipients_is_a_valid_body(api, john):
    # Given a challenge to 20 people John is not friends with
    body = challenge(to_user_ids=[new_id() for _ in range(20)])

    # When he sends it
    response = api.post("/challenges/create", john, body)

    # Then the body passes validation, and the next rule answers (the workout is unknown)
    assert_problem(response, 404, "not_found")


# POST /challenges/complete/{id} --------------------------------------------------------------

COMPLETE_CASES = {
    "negative-duration": ({"duration_minutes": -5, "total_volume": 100}, ["duration_minutes"]),
    "negative-volume": ({"duration_minutes": 5, "total_volume": -100}, ["total_volume"]),
    "absurd-volume": ({"duration_minutes": 5, "total_volume": 1e12}, ["total_volume"]),
    "duration-rounding-to-zero": ({"duration_minutes": 0.001, "total_volume": 1}, ["duration_minutes"]),
    "missing-all": ({}, ["duration_minutes", "total_volume"]),
    "unit-stone": ({"duration_minutes": 5, "total_volume": 1, "volume_unit": "stone"}, ["volume_unit"]),
}


@pytest.mark.parametrize("case", list(COMPLETE_CASES))
def test_an_invalid_attempt_is_refused(api, conn, redis_client, john, case):
    # Given an attempt that breaks a rule
    body, fields = COMPLETE_CASES[case]
    before = snapshot(conn, redis_client)

    # When it is reported for a challenge
    response = api.post(f"/challenges/complete/{new_id()}", john, body)

    # Then 422 naming the field, and nothing queued
    assert_problem(response, 422, "validation_error", *fields)
    assert snapshot(conn, redis_client) == before


# PUT /me -------------------------------------------------------------------------------------

PROFILE_CASES = {
    "unknown-timezone": ({"timezone": "Mars/Base"}, ["timezone"]),
    "timezone-path-traversal": ({"timezone": "../../etc/passwd"}, ["timezone"]),
    "empty-timezone": ({"timezone": ""}, ["timezone"]),
    "timezone-too-long-for-a-file-name": ({"timezone": "Europe/" + "x" * 256}, ["timezone"]),
    "timezone-a-directory": ({"timezone": "Europe"}, ["timezone"]),
    "empty-body": ({}, ["_schema"]),
    "avatar-not-a-url": ({"avatar_url": "not a url"}, ["avatar_url"]),
    "avatar-not-http": ({"avatar_url": "javascript:alert(1)"}, ["avatar_url"]),
    "avatar-ftp": ({"avatar_url": "ftp://example.com/me.png"}, ["avatar_url"]),
    "empty-name": ({"display_name": ""}, ["display_name"]),
    "name-too-long": ({"display_name": "x" * 81}, ["display_name"]),
    "name-null": ({"display_name": None}, ["display_name"]),
    "name-with-nul": ({"display_name": "Jo\u0000hn"}, ["display_name"]),
    "unknown-field": ({"email": "john@example.com"}, ["email"]),
}


@pytest.mark.parametrize("case", list(PROFILE_CASES))
def test_an_invalid_profile_update_changes_nothing(api, conn, redis_client, case):
    # Given John's profile
    john = api.sign_up("John")
    profile = api.get("/me", john).json
    body, fields = PROFILE_CASES[case]
    before = snapshot(conn, redis_client)

    # When he updates it with a body that breaks a rule
    response = api.put("/me", john, body)

    # Then 422 naming the field, and his profile is as it was
    assert_problem(response, 422, "validation_error", *fields)
    assert snapshot(conn, redis_client) == before
    assert api.get("/me", john).json == profile


def test_a_first_profile_that_is_invalid_creates_no_user(api, conn, redis_client):
    # Given someone who has never signed up
    newcomer = new_id()
    before = snapshot(conn, redis_client)

    # When their first PUT /me has an unknown time zone
    response = api.put("/me", newcomer, {"display_name": "New", "timezone": "Mars/Base"})

    # Then 422, no user row, and they still have no profile
    assert_problem(response, 422, "validation_error", "timezone")
    assert snapshot(conn, redis_client) == before
    assert_problem(api.get("/me", newcomer), 404, "no_profile")


# Query strings -------------------------------------------------------------------------------

QUERY_CASES = {
    "limit-0": ("limit=0", "limit"),
    "limit-101": ("limit=101", "limit"),
    "limit-negative": ("limit=-1", "limit"),
    "limit-not-a-number": ("limit=ten", "limit"),
    "cursor-garbage": ("cursor=garbage", "cursor"),
    "cursor-base64-of-nonsense": ("cursor=bm9uc2Vuc2U=", "cursor"),
    "cursor-base64-bad-date": ("cursor=bm90LWEtZGF0ZXw2ZjFjMmIzYS0wZDRlLTRmNWEtOGI2Yy03ZDhlOWYwYTFiMmM=",
                               "cursor"),
}


@pytest.mark.parametrize("case", list(QUERY_CASES))
def test_the_feed_refuses_a_bad_page_request(api, john, case):
    # Given a page request that breaks a rule
    query, field = QUERY_CASES[case]

    # When the feed is read with it
    response = api.client.simulate_get("/api/v1/feed", query_string=query,
                                       headers=auth(john))

    # Then 422 naming the parameter
    assert_problem(response, 422, "validation_error", field)


@pytest.mark.parametrize("path", ["/workouts", "/notifications"])
@pytest.mark.parametrize("query,field", [("limit=0", "limit"), ("limit=101", "limit"),
                                         ("cursor=garbage", "cursor")])
def test_other_lists_refuse_a_bad_page_request(api, john, path, query, field):
    # Given a page request that breaks a rule
    # When another paginated list is read with it
    response = api.client.simulate_get("/api/v1" + path, query_string=query,
                                       headers=auth(john))

    # Then 422 naming the parameter
    assert_problem(response, 422, "validation_error", field)


def test_the_page_size_bounds_are_accepted(api, john):
    # Given John
    # When the feed is read with the smallest and the largest page sizes
    # Then both are answered
    for limit in (1, 100):
        response = api.client.simulate_get("/api/v1/feed", query_string=f"limit={limit}",
                                           headers=auth(john))
        assert response.status_code == 200, response.text

