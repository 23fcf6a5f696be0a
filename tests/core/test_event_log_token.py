"""ChromaDB's server checks no token, so production puts a proxy in front of it that does (the
docs/operations.md shows one); with CHROMA_AUTH_TOKEN set, the event log sends the token on every request.
Here a small token-checking proxy stands in front of the session's ChromaDB."""

import http.server
import threading
import uuid

import httpx
import pytest

from core.embeddings import MiniLMEmbedding
from core.event_log import TOKEN_HEADER, EventLog, EventLogUnavailable
from jobs.local_servers import free_port

TOKEN = "s3cret-" + uuid.uuid4().hex
HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection"}


def token_checking_proxy(upstream: str):
    """A handler that forwards requests carrying its server's `token` to `upstream` and refuses
    the rest (401)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def forward(self):
            if self.headers.get(TOKEN_HEADER) != self.server.token:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            answer = httpx.request(self.command, upstream + self.path, content=body, headers=headers)
            self.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_PUT = do_DELETE = forward

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="module")
def guard(chroma):
    """A proxy that lets only TOKEN through to the session's ChromaDB."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), token_checking_proxy(chroma.url))
    server.token = TOKEN
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture
def guarded_chroma(guard):
    guard.token = TOKEN
    yield f"http://127.0.0.1:{guard.server_address[1]}"
    guard.token = TOKEN


def event_log(url: str, token: str) -> EventLog:
    return EventLog(url, f"guarded-{uuid.uuid4().hex[:8]}", MiniLMEmbedding, token)


def test_with_the_token_the_event_log_works_through_the_guard(guarded_chroma):
    # Given an event log configured with the token the guard expects
    log = event_log(guarded_chroma, TOKEN)

    # When it is checked and used
    log.heartbeat(timeout=2.0)
    kinds = log.workout_kinds(["Leg Day Destroyer"])

    # Then ChromaDB answered through the guard
    assert kinds == {"Leg Day Destroyer": "leg"}


@pytest.mark.parametrize("token", ["", "a-wrong-token"])
def test_without_the_right_token_the_guard_refuses_and_the_log_is_unavailable(guarded_chroma, token):
    # Given an event log without the token, or with another
    log = event_log(guarded_chroma, token)

    # When it is used, Then it is unavailable (what the API answers as 503), never a crash
    with pytest.raises(EventLogUnavailable):
        log.heartbeat(timeout=2.0)
    with pytest.raises(EventLogUnavailable):
        log.workout_kinds(["Leg Day Destroyer"])


def test_a_guard_that_starts_refusing_makes_the_log_unavailable_not_broken(guard, guarded_chroma):
    # Given an event log that has been working through the guard (its collections open)
    log = event_log(guarded_chroma, TOKEN)
    assert log.workout_kinds(["Leg Day Destroyer"]) == {"Leg Day Destroyer": "leg"}

    # When the guard's token is rotated (chromadb raises a bare Exception for the 401)
    guard.token = "rotated-" + uuid.uuid4().hex

    # Then the log is unavailable, as when ChromaDB is down (the API's 503), never a crash
    # (a name it has not looked up before: the kinds of those it has are remembered)
    with pytest.raises(EventLogUnavailable):
        log.workout_kinds(["Quad Killer"])
