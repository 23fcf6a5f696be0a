"""A body that is not JSON (or nested deeper than any of ours) is a 400 `bad_request`; JSON that
is not an object is a 422; a body over the size limit is a 413 before it is read. Whichever,
nothing is queued."""

import pytest

from api.validation import MAX_JSON_DEPTH
from tests.api.support import assert_problem, new_id, send_raw, snapshot
from tests.conftest import SETTINGS

ENDPOINTS = [("POST", "/workouts"), ("POST", "/challenges/create"), ("POST", "/friends/requests"),
             ("PUT", "/me"), ("POST", "/challenges/complete/{id}")]
NOT_JSON = {"text": "not json", "truncated": '{"workout_name": "x"', "single-quotes": "{'a': 1}",
            "not-utf8": b"\xff\xfe\xfa", "trailing-garbage": '{"a": 1} x'}
EMPTY = {"empty": "", "whitespace": "  \n "}
NOT_AN_OBJECT = {"array": "[1, 2]", "number": "42", "string": '"hello"', "null": "null"}


def endpoint_ids(endpoints):
    return [f"{method} {path}" for method, path in endpoints]


@pytest.fixture
def john(api):
    return api.sign_up("John")


@pytest.mark.parametrize("method,path", ENDPOINTS, ids=endpoint_ids(ENDPOINTS))
@pytest.mark.parametrize("kind", list(NOT_JSON) + list(EMPTY))
def test_a_body_that_is_not_json_or_empty_is_a_bad_request(api, conn, redis_client, john, method, path, kind):
    # Given John, and a body that is not JSON, or none at all
    before = snapshot(conn, redis_client)

    # When a mutation that needs a body is sent with it
    response = send_raw(api, method, path.format(id=new_id()), john, {**NOT_JSON, **EMPTY}[kind])

    # Then 400 bad_request, and nothing queued or stored
    assert_problem(response, 400, "bad_request")
    assert snapshot(conn, redis_client) == before


def test_a_workout_without_any_body_at_all_is_a_bad_request(api, john):
    # Given John
    # When he posts a workout with no body and no Content-Type
    response = api.post("/workouts", john)

    # Then 400 bad_request, and he has no workout
    assert_problem(response, 400, "bad_request")
    assert api.get("/workouts", john).json["items"] == []


@pytest.mark.parametrize("method,path", ENDPOINTS, ids=endpoint_ids(ENDPOINTS))
@pytest.mark.parametrize("kind", list(NOT_AN_OBJECT))
def test_json_that_is_not_an_object_is_invalid(api, conn, redis_client, john, method, path, kind):
    # Given John, and valid JSON that is not an object
    before = snapshot(conn, redis_client)

    # When it is sent
    response = send_raw(api, method, path.format(id=new_id()), john, NOT_AN_OBJECT[kind])

    # Then 422 on the body as a whole, and nothing queued or stored
    assert_problem(response, 422, "validation_error", "_schema")
    assert snapshot(conn, redis_client) == before


def test_a_json_body_is_read_whatever_the_content_type_says(api, john):
    # Given a valid workout sent as text/plain
    body = '{"workout_name": "Leg day", "duration_minutes": 30, "total_volume": 100}'

    # When it is posted
    response = send_raw(api, "POST", "/workouts", john, body, headers={"Content-Type": "text/plain"})

    # Then it is logged
    assert response.status_code == 201, response.text
    assert len(api.get("/workouts", john).json["items"]) == 1


HALF_AN_EMOJI = r"Leg day \ud83d"  # valid JSON escaping half of an emoji: no UTF-8 form exists
TEXT_FIELDS = {
    "workout_name": ("POST", "/workouts", '{"workout_name": "%s", "duration_minutes": 30, "total_volume": 1}'),
    "notes": ("POST", "/workouts",
              '{"workout_name": "Legs", "duration_minutes": 30, "total_volume": 1, "notes": "%s"}'),
    "display_name": ("PUT", "/me", '{"display_name": "%s"}'),
    "avatar_url": ("PUT", "/me", '{"avatar_url": "https://example.com/%s.png"}'),
    "message": ("POST", "/challenges/create",
                '{"to_user_ids": ["%s"], "workout_log_id": "%s", "message": "%%s"}' % (new_id(), new_id())),
}


