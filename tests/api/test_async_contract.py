"""The asynchronous contract of every mutation: 202 with a job to follow, or the final answer
within `Prefer: wait=N`; jobs are private to their owner; `Idempotency-Key` replays."""

import json
import time
import uuid

import pytest

from tests.api.support import (JOB_LOCATION, assert_problem, get_job, job_path, new_id, poll_job,
                               row_counts, snapshot)
from tests.conftest import SETTINGS

WORKOUT = {"workout_name": "Beast Mode Legs", "duration_minutes": 35, "total_volume": 10000,
           "volume_unit": "lb"}


def assert_accepted(response) -> str:
    """A 202 pointing at its job, as it was when queued; returns the job's path."""
    assert response.status_code == 202, response.text
    assert response.json["status"] in {"queued", "running"}, response.json
    assert "preference-applied" not in response.headers
    return job_path(response)


def assert_done(response, status: int, wait: int = 5) -> str:
    """The final answer within `Prefer: wait`: the job succeeded; returns its path."""
    assert response.status_code == status, response.text
    assert response.headers["preference-applied"] == f"wait={wait}"
    assert response.json["status"] == "succeeded", response.json
    assert response.json["error"] is None
    return job_path(response)


# 202 and the job resource --------------------------------------------------------------------

def test_without_prefer_a_workout_is_accepted_and_then_done(api):
    # Given John
    john = api.sign_up("John")

    # When he logs a workout without waiting
    response = api.post("/workouts", john, WORKOUT, wait=0)

    # Then 202 with the ids the workout and its feed post will have
    location = assert_accepted(response)
    workout_id, activity_id = response.json["workout_log_id"], response.json["activity_id"]
    assert uuid.UUID(workout_id) and uuid.UUID(activity_id)

    # and the job finishes, after which those ids are the real ones
    job = poll_job(api, john, location)
    assert job["status"] == "succeeded", job
    assert job["result"]["workout_log_id"] == workout_id
    assert [w["id"] for w in api.get("/workouts", john).json["items"]] == [workout_id]
    [post] = api.get("/feed", john).json["items"]
    assert (post["id"], post["workout_log_id"]) == (activity_id, workout_id)


def test_without_prefer_a_challenge_announces_the_ids_it_creates(api):
    # Given John and his friends Sarah and Mike, and John's workout
    john, sarah, mike = api.sign_up("John"), api.sign_up("Sarah"), api.sign_up("Mike")
    api.befriend(john, sarah)
    api.befriend(john, mike)
    workout = api.log_workout(john)

    # When he challenges both without waiting
    response = api.post("/challenges/create", john,
                        {"to_user_ids": [sarah, mike], "workout_log_id": workout}, wait=0)

    # Then 202 with one challenge id per friend, in order
    location = assert_accepted(response)
    ids = response.json["challenge_ids"]
    assert len(ids) == 2 and len(set(ids)) == 2

    # and once the job is done they are the challenges each friend received
    assert poll_job(api, john, location)["status"] == "succeeded"
    for friend, challenge_id in zip([sarah, mike], ids):
        seen = api.get(f"/challenges/{challenge_id}", friend)
        assert seen.status_code == 200, seen.text
        assert (seen.json["to_user_id"], seen.json["status"]) == (friend, "pending")


def test_the_job_can_be_read_while_it_runs_and_afterwards(api):
    # Given John's workout, logged without waiting
    john = api.sign_up("John")
    location = assert_accepted(api.post("/workouts", john, WORKOUT, wait=0))

    # When he reads the job at once
    response = get_job(api, john, location)

    # Then it is there, in one of its states, with its ids
    assert response.status_code == 200, response.text
    assert response.json["status"] in {"queued", "running", "succeeded"}
    assert "workout_log_id" in response.json


def test_another_user_cannot_see_my_job(api):
    # Given John's job, finished, and Sarah
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    location = assert_accepted(api.post("/workouts", john, WORKOUT, wait=0))
    assert poll_job(api, john, location)["status"] == "succeeded"

    # When Sarah reads it
    response = get_job(api, sarah, location)

    # Then 404 not_found, as if it did not exist
    assert_problem(response, 404, "not_found")


def test_another_user_cannot_see_my_job_while_it_is_queued(api):
    # Given Sarah, and John's job just submitted
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    location = assert_accepted(api.post("/workouts", john, WORKOUT, wait=0))

    # When Sarah reads it at once
    response = get_job(api, sarah, location)

    # Then 404 not_found
    assert_problem(response, 404, "not_found")


