"""The rules of challenges, as a user meets them: the answer's status and `code`, and that the
challenge (and everything around it) is exactly as it was afterwards."""

import pytest

from tests.api.support import assert_problem, new_id, snapshot

ATTEMPT = {"duration_minutes": 28, "total_volume": 12500, "volume_unit": "lb"}


def challenge_state(api, user, challenge_id) -> dict:
    response = api.get(f"/challenges/{challenge_id}", user)
    assert response.status_code == 200, response.text
    return response.json


def act(api, action: str, challenge_id: str, user: str):
    """Read, accept or complete a challenge as `user`."""
    if action == "get":
        return api.get(f"/challenges/{challenge_id}", user)
    body = ATTEMPT if action == "complete" else None
    return api.post(f"/challenges/{action}/{challenge_id}", user, body)


def notification_kinds(api, user) -> list[str]:
    return [n["notification_type"] for n in api.notifications(user)]


# Creating ------------------------------------------------------------------------------------

def test_challenging_yourself_is_refused(api, conn, redis_client, cast):
    # Given John and his workout
    before = snapshot(conn, redis_client)

    # When he challenges himself
    response = api.post("/challenges/create", cast.john,
                        {"to_user_ids": [cast.john], "workout_log_id": cast.workout})

    # Then 422 self_challenge on to_user_ids, and no challenge exists
    assert_problem(response, 422, "self_challenge", "to_user_ids")
    assert snapshot(conn, redis_client) == before


def test_challenging_yourself_among_friends_and_in_capitals_is_refused(api, conn, redis_client, cast):
    # Given John and his workout
    before = snapshot(conn, redis_client)

    # When he challenges Sarah and himself, his id in capitals
    response = api.post("/challenges/create", cast.john,
                        {"to_user_ids": [cast.sarah, cast.john.upper()], "workout_log_id": cast.workout})

    # Then 422 self_challenge, and Sarah got no challenge either
    assert_problem(response, 422, "self_challenge", "to_user_ids")
    assert snapshot(conn, redis_client) == before
    assert notification_kinds(api, cast.sarah) == []


def test_the_rules_are_checked_before_the_202(api, conn, redis_client, cast):
    # Given John, who does not wait for jobs
    before = snapshot(conn, redis_client)

    # When he challenges himself without Prefer: wait
    response = api.post("/challenges/create", cast.john,
                        {"to_user_ids": [cast.john], "workout_log_id": cast.workout}, wait=0)

    # Then the refusal comes at once, not as a job
    assert_problem(response, 422, "self_challenge", "to_user_ids")
    assert snapshot(conn, redis_client) == before


def test_challenging_a_stranger_is_forbidden(api, conn, redis_client, cast):
    # Given Mike, who is not John's friend
    before = snapshot(conn, redis_client)

    # When John challenges him
    response = api.post("/challenges/create", cast.john,
                        {"to_user_ids": [cast.mike], "workout_log_id": cast.workout})

    # Then 403 not_friends, and Mike hears of nothing
    assert_problem(response, 403, "not_friends")
    assert snapshot(conn, redis_client) == before
    assert notification_kinds(api, cast.mike) == []


def test_one_stranger_among_friends_stops_the_whole_challenge(api, conn, redis_client, cast):
    # Given Sarah (a friend) and Mike (a stranger)
    before = snapshot(conn, redis_client)

    # When John challenges both at once
    response = api.post("/challenges/create", cast.john,
                        {"to_user_ids": [cast.sarah, cast.mike], "workout_log_id": cast.workout})

    # Then 403 not_friends, and Sarah got no challenge either
    assert_problem(response, 403, "not_friends")
    assert snapshot(conn, redis_client) == before