@pytest.mark.parametrize("field", list(TEXT_FIELDS))
def test_text_with_half_an_emoji_is_invalid(api, conn, redis_client, john, field):
    # Given John, and a text field holding an unpaired surrogate escape
    method, path, template = TEXT_FIELDS[field]
    before = snapshot(conn, redis_client)

    # When it is sent
    response = send_raw(api, method, path, john, template % HALF_AN_EMOJI)

    # Then 422 naming the field (never a 500 from the worker), and nothing queued or stored
    assert_problem(response, 422, "validation_error", field)
    assert snapshot(conn, redis_client) == before


# Limits: size, nesting, headers -----------------------------------------------------------------

def test_a_body_larger_than_the_limit_is_refused_before_it_is_read(api, conn, redis_client, john):
    # Given John, and a workout whose notes make the body larger than the limit
    body = '{"workout_name": "Legs", "duration_minutes": 30, "total_volume": 1, "notes": "%s"}' % (
        "x" * SETTINGS.max_request_body_bytes)
    before = snapshot(conn, redis_client)

    # When it is posted
    response = send_raw(api, "POST", "/workouts", john, body)

    # Then 413, and nothing queued or stored
    problem = assert_problem(response, 413, "payload_too_large")
    assert str(SETTINGS.max_request_body_bytes) in problem["detail"]
    assert snapshot(conn, redis_client) == before


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 30_000])
def test_json_nested_too_deeply_is_a_bad_request(api, conn, redis_client, john, depth):
    # Given John, and a workout name that is an array nested `depth` deep, within the size limit
    # (30,000 deep used to exhaust the parser: a 500)
    body = '{"workout_name": %s}' % ("[" * depth + "]" * depth)
    assert len(body) <= SETTINGS.max_request_body_bytes
    before = snapshot(conn, redis_client)

    # When it is posted
    response = send_raw(api, "POST", "/workouts", john, body)

    # Then 400 saying it is nested too deeply, and nothing queued or stored
    problem = assert_problem(response, 400, "bad_request")
    assert "deeper" in problem["detail"]
    assert snapshot(conn, redis_client) == before


def test_json_as_deep_as_the_limit_is_read(api, john):
    # Given a body nested exactly as deep as allowed (an unknown field, so 422 names it)
    body = '{"workout_name": "Legs", "duration_minutes": 30, "total_volume": 1, "x": %s}' % (
        "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1))

    # When it is posted, Then it is parsed and validated like any other
    assert_problem(send_raw(api, "POST", "/workouts", john, body), 422, "validation_error", "x")


@pytest.mark.parametrize("prefer", ["wait=-1", "wait=abc", "wait", "wait=5s"])
def test_a_prefer_header_it_cannot_use_is_ignored(api, john, prefer):
    # Given John
    # When he logs a workout with a Prefer header that asks for no usable wait
    response = api.post("/workouts", john, {"workout_name": "Legs", "duration_minutes": 30,
                                            "total_volume": 1}, headers={"Prefer": prefer})

    # Then it is accepted without waiting
    assert response.status_code == 202, response.text
    assert "preference-applied" not in response.headers


@pytest.mark.parametrize("prefer,applied", [("wait=" + "9" * 5000, 10), ("wait=1000000", 10), ("wait=0005", 5)])
def test_a_prefer_wait_of_any_length_is_capped_at_ten_seconds(api, john, prefer, applied):
    # Given John
    # When he asks to wait a number of seconds of any length (5,000 digits used to answer 500)
    response = api.post("/workouts", john, {"workout_name": "Legs", "duration_minutes": 30,
                                            "total_volume": 1}, headers={"Prefer": prefer})

    # Then the wait applied is at most ten seconds, and the workout is done
    assert response.status_code == 201, response.text
    assert response.headers["preference-applied"] == f"wait={applied}"


# Falcon's own refusals are problems like ours -------------------------------------------------

@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/no-such-thing", 404, "not_found"),
    ("GET", "/users/not-a-uuid", 404, "not_found"),
    ("PATCH", "/me", 405, "method_not_allowed"),
    ("DELETE", "/workouts", 405, "method_not_allowed"),
])
def test_the_frameworks_refusals_are_problem_json_with_a_code_and_type(api, john, method, path, status, code):
    # Given John
    # When he asks for something no route answers
    response = api.call(method, path, john, wait=0)

    # Then a problem like every other, with a type to look up and a detail to read
    problem = assert_problem(response, status, code)
    assert problem["type"].endswith("/" + code)
    assert problem["detail"] and not problem["detail"].startswith(str(status))
    if status == 405:
        assert response.headers["allow"]
