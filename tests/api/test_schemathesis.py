"""Schemathesis over every operation of the served OpenAPI document: whatever it sends, valid or
not, the API never answers a server error, and every answer is one the document promises (its
status, content type, headers and schema), so a client generated from the document can read it.
The app runs in process (WSGI) with the real worker, so mutations are carried out; the ids it
fuzzes with are rows made through the API here."""

import dataclasses

import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance, negative_data_rejection, not_a_server_error, response_headers_conformance,
    response_schema_conformance, status_code_conformance)
from schemathesis.config import SchemathesisConfig

from jobs.tokens import issue_token
from tests.conftest import SETTINGS
from tests.helpers import Api, serving

MAX_EXAMPLES = 40  # per operation, for the fuzzing phase (examples and coverage phases add their own)
SEED = 20240611
REAL_ID_SHARE = 0.9  # how often an id in a path or body is a seeded row rather than a made-up one

# Schemathesis draws from `random` inside its strategies (Hypothesis seeds it for each example).
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module:hypothesis.errors.HypothesisDeprecationWarning")


def seed(api: Api) -> tuple[str, dict[str, list[str]]]:
    """A coach with friends, a pending friend request, workouts, challenges sent and received
    (pending, accepted, completed, abandoned, declined, a rematch), community challenges and
    notifications; the coach's token and the ids of each kind."""
    me, sarah, mike, dave, eve = (api.sign_up(name) for name in ("Coach", "Sarah", "Mike", "Dave", "Eve"))
    api.befriend(me, sarah)
    api.befriend(mike, me)
    assert api.post("/friends/requests", dave, {"user_id": me}).status_code == 201

    my_workout = api.log_workout(me)
    sarah_post = api.post("/workouts", sarah, {"workout_name": "Hill Run", "duration_minutes": 40,
                                               "total_volume": 0})
    assert sarah_post.status_code == 201, sarah_post.text
    sarah_workout = sarah_post.json["workout_log_id"]
    api.log_habit(me, "water", 3)

    pending, accepted, completed, abandoned, declined = (
        api.challenge(sarah, [me], sarah_workout)[0] for _ in range(5))
    for challenge_id in (accepted, completed, abandoned):
        assert api.post(f"/challenges/accept/{challenge_id}", me).status_code == 200
    assert api.post(f"/challenges/complete/{completed}", me,
                    {"duration_minutes": 35, "total_volume": 5000}).status_code == 200
    assert api.post(f"/challenges/abandon/{abandoned}", me, {"quit_reason": "Maybe next time 😅"}).status_code == 200
    assert api.post(f"/challenges/decline/{declined}", me).status_code == 200
    rematch = api.retry(me, completed)
    sent = api.post("/challenges/create", me, {"to_user_ids": [sarah, mike], "workout_log_id": my_workout})
    assert sent.status_code == 201, sent.text

    communities = [api.create_community(me),
                   api.create_community(sarah, name="Hydrate", challenge_type="habit", target_value=10)]
    api.join(me, communities[1])
    profile = api.put("/me", me, {"timezone": "Europe/London"})
    assert profile.status_code == 200, profile.text

    return issue_token(SETTINGS, me, role="coach"), {
        "users": [me, sarah, mike, dave, eve],
        "challenges": [pending, accepted, completed, abandoned, declined, rematch, *sent.json["challenge_ids"]],
        "communities": communities,
        "notifications": [item["id"] for item in api.notifications(me)],
        "jobs": [profile.json["job_id"], sent.json["job_id"]],
        "workouts": [my_workout, sarah_workout],
        "activities": [sarah_post.json["activity_id"]],
    }


def fuzz_config(token: str, ids: dict[str, list[str]]) -> SchemathesisConfig:
    """Reproducible generation for the coach, with the seeded ids as fuzz dictionaries."""
    def real(kind: str) -> dict:
        return {"dictionary": kind, "probability": REAL_ID_SHARE}

    return SchemathesisConfig.from_dict({
        "seed": SEED,
        "suppress-health-check": ["too_slow", "filter_too_much"],
        "headers": {"Authorization": f"Bearer {token}"},
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "dictionaries": {kind: {"values": values} for kind, values in ids.items()},
        "parameters": {
            "header.Prefer": "wait=5",  # each mutation answers once the worker has carried it out
            "path.user_id": real("users"),
            "path.challenge_id": real("challenges"),
            "path.notification_id": real("notifications"),
            "path.job_id": real("jobs"),
            "body.user_id": real("users"),
            "body.to_user_ids[*]": real("users"),
            "body.workout_log_id": real("workouts"),
            "body.activity_id": real("activities"),
        },
        "operations": [{"include-path-regex": "^/api/v1/community-challenges/",
                        "parameters": {"path.challenge_id": real("communities")}}],
    })


@pytest.fixture
def fuzzed_schema(request, worker):
    """The served document, loaded from an in-process app of this session built without rate
    limits (one user sends thousands of requests here), for the coach of a seeded world."""
    # Schemathesis 4.32's `from_fixture` reads `node._nodeid`, which pytest 9.2 no longer has.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    with serving(dataclasses.replace(SETTINGS, rate_limit_enabled=False)) as client:
        token, ids = seed(Api(client.app))
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", client.app, config=fuzz_config(token, ids))


# Every operation: a filter that names it keeps the document's own GET, which Schemathesis
# otherwise leaves out because the schema was loaded from it.
schema = schemathesis.pytest.from_fixture("fuzzed_schema").include(path_regex="^/")


CONTRACT = [not_a_server_error, status_code_conformance, content_type_conformance,
            response_headers_conformance, response_schema_conformance, negative_data_rejection]


@schema.parametrize()
def test_every_answer_is_one_the_document_promises(case):
    # Given a request Schemathesis generated for one operation, valid or not, mostly with real ids
    # When the coach sends it to the app
    # Then the answer is not a 5xx, its status, content type, headers and body are documented for
    # that operation, and a request the document calls invalid is refused
    case.call_and_validate(checks=CONTRACT)