def test_challenging_someone_who_never_signed_up_is_forbidden(api, conn, redis_client, cast):
    # Given a user id nobody has
    before = snapshot(conn, redis_client)

    # When John challenges it
    response = api.post("/challenges/create", cast.john,
                        {"to_user_ids": [new_id()], "workout_log_id": cast.workout})

    # Then 403 not_friends, and nothing stored
    assert_problem(response, 403, "not_friends")
    assert snapshot(conn, redis_client) == before


@pytest.mark.parametrize("owner", ["sarah", "mike"], ids=["a-friends-workout", "a-strangers-workout"])
def test_challenging_with_someone_elses_workout_is_not_found(api, conn, redis_client, cast, owner):
    # Given a workout logged by someone else
    their_workout = api.log_workout(getattr(cast, owner))
    before = snapshot(conn, redis_client)

    # When John challenges Sarah with it
    response = api.post("/challenges/create", cast.john,
                        {"to_user_ids": [cast.sarah], "workout_log_id": their_workout})

    # Then 404 not_found (the workout is not his), and nothing stored
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before


def test_challenging_with_an_unknown_workout_is_not_found(api, conn, redis_client, cast):
    # Given a workout id nobody logged
    before = snapshot(conn, redis_client)

    # When John challenges Sarah with it
    response = api.post("/challenges/create", cast.john,
                        {"to_user_ids": [cast.sarah], "workout_log_id": new_id()})

    # Then 404 not_found, and nothing stored
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before


def test_a_former_friend_can_no_longer_be_challenged(api, conn, redis_client, cast):
    # Given Sarah unfriended John
    assert api.delete(f"/friends/{cast.john}", cast.sarah).status_code == 200
    before = snapshot(conn, redis_client)

    # When John challenges her
    response = api.post("/challenges/create", cast.john,
                        {"to_user_ids": [cast.sarah], "workout_log_id": cast.workout})

    # Then 403 not_friends, and nothing stored
    assert_problem(response, 403, "not_friends")
    assert snapshot(conn, redis_client) == before


# Taking part ---------------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["get", "accept", "complete"])
def test_an_outsider_cannot_see_or_touch_a_challenge(api, conn, redis_client, cast, pending, action):
    # Given a pending challenge between John and Sarah, and Mike who takes no part in it
    before = snapshot(conn, redis_client)

    # When Mike reads, accepts or completes it
    response = act(api, action, pending, cast.mike)

    # Then 404 not_found (he cannot even tell it exists), and it is still pending
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before
    assert challenge_state(api, cast.sarah, pending)["status"] == "pending"


def test_a_friend_of_both_cannot_see_their_challenge(api, cast, pending):
    # Given Mike becomes friends with John and with Sarah
    api.befriend(cast.mike, cast.john)
    api.befriend(cast.mike, cast.sarah)

    # When he reads their challenge
    response = api.get(f"/challenges/{pending}", cast.mike)

    # Then 404 not_found
    assert_problem(response, 404, "not_found")


def test_the_challenger_cannot_accept_their_own_challenge(api, conn, redis_client, cast, pending):
    # Given John's pending challenge to Sarah
    before = snapshot(conn, redis_client)

    # When John accepts it himself
    response = api.post(f"/challenges/accept/{pending}", cast.john)

    # Then 403 forbidden, it is still pending, and nobody was notified
    assert_problem(response, 403, "forbidden")
    assert snapshot(conn, redis_client) == before
    assert challenge_state(api, cast.john, pending)["status"] == "pending"
    assert notification_kinds(api, cast.john) == []


def test_the_challenger_cannot_complete_their_own_challenge(api, conn, redis_client, cast, accepted):
    # Given John's challenge, accepted by Sarah
    before = snapshot(conn, redis_client)

    # When John reports an attempt at it
    response = api.post(f"/challenges/complete/{accepted}", cast.john, ATTEMPT)

    # Then 403 forbidden, and it is still in progress
    assert_problem(response, 403, "forbidden")
    assert snapshot(conn, redis_client) == before
    assert challenge_state(api, cast.john, accepted)["result"] == "in_progress"


