"""F. A client that declares a huge body (5 MB) and sends only its first kilobyte: gunicorn and the
API answer 413 from the declared length at once, without waiting to read a byte more; a server
that read the body first would wait here for the rest until the client gave up."""

import json
import re
import socket
import time

import pytest


pytestmark = pytest.mark.timeout(60)

DECLARED = 5 * 1024 * 1024
ANSWER_WITHIN = 2.0


def read_response(conn: socket.socket) -> tuple[str, str, str]:
    """One HTTP response (status line, headers, body), however the server splits its writes."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536) or b"\r\n\r\n"
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, _, headers = head.decode(errors="replace").partition("\r\n")
    length = int(re.search(r"(?im)^content-length:\s*(\d+)", headers).group(1))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return status_line, headers, body.decode(errors="replace")


def test_f_a_declared_oversized_body_is_refused_without_being_read(healthy, load_users):
    system, user = healthy, load_users[0]
    head = (f"POST /api/v1/workouts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {user.token}\r\nContent-Length: {DECLARED}\r\n\r\n").encode()

    # Given a connection to the API
    with socket.create_connection(("127.0.0.1", system.port), timeout=ANSWER_WITHIN + 3) as conn:
        # When a 5 MB body is announced and only 1 KB of it sent
        started = time.monotonic()
        conn.sendall(head + b"{" + b" " * 1023)
        status_line, headers, body = read_response(conn)
        elapsed = time.monotonic() - started

    # Then 413 problem+json comes back at once, naming the limit
    answer = f"{status_line}\r\n{headers}\r\n\r\n{body}"
    assert " 413 " in status_line, answer[:500]
    assert "application/problem+json" in headers.lower(), headers
    assert json.loads(body)["code"] == "payload_too_large"
    assert elapsed < ANSWER_WITHIN, elapsed
