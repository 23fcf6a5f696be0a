"""F. A client that declares a huge body (5 MB) and sends only its first kilobyte: gunicorn and the
API answer 413 from the declared length at once, without waiting to read a byte more; a server
that read the body first would wait here for the rest until the client gave up."""

import json
import socket
import time

import pytest


pytestmark = pytest.mark.timeout(60)

DECLARED = 5 * 1024 * 1024
ANSWER_WITHIN = 2.0


def test_f_a_declared_oversized_body_is_refused_without_being_read(healthy, load_users):
    system, user = healthy, load_users[0]
    head = (f"POST /api/v1/workouts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {user.token}\r\nContent-Length: {DECLARED}\r\n\r\n").encode()

    # Given a connection to the API
    with socket.create_connection(("127.0.0.1", system.port), timeout=ANSWER_WITHIN + 3) as conn:
        # When a 5 MB body is announced and only 1 KB of it sent
        started = time.monotonic()
        conn.sendall(head + b"{" + b" " * 1023)
        answer = conn.recv(65536).decode(errors="replace")
        elapsed = time.monotonic() - started

    # Then 413 problem+json comes back at once, naming the limit
    status_line, _, rest = answer.partition("\r\n")
    headers, _, body = rest.partition("\r\n\r\n")
    assert " 413 " in status_line, answer[:500]
    assert "application/problem+json" in headers.lower(), headers
    assert json.loads(body)["code"] == "payload_too_large"
    assert elapsed < ANSWER_WITHIN, elapsed