def test_a_friend_cannot_see_my_job_either(api):
    # Given John and Sarah are friends, and John's finished job
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    api.befriend(john, sarah)
    location = job_path(api.post("/workouts", john, WORKOUT))

    # When Sarah reads it
    # Then 404 not_found
    assert_problem(get_job(api, sarah, location), 404, "not_found")


def test_an_unknown_job_is_not_found(api):
    # Given John
    john = api.sign_up("John")

    # When he reads a job nobody submitted
    response = get_job(api, john, JOB_LOCATION + new_id())

    # Then 404 not_found
    assert_problem(response, 404, "not_found")


# Prefer: wait --------------------------------------------------------------------------------

def test_prefer_wait_answers_201_for_a_logged_workout(api):
    # Given John
    john = api.sign_up("John")

    # When he logs a workout with Prefer: wait=5
    response = api.post("/workouts", john, WORKOUT)

    # Then 201 with the finished job, which the job resource confirms
    location = assert_done(response, 201)
    assert response.json["result"]["workout_log_id"] == response.json["workout_log_id"]
    assert get_job(api, john, location).json["status"] == "succeeded"


def test_prefer_wait_answers_201_for_a_challenge(api):
    # Given John, his friend Sarah and his workout
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    api.befriend(john, sarah)
    workout = api.log_workout(john)

    # When he challenges her with Prefer: wait=5
    response = api.post("/challenges/create", john, {"to_user_ids": [sarah], "workout_log_id": workout})

    # Then 201, and the announced id is the challenge she sees
    assert_done(response, 201)
    [challenge_id] = response.json["challenge_ids"]
    assert response.json["result"]["challenge_ids"] == [challenge_id]
    assert api.get(f"/challenges/{challenge_id}", sarah).json["status"] == "pending"


def test_prefer_wait_answers_201_for_a_friend_request(api):
    # Given John and Sarah
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")

    # When John asks Sarah to be friends with Prefer: wait=5
    response = api.post("/friends/requests", john, {"user_id": sarah})

    # Then 201, and Sarah sees the incoming request
    assert_done(response, 201)
    [request] = api.get("/friends", sarah).json["requests"]
    assert (request["id"], request["direction"]) == (john, "incoming")


def test_prefer_wait_answers_200_for_a_profile_update(api):
    # Given John
    john = api.sign_up("John")

    # When he renames himself with Prefer: wait=5
    response = api.put("/me", john, {"display_name": "Johnny"})

    # Then 200 (nothing new was created), and the name has changed
    assert_done(response, 200)
    assert api.get("/me", john).json["display_name"] == "Johnny"


def test_prefer_wait_answers_200_for_an_accepted_challenge(api):
    # Given Sarah's pending challenge from John
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    api.befriend(john, sarah)
    [challenge_id] = api.challenge(john, [sarah], api.log_workout(john))

    # When she accepts it with Prefer: wait=5
    response = api.post(f"/challenges/accept/{challenge_id}", sarah)

    # Then 200, and it is accepted
    assert_done(response, 200)
    assert api.get(f"/challenges/{challenge_id}", sarah).json["status"] == "accepted"


def test_prefer_wait_is_capped_at_ten_seconds(api):
    # Given John
    john = api.sign_up("John")

    # When he asks to wait a minute
    response = api.post("/workouts", john, WORKOUT, headers={"Prefer": "wait=60"})

    # Then the preference applied is 10 seconds, and the workout is done
    assert_done(response, 201, wait=10)


def test_prefer_wait_among_other_preferences(api):
    # Given John
    john = api.sign_up("John")

    # When his Prefer header carries another preference too
    response = api.post("/workouts", john, WORKOUT, headers={"Prefer": "handling=strict, wait=5"})

    # Then wait=5 is honoured
    assert_done(response, 201)


# Idempotency-Key -----------------------------------------------------------------------------

def test_a_replay_with_the_same_key_returns_the_same_job_and_logs_once(api, conn):
    # Given John's workout, logged with an Idempotency-Key
    john = api.sign_up("John")
    key = {"Idempotency-Key": "workout-2024-05-01"}
    first = api.post("/workouts", john, WORKOUT, headers=key)
    assert first.status_code == 201, first.text

    # When the app, unsure it got through, sends it again with the same key
    second = api.post("/workouts", john, WORKOUT, headers=key)

    # Then the same job and ids come back, and there is one workout and one feed post
    assert second.status_code == 201, second.text
    assert second.json["job_id"] == first.json["job_id"]
    assert second.json["workout_log_id"] == first.json["workout_log_id"]
    counts = row_counts(conn)
    assert (counts["workout_logs"], counts["activity_feed"]) == (1, 1)
    assert len(api.get("/workouts", john).json["items"]) == 1


