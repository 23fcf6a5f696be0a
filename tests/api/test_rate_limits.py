"""Rate limits: per user for mutations and for reads, and for searches on top of reads; per
client address for failed authentications; 429 problem+json with Retry-After and RateLimit-*
headers, nothing done; and when Redis is down the limiter lets requests through."""

import dataclasses

import jwt
import pytest

from tests.api.support import assert_problem, auth, snapshot
from tests.conftest import SETTINGS
from tests.helpers import API, serving

WORKOUT = {"workout_name": "Legs", "duration_minutes": 30, "total_volume": 1}
WAIT = {"Prefer": "wait=5"}
SMALL = dataclasses.replace(SETTINGS, rate_limit_mutations="3/minute", rate_limit_reads="5/minute",
                            rate_limit_auth_failures="4/minute")


def bad_token(user: str) -> dict:
    forged = jwt.encode({"sub": user, "exp": 4_000_000_000}, "not-our-secret-" * 4, algorithm="HS256")
    return {"Authorization": f"Bearer {forged}"}


def assert_limited(response, limit: int) -> None:
    assert_problem(response, 429, "too_many_requests")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["RateLimit-Limit"] == str(limit)
    assert response.headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(response.headers["RateLimit-Reset"]) <= 60


@pytest.fixture
def small_limits():
    with serving(SMALL) as client:
        yield client


def test_a_user_past_the_mutation_budget_gets_429_and_nothing_is_done(api, conn, redis_client, small_limits):
    # Given John has used his 3 mutations of the minute (and they are done)
    john = api.sign_up("John")
    for _ in range(3):
        response = small_limits.simulate_post(API + "/workouts", json=WORKOUT, headers={**auth(john), **WAIT})
        assert response.status_code == 201, response.text
    before = snapshot(conn, redis_client)

    # When he sends a fourth
    response = small_limits.simulate_post(API + "/workouts", json=WORKOUT, headers=auth(john))

    # Then 429 saying when to come back, and nothing queued
    assert_limited(response, 3)
    assert snapshot(conn, redis_client) == before


def test_reads_have_their_own_budget_and_other_users_theirs(api, small_limits):
    # Given John has spent his mutations
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    for _ in range(3):
        assert small_limits.simulate_post(API + "/workouts", json=WORKOUT,
                                          headers={**auth(john), **WAIT}).status_code == 201

    # When he reads, Then his 5 reads of the minute are served and the sixth is refused
    for _ in range(5):
        assert small_limits.simulate_get(API + "/workouts", headers=auth(john)).status_code == 200
    assert_limited(small_limits.simulate_get(API + "/workouts", headers=auth(john)), 5)

    # and Sarah is not held back by John
    assert small_limits.simulate_post(API + "/workouts", json=WORKOUT,
                                      headers={**auth(sarah), **WAIT}).status_code == 201
    assert small_limits.simulate_get(API + "/workouts", headers=auth(sarah)).status_code == 200


def test_the_31st_search_in_a_minute_is_refused_while_other_reads_are_served(api):
    # Given John has searched his events 30 times this minute (the default budget), every
    # search answered
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    for _ in range(30):
        assert api.get("/insights/search?q=legs", john).status_code == 200

    # When he searches once more
    response = api.get("/insights/search?q=legs", john)

    # Then 429, naming the searches budget
    assert_limited(response, 30)
    assert response.json["detail"].startswith("Too many searches: at most 30 per minute")

    # and his other reads, insights included, are served, as is Sarah's search
    assert api.get("/workouts", john).status_code == 200
    assert api.get("/insights", john).status_code == 200
    assert api.get("/insights/search?q=legs", sarah).status_code == 200


def test_a_search_counts_against_the_read_budget_too(api, small_limits):
    # Given a budget of 5 reads a minute (and the default 30 searches), and John's 5 searches
    john = api.sign_up("John")
    for _ in range(5):
        assert small_limits.simulate_get(API + "/insights/search?q=legs", headers=auth(john)).status_code == 200

    # When he reads again, searching or not, Then he is refused as over his reads
    for path in ("/insights/search?q=legs", "/workouts"):
        response = small_limits.simulate_get(API + path, headers=auth(john))
        assert_limited(response, 5)
        assert response.json["detail"].startswith("Too many reads")


def test_failed_authentications_are_limited_per_address_without_locking_out_valid_tokens(api, small_limits):
    # Given an address that has sent 4 tokens with a bad signature
    john = api.sign_up("John")
    for _ in range(4):
        response = small_limits.simulate_get(API + "/me", headers=bad_token(john), remote_addr="203.0.113.7")
        assert_problem(response, 401, "unauthorized")

    # When it sends a fifth, Then it is refused without being looked at
    response = small_limits.simulate_get(API + "/me", headers=bad_token(john), remote_addr="203.0.113.7")
    assert_limited(response, 4)
    response = small_limits.simulate_get(API + "/me", remote_addr="203.0.113.7")  # no token at all
    assert_limited(response, 4)

    # and a valid token from that address, or a bad one from another, is answered as usual
    assert small_limits.simulate_get(API + "/me", headers=auth(john), remote_addr="203.0.113.7").status_code == 200
    response = small_limits.simulate_get(API + "/me", headers=bad_token(john), remote_addr="198.51.100.1")
    assert_problem(response, 401, "unauthorized")


def test_with_rate_limits_off_nothing_is_refused(api):
    # Given rate limits switched off
    john = api.sign_up("John")
    with serving(dataclasses.replace(SMALL, rate_limit_enabled=False)) as client:
        # When John reads more than the budget would allow, Then every read is served
        for _ in range(8):
            assert client.simulate_get(API + "/workouts", headers=auth(john)).status_code == 200


def test_without_redis_the_limiter_lets_reads_through(api):
    # Given a budget of one read a minute, and an API whose Redis is gone
    john = api.sign_up("John")
    no_redis = dataclasses.replace(SMALL, rate_limit_reads="1/minute", redis_url="redis://127.0.0.1:1/0")
    with serving(no_redis) as client:
        # When John reads three times, Then all three are served (reads need only PostgreSQL)
        for _ in range(3):
            assert client.simulate_get(API + "/workouts", headers=auth(john)).status_code == 200
