"""What a real HTTP client sees of the Procfile's web process: an oversized body it sends whole
still gets its 413 problem; what gunicorn refuses before the API sees it (a request line or a
header too long, a request that is not HTTP) is a problem+json too, as the OpenAPI document says;
and a kept-alive connection outlives the idle gaps of clients and load balancers (WEB_KEEPALIVE,
90 s), so a request on it is never met by the server's close."""

import json
import socket
import time
import uuid

import falcon.testing
import httpx
import pytest

from jobs.tokens import issue_token
from tests.conftest import SETTINGS
from tests.running import Process, environment

ONE_MEGABYTE_BODY = b'{"workout_name": "' + b"x" * (1024 * 1024) + b'"}'


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """The Procfile's web line as shipped, one worker, its URL."""
    env = environment(WEB_CONCURRENCY="1")
    process = Process("web", env, tmp_path_factory.mktemp("web") / "web.log")
    try:
        process.wait_for_port(int(env["PORT"]))
        yield f"http://127.0.0.1:{env['PORT']}/api/v1"
    finally:
        process.stop()


def test_a_request_line_or_header_too_long_is_a_problem_the_document_promises(web, app):
    # Given a token, and what the API document promises for reading the profile
    headers = {"Authorization": f"Bearer {issue_token(SETTINGS, str(uuid.uuid4()))}"}
    promised = app_document(app)["paths"]["/api/v1/me"]["get"]["responses"]

    # When a client sends a 6,000-byte query string, then an 9,000-byte header
    too_long_line = httpx.get(f"{web}/me", params={"q": "a" * 6000}, headers=headers, timeout=10)
    too_long_header = httpx.get(f"{web}/me", headers={**headers, "X-Big": "a" * 9000}, timeout=10)

    # Then each is the problem the document names for it, not gunicorn's HTML page
    for response, status, code in ((too_long_line, 414, "uri_too_long"),
                                   (too_long_header, 431, "request_header_fields_too_large")):
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code and response.json()["status"] == status
        assert "application/problem+json" in promised[str(status)]["content"]


def test_a_request_that_is_not_http_is_answered_with_a_problem(web):
    # Given a connection to the API
    host, port = web.removeprefix("http://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        # When what it sends is not an HTTP request line
        conn.sendall(b"GARBAGE\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk

    # Then it reads a 400 problem saying so
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer
    assert b"Content-Type: application/problem+json" in head, head
    assert json.loads(body)["code"] == "bad_request"


def app_document(app) -> dict:
    return falcon.testing.TestClient(app).simulate_get("/api/v1/openapi.json").json


def test_a_client_that_sends_a_whole_oversized_body_reads_its_413(web):
    # Given an app's HTTP client that keeps its connections, and a valid token
    headers = {"Authorization": f"Bearer {issue_token(SETTINGS, str(uuid.uuid4()))}",
               "Content-Type": "application/json"}
    with httpx.Client(timeout=10) as client:
        # When it posts a 1 MB body, sending all of it before reading the answer, eight times
        answers = []
        for _ in range(8):
            try:
                answers.append(client.post(f"{web}/workouts", content=ONE_MEGABYTE_BODY, headers=headers))
            except httpx.TransportError as error:
                answers.append(error)

    # Then every time it reads the 413 problem naming the limit, never a reset connection
    assert [getattr(answer, "status_code", answer) for answer in answers] == [413] * 8
    assert {answer.json()["code"] for answer in answers} == {"payload_too_large"}


def test_a_kept_alive_connection_outlives_idle_gaps_around_the_old_two_second_bound(web):
    # Given a client that keeps its connection for a minute, and a valid token
    headers = {"Authorization": f"Bearer {issue_token(SETTINGS, str(uuid.uuid4()))}"}
    with httpx.Client(timeout=10, limits=httpx.Limits(keepalive_expiry=60)) as client:
        # When it reads, then waits 1.9, 2.0, 2.1 and 5 seconds before each next request
        answers = []
        for gap in (0, 1.9, 2.0, 2.1, 5.0):
            time.sleep(gap)
            response = client.get(f"{web}/challenges/list", headers=headers)
            answers.append((response.status_code, response.extensions["network_stream"].get_extra_info("client_addr")))

    # Then every request is answered, all on the one connection the server kept open
    assert [status for status, _ in answers] == [200] * 5
    assert len({address for _, address in answers}) == 1, answers