def test_accepting_twice_is_an_invalid_state(api, conn, redis_client, cast, accepted):
    # Given a challenge Sarah has accepted
    state = challenge_state(api, cast.sarah, accepted)
    before = snapshot(conn, redis_client)

    # When she accepts it again
    response = api.post(f"/challenges/accept/{accepted}", cast.sarah)

    # Then 409 invalid_state, and the challenge (its accepted_at too) is unchanged
    assert_problem(response, 409, "invalid_state")
    assert snapshot(conn, redis_client) == before
    assert challenge_state(api, cast.sarah, accepted) == state
    assert notification_kinds(api, cast.john) == ["challenge_accepted"]


def test_completing_a_pending_challenge_is_an_invalid_state(api, conn, redis_client, cast, pending):
    # Given a challenge Sarah has not accepted
    before = snapshot(conn, redis_client)

    # When she reports an attempt at it
    response = api.post(f"/challenges/complete/{pending}", cast.sarah, ATTEMPT)

    # Then 409 invalid_state, it is still pending, and no result was posted to the feed
    assert_problem(response, 409, "invalid_state")
    assert snapshot(conn, redis_client) == before
    assert challenge_state(api, cast.sarah, pending)["status"] == "pending"
    kinds = [item["activity_type"] for item in api.get("/feed", cast.john).json["items"]]
    assert kinds == ["workout_completed"]


def test_completing_twice_is_an_invalid_state(api, conn, redis_client, cast, accepted):
    # Given a challenge Sarah has completed
    assert api.post(f"/challenges/complete/{accepted}", cast.sarah, ATTEMPT).status_code == 200
    state = challenge_state(api, cast.sarah, accepted)
    before = snapshot(conn, redis_client)

    # When she reports a better attempt afterwards
    response = api.post(f"/challenges/complete/{accepted}", cast.sarah,
                        {**ATTEMPT, "duration_minutes": 1})

    # Then 409 invalid_state, and the first result stands
    assert_problem(response, 409, "invalid_state")
    assert snapshot(conn, redis_client) == before
    assert challenge_state(api, cast.sarah, accepted) == state


def test_accepting_a_completed_challenge_is_an_invalid_state(api, cast, accepted):
    # Given a challenge Sarah has completed
    assert api.post(f"/challenges/complete/{accepted}", cast.sarah, ATTEMPT).status_code == 200

    # When she accepts it again
    response = api.post(f"/challenges/accept/{accepted}", cast.sarah)

    # Then 409 invalid_state, and it stays completed
    assert_problem(response, 409, "invalid_state")
    assert challenge_state(api, cast.sarah, accepted)["status"] == "completed"


# Unknown and malformed ids -------------------------------------------------------------------

@pytest.mark.parametrize("action", ["get", "accept", "complete"])
def test_an_unknown_challenge_is_not_found(api, conn, redis_client, cast, action):
    # Given a challenge id that does not exist
    unknown = new_id()
    before = snapshot(conn, redis_client)

    # When Sarah reads, accepts or completes it
    response = act(api, action, unknown, cast.sarah)

    # Then 404 not_found, and nothing queued
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before


@pytest.mark.parametrize("method,path", [("GET", "/challenges/not-a-uuid"),
                                         ("POST", "/challenges/accept/not-a-uuid"),
                                         ("POST", "/challenges/complete/12345"),
                                         ("GET", "/users/john"),
                                         ("GET", "/jobs/not-a-uuid"),
                                         ("POST", "/friends/requests/john/accept"),
                                         ("DELETE", "/friends/john")])
def test_a_path_id_that_is_not_a_uuid_is_a_problem_404(api, conn, redis_client, cast, method, path):
    # Given Sarah
    before = snapshot(conn, redis_client)

    # When she calls a route with an id that is not a UUID
    response = api.call(method, path, cast.sarah, ATTEMPT if "complete" in path else None)

    # Then 404 not_found as problem+json, and nothing queued
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before