def test_a_quick_replay_without_waiting_returns_the_same_job(api, conn):
    # Given John's workout, sent twice at once with the same key and no wait
    john = api.sign_up("John")
    key = {"Idempotency-Key": "k-1"}
    first = api.post("/workouts", john, WORKOUT, headers=key, wait=0)
    second = api.post("/workouts", john, WORKOUT, headers=key, wait=0)

    # Then both name the same job, which logs one workout
    assert first.status_code == 202, first.text
    assert second.status_code in {200, 201, 202}, second.text
    assert second.json["job_id"] == first.json["job_id"]
    assert poll_job(api, john, job_path(first))["status"] == "succeeded"
    assert row_counts(conn)["workout_logs"] == 1


def claim_left_by_a_request_that_died(redis_client, user: str, key: str, body: dict, age: float) -> dict:
    """The claim a request with `key` made before it died, `age` seconds ago, having queued
    nothing (or, for some tests, its message only): what a crash or a lost Redis leaves."""
    from api.dispatch import request_fingerprint
    from api.schemas.workouts import WorkoutLog

    payload = WorkoutLog().load(body)  # the request as the API fingerprints it: loaded, defaults in
    claim = {"fingerprint": request_fingerprint("POST", "/api/v1/workouts", payload), "job_id": new_id(),
             "ids": {"workout_log_id": new_id(), "activity_id": new_id()}, "since": time.time() - age}
    redis_client.set(SETTINGS.key("idempotency", user, key), json.dumps(claim))
    return claim


def test_a_retry_after_the_first_request_died_carries_the_command_out_once(api, conn, redis_client):
    # Given John's request with key k-1 claimed the key and died before queuing anything
    john = api.sign_up("John")
    claim = claim_left_by_a_request_that_died(redis_client, john, "k-1", WORKOUT, age=60)

    # When his app retries it with the same key
    response = api.post("/workouts", john, WORKOUT, headers={"Idempotency-Key": "k-1"})

    # Then the command is carried out, as the job and with the ids the first request claimed
    assert response.status_code == 201, response.text
    assert (response.json["job_id"], response.json["workout_log_id"]) == (
        claim["job_id"], claim["ids"]["workout_log_id"])
    assert row_counts(conn)["workout_logs"] == 1


def test_a_retry_after_the_first_request_queued_its_command_but_not_its_job_does_it_once(
        api, conn, redis_client):
    # Given John's first request queued its command and died before its job existed (a lost
    # Redis reply), and the worker has not run it yet
    from dramatiq.brokers.redis import RedisBroker

    from core.commands import build_message

    john = api.sign_up("John")
    claim = claim_left_by_a_request_that_died(redis_client, john, "k-1", WORKOUT, age=60)
    queued = RedisBroker(client=redis_client, namespace=SETTINGS.key("dramatiq"), middleware=[])
    queued.enqueue(build_message("workouts.log", claim["job_id"], {"user_id": john, **WORKOUT, **claim["ids"]}))

    # When his app retries it with the same key
    response = api.post("/workouts", john, WORKOUT, headers={"Idempotency-Key": "k-1"})

    # Then both messages are one command: one workout, the job the first request claimed
    assert response.status_code in {200, 201, 202}, response.text
    assert response.json["job_id"] == claim["job_id"]
    assert poll_job(api, john, job_path(response))["status"] == "succeeded"
    time.sleep(0.5)  # the second message, too, has been handled by now
    assert row_counts(conn)["workout_logs"] == 1


def test_a_retry_while_the_first_request_is_still_being_accepted_is_409(api, conn, redis_client):
    # Given John's first request has just claimed key k-1 and is still being accepted
    john = api.sign_up("John")
    claim_left_by_a_request_that_died(redis_client, john, "k-1", WORKOUT, age=0)

    # When a retry arrives
    response = api.post("/workouts", john, WORKOUT, headers={"Idempotency-Key": "k-1"})

    # Then it is told to try again shortly, and nothing more is queued
    assert_problem(response, 409, "idempotency_key_in_flight")
    assert row_counts(conn)["workout_logs"] == 0


