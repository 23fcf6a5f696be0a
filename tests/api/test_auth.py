"""Authentication: every protected route answers 401 `unauthorized` with a WWW-Authenticate
challenge when the bearer token is missing or not acceptable, and nothing happens."""

import time
import uuid

import jwt
import pytest

from api.auth import TokenVerifier
from api.errors import Problem
from jobs.tokens import issue_token
from tests.api.support import assert_problem, snapshot
from tests.conftest import SETTINGS

WORKOUT = {"workout_name": "Leg day", "duration_minutes": 30, "total_volume": 1000}


def claims(**changes) -> dict:
    """Claims an identity provider would put in a valid token, with `changes` applied
    (a value of None removes the claim)."""
    base = {"sub": str(uuid.uuid4()), "exp": int(time.time()) + 600}
    if SETTINGS.jwt_audience:
        base["aud"] = SETTINGS.jwt_audience
    if SETTINGS.jwt_issuer:
        base["iss"] = SETTINGS.jwt_issuer
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def signed(payload: dict, key: str = SETTINGS.jwt_secret, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


BAD_TOKENS = {
    "malformed": lambda: "not-a-jwt",
    "three-garbage-segments": lambda: "abc.def.ghi",
    "wrong-signature": lambda: signed(claims(), "a-different-secret-that-is-long-enough-0123456789"),
    "expired": lambda: issue_token(SETTINGS, str(uuid.uuid4()), ttl_seconds=-10),
    "sub-not-a-uuid": lambda: signed(claims(sub="john")),
    "sub-empty": lambda: signed(claims(sub="")),
    "without-exp": lambda: signed(claims(exp=None)),
    "without-sub": lambda: signed(claims(sub=None)),
    "not-yet-valid": lambda: signed(claims(nbf=int(time.time()) + 600)),
    "alg-none": lambda: jwt.encode(claims(), None, algorithm="none"),
    # PyJWT itself takes any `exp` that int() takes
    "exp-a-string": lambda: signed(claims(exp=str(int(time.time()) + 600))),
    "exp-beyond-the-maximum-lifetime": lambda: signed(claims(
        exp=int(time.time()) + SETTINGS.jwt_max_ttl_seconds + 3600)),
}


def assert_unauthorized(response) -> None:
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer"), response.headers


@pytest.mark.parametrize("path", ["/me", "/feed", "/friends", "/notifications", "/workouts"])
def test_a_read_without_a_token_is_refused(api, path):
    # Given no Authorization header
    # When a protected resource is read
    response = api.get(path, None)

    # Then 401 unauthorized with a Bearer challenge
    assert_unauthorized(response)


def test_a_mutation_without_a_token_is_refused_and_nothing_is_queued(api, conn, redis_client):
    # Given an empty system
    before = snapshot(conn, redis_client)

    # When a workout is posted without a token
    response = api.post("/workouts", None, WORKOUT)

    # Then 401, and no job and no row was created
    assert_unauthorized(response)
    assert snapshot(conn, redis_client) == before


@pytest.mark.parametrize("header", ["Basic am9objpzZWNyZXQ=", "Bearer", "Bearer    ", "Token abc"],
                         ids=["basic", "bearer-alone", "bearer-blank", "other-scheme"])
def test_an_authorization_header_that_is_not_a_bearer_token_is_refused(api, header):
    # Given an Authorization header without a bearer token
    # When the profile is read
    response = api.get("/me", None, headers={"Authorization": header})

    # Then 401 unauthorized
    assert_unauthorized(response)


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_a_read_with_an_unacceptable_token_is_refused(api, kind):
    # Given a token that must not be trusted
    token = BAD_TOKENS[kind]()

    # When the feed is read with it
    response = api.get("/feed", None, token=token)

    # Then 401 unauthorized with a Bearer challenge
    assert_unauthorized(response)


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_a_mutation_with_an_unacceptable_token_changes_nothing(api, conn, redis_client, kind):
    # Given a signed-up user, and a token that must not be trusted
    api.sign_up("John")
    before = snapshot(conn, redis_client)
    token = BAD_TOKENS[kind]()

    # When a workout is posted with it
    response = api.post("/workouts", None, WORKOUT, token=token)

    # Then 401, and no job and no row was created
    assert_unauthorized(response)
    assert snapshot(conn, redis_client) == before


def test_an_expired_token_says_it_has_expired(api):
    # Given a token that expired ten seconds ago
    token = issue_token(SETTINGS, str(uuid.uuid4()), ttl_seconds=-10)

    # When it is used
    response = api.get("/me", None, token=token)

    # Then the problem tells the client to refresh it
    assert_unauthorized(response)
    assert "expired" in response.json["detail"].lower()


def test_an_expired_token_of_a_real_user_cannot_change_their_profile(api):
    # Given John, whose old token has expired
    john = api.sign_up("John")
    token = issue_token(SETTINGS, john, ttl_seconds=-10)

    # When he renames himself with it
    response = api.put("/me", None, {"display_name": "Mallory"}, token=token)

    # Then 401, and his profile keeps its name
    assert_unauthorized(response)
    assert api.get("/me", john).json["display_name"] == "John"


def test_a_token_good_for_a_year_is_refused_naming_the_maximum_lifetime(api):
    # Given a token that would be good for a year
    token = signed(claims(exp=int(time.time()) + 365 * 24 * 3600))

    # When it is used
    response = api.get("/me", None, token=token)

    # Then it is refused, naming the setting that bounds a token's life
    assert_unauthorized(response)
    assert "JWT_MAX_TTL_SECONDS" in response.json["detail"], response.json


def test_a_token_with_a_fractional_expiry_is_accepted():
    # Given a token whose `exp` is a JSON number with a fraction, as some providers write it
    user = str(uuid.uuid4())
    token = signed(claims(sub=user, exp=time.time() + 600.5))

    # When it is verified, then it names its user
    assert TokenVerifier(SETTINGS).verify(token).id == user


def test_a_token_already_verified_is_refused_once_it_expires():
    # Given a token valid for another minute, verified once (so it is remembered)
    user, expires_at, now = str(uuid.uuid4()), int(time.time()) + 60, [time.time()]
    verifier = TokenVerifier(SETTINGS, clock=lambda: now[0])
    token = signed(claims(sub=user, exp=expires_at))
    assert verifier.verify(token).id == user

    # When it is used again half a second before it expires, and then when it does
    now[0] = expires_at - 0.5
    before_expiry = verifier.verify(token)
    now[0] = expires_at

    # Then it is accepted until then, and refused from then on as expired
    assert before_expiry.id == user
    with pytest.raises(Problem) as refused:
        verifier.verify(token)
    assert (refused.value.status_code, refused.value.description) == (401, "The token has expired.")


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/healthz", "/api/v1/openapi.json"])
def test_public_routes_need_no_token(api, path):
    # Given no token
    # When a public route is read
    response = api.client.simulate_get(path)

    # Then it answers
    assert response.status_code == 200, response.text
