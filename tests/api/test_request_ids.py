"""`X-Request-ID`: every response carries one, errors included: the client's when it sent a
usable one (1 to 128 visible ASCII characters), a new UUID otherwise."""

import dataclasses
import json
import logging
import uuid
from contextlib import contextmanager

import pytest

from core.logs import ContextFilter, json_formatter
from tests.api.support import assert_problem, auth
from tests.conftest import SETTINGS
from tests.helpers import API, serving

WORKOUT = {"workout_name": "Beast Mode Legs", "duration_minutes": 35, "total_volume": 10000,
           "volume_unit": "lb"}


NO_POSTGRES = dataclasses.replace(SETTINGS, api_database_url="postgresql://challenges_api@127.0.0.1:1/x")


class JsonLines(logging.Handler):
    """The JSON lines a process's handler would write (core/logs.py), kept in a list."""

    def __init__(self):
        super().__init__()
        self.lines = []
        self.addFilter(ContextFilter())
        self.setFormatter(json_formatter())

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


@contextmanager
def api_log_lines():
    handler, logger = JsonLines(), logging.getLogger("api")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def assert_new_request_id(response, not_this: str | None = None) -> str:
    request_id = response.headers["x-request-id"]
    assert str(uuid.UUID(request_id)) == request_id
    assert request_id != not_this
    return request_id


def test_an_accepted_command_gets_a_request_id(api):
    # Given John
    john = api.sign_up("John")

    # When he logs a workout without waiting, sending no request id
    response = api.post("/workouts", john, WORKOUT, wait=0)

    # Then 202, with a request id made for it
    assert response.status_code == 202, response.text
    assert_new_request_id(response)


def test_each_request_gets_its_own_request_id(api):
    # Given John
    john = api.sign_up("John")

    # When he reads his feed twice
    first, second = api.get("/feed", john), api.get("/feed", john)

    # Then each answer has a request id of its own
    assert_new_request_id(second, not_this=assert_new_request_id(first))


@pytest.mark.parametrize("sent", ["trace-4bf92f3577b34da6", "a", "x" * 128, "!~#%&'*+-.^_`|"])
def test_the_clients_request_id_comes_back(api, sent):
    # Given John
    john = api.sign_up("John")

    # When he logs a workout and waits, sending his own request id
    response = api.post("/workouts", john, WORKOUT, headers={"X-Request-ID": sent})

    # Then the workout is logged and the answer carries his id
    assert response.status_code == 201, response.text
    assert response.headers["x-request-id"] == sent


@pytest.mark.parametrize("sent", ["x" * 129, "two words", "caf\u00e9", "tab\there", ""])
def test_an_unusable_request_id_is_replaced(api, sent):
    # Given John
    john = api.sign_up("John")

    # When he sends a request id that is too long, or not visible ASCII, or empty
    response = api.get("/feed", john, headers={"X-Request-ID": sent})

    # Then he is answered, under a new UUID instead
    assert response.status_code == 200, response.text
    assert_new_request_id(response, not_this=sent)


def test_a_refused_command_carries_the_request_id(api):
    # Given John
    john = api.sign_up("John")

    # When he logs a workout with no name, with a request id
    response = api.post("/workouts", john, {**WORKOUT, "workout_name": ""},
                        headers={"X-Request-ID": "trace-refused"})

    # Then the problem carries it
    assert_problem(response, 422, "validation_error", "workout_name")
    assert response.headers["x-request-id"] == "trace-refused"


def test_an_unauthenticated_request_carries_a_request_id(api):
    # When someone reads a feed without a token
    response = api.get("/feed", None)

    # Then 401, with a request id
    assert_problem(response, 401, "unauthorized")
    assert_new_request_id(response)


def test_a_body_refused_before_it_is_read_carries_a_request_id(api):
    # Given John
    john = api.sign_up("John")

    # When he posts a workout larger than the limit (refused before any other middleware runs)
    response = api.post("/workouts", john, {**WORKOUT, "notes": "x" * SETTINGS.max_request_body_bytes},
                        headers={"X-Request-ID": "trace-too-large"})

    # Then 413, with his request id
    assert_problem(response, 413, "payload_too_large")
    assert response.headers["x-request-id"] == "trace-too-large"


def test_an_unknown_path_carries_the_request_id(api):
    # When someone asks for a path that does not exist
    response = api.get("/nothing-here", None, headers={"X-Request-ID": "trace-404"})

    # Then 404, with the request id
    assert_problem(response, 404, "not_found")
    assert response.headers["x-request-id"] == "trace-404"


def test_the_apis_log_lines_carry_the_request_id_and_the_caller(api):
    # Given John, and an API that cannot reach PostgreSQL
    john = api.sign_up("John")
    with serving(NO_POSTGRES) as client, api_log_lines() as lines:
        # When he reads his feed under his own request id
        response = client.simulate_get(API + "/feed", headers={**auth(john), "X-Request-ID": "trace-503"})

    # Then 503 under his request id, and the API's warning about it names the request and John
    assert_problem(response, 503, "service_unavailable")
    assert response.headers["x-request-id"] == "trace-503"
    [warning] = [line for line in lines if "postgres unavailable" in line["message"]]
    assert (warning["level"], warning["request_id"], warning["user_id"]) == ("WARNING", "trace-503", john)