def test_the_same_key_with_another_body_is_refused(api, conn, redis_client):
    # Given John's workout, logged with a key
    john = api.sign_up("John")
    key = {"Idempotency-Key": "workout-2024-05-01"}
    assert api.post("/workouts", john, WORKOUT, headers=key).status_code == 201
    before = snapshot(conn, redis_client)

    # When another workout is sent with the same key
    response = api.post("/workouts", john, {**WORKOUT, "duration_minutes": 20}, headers=key)

    # Then 422 idempotency_key_reused, and nothing more was logged
    assert_problem(response, 422, "idempotency_key_reused")
    assert snapshot(conn, redis_client) == before
    assert len(api.get("/workouts", john).json["items"]) == 1


def test_the_same_key_on_another_endpoint_is_refused(api, conn, redis_client):
    # Given John's workout, logged with a key
    john = api.sign_up("John")
    key = {"Idempotency-Key": "once"}
    assert api.post("/workouts", john, WORKOUT, headers=key).status_code == 201
    before = snapshot(conn, redis_client)

    # When he renames himself with the same key
    response = api.put("/me", john, {"display_name": "Johnny"}, headers=key)

    # Then 422 idempotency_key_reused, and his name is unchanged
    assert_problem(response, 422, "idempotency_key_reused")
    assert snapshot(conn, redis_client) == before
    assert api.get("/me", john).json["display_name"] == "John"


def test_the_same_key_from_two_users_is_two_requests(api, conn):
    # Given John and Sarah, whose apps happen to pick the same key
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    key = {"Idempotency-Key": "workout-1"}

    # When each logs a workout with it
    first = api.post("/workouts", john, WORKOUT, headers=key)
    second = api.post("/workouts", sarah, WORKOUT, headers=key)

    # Then each gets their own job and workout
    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert first.json["job_id"] != second.json["job_id"]
    assert row_counts(conn)["workout_logs"] == 2
    assert len(api.get("/workouts", sarah).json["items"]) == 1


@pytest.mark.parametrize("key", ["k" * 256, "has space", "tab\there", "ünïcode", ""],
                         ids=["256-chars", "space", "tab", "non-ascii", "empty"])
def test_a_malformed_key_is_refused(api, conn, redis_client, key):
    # Given John
    john = api.sign_up("John")
    before = snapshot(conn, redis_client)

    # When he sends a key that is too long or not visible ASCII
    response = api.post("/workouts", john, WORKOUT, headers={"Idempotency-Key": key})

    # Then 422 naming Idempotency-Key, and nothing queued or logged
    assert_problem(response, 422, "validation_error", "Idempotency-Key")
    assert snapshot(conn, redis_client) == before


def test_a_key_of_255_characters_is_accepted(api):
    # Given John
    john = api.sign_up("John")

    # When he sends a key of exactly 255 characters
    response = api.post("/workouts", john, WORKOUT, headers={"Idempotency-Key": "k" * 255})

    # Then it is logged
    assert response.status_code == 201, response.text


def test_a_refused_request_does_not_burn_its_key(api):
    # Given John challenged himself with a key, and was refused
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    api.befriend(john, sarah)
    workout = api.log_workout(john)
    key = {"Idempotency-Key": "challenge-1"}
    refused = api.post("/challenges/create", john, {"to_user_ids": [john], "workout_log_id": workout},
                       headers=key)
    assert_problem(refused, 422, "self_challenge")

    # When he fixes the body and retries with the same key
    response = api.post("/challenges/create", john, {"to_user_ids": [sarah], "workout_log_id": workout},
                        headers=key)

    # Then it goes through
    assert response.status_code == 201, response.text


# A job the worker cannot carry out -----------------------------------------------------------

def test_a_job_the_worker_cannot_carry_out_ends_failed(api, redis_client):
    # Given John, and a command the worker will raise on (an argument its actor does not take),
    # enqueued exactly as the API does, so that no validation gap is needed to reach it
    # (regression: such a job used to stay `running` forever, the failure never recorded)
    from api.broker import ApiBroker
    from core.commands import JobStore, build_message

    john = api.sign_up("John")
    job_id = new_id()
    jobs = JobStore(redis_client, SETTINGS)
    ApiBroker(client=redis_client, namespace=SETTINGS.key("dramatiq"), middleware=[]).enqueue_with(
        build_message("workouts.log", job_id, {"user_id": john, "bogus": 1}),
        lambda pipe: jobs.queue_creation(pipe, job_id, john, "workouts.log", {}))

    # When John follows the job
    job = poll_job(api, john, JOB_LOCATION + job_id, timeout=5)

    # Then it ends failed with internal_error, so his app stops waiting
    assert job["status"] == "failed", job
    assert job["error"]["code"] == "internal_error"
