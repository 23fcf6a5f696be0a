"""A frozen ChromaDB (SIGSTOP: its port stays open, nothing answers) costs a caller of the event
log one bounded wait, then nothing: every request has a timeout (core/chroma_http.py), and
after one has run out the event log leaves ChromaDB alone for CHROMA_RESTING_SECONDS, every call
failing at once as unavailable, so a burst of requests does not queue on it."""

import signal
import time
import uuid
from contextlib import contextmanager

import pytest

from core.embeddings import load_embedding
from core.event_log import CHROMA_RESTING_SECONDS, EventLog, EventLogUnavailable
from jobs.local_servers import ChromaServer, free_port

TIMEOUT = 0.5


@pytest.fixture
def chroma_server():
    server = ChromaServer(free_port()).start()
    yield server
    server.process.send_signal(signal.SIGCONT)
    server.stop()
    server.remove()


@contextmanager
def frozen(server: ChromaServer):
    server.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        server.process.send_signal(signal.SIGCONT)


def event_log(server: ChromaServer) -> EventLog:
    return EventLog(server.url, f"frozen-{uuid.uuid4().hex[:8]}", lambda: load_embedding("minilm"), timeout=TIMEOUT)


def timed(call) -> tuple[str, float]:
    started = time.monotonic()
    try:
        call()
    except EventLogUnavailable as error:
        return str(error), time.monotonic() - started
    return "answered", time.monotonic() - started


def test_a_frozen_chromadb_costs_one_bounded_wait_then_fails_fast_until_it_is_tried_again(chroma_server):
    # Given an event log that has read from ChromaDB, and one that has not yet made its client
    log, fresh = event_log(chroma_server), event_log(chroma_server)
    assert log.get({"to_user_id": "nobody"}) == []

    with frozen(chroma_server):
        # When ChromaDB freezes and the first reads three times, the second once
        first, second, third = (timed(lambda: log.get({"to_user_id": "nobody"})) for _ in range(3))
        creating = timed(lambda: fresh.get({"to_user_id": "nobody"}))

    # Then the first read waits out the timeout and fails as unavailable, the next fail at once
    # without asking, and creating a client is bounded too
    assert first[0].endswith("timed out") and TIMEOUT <= first[1] < TIMEOUT + 0.5, first
    assert [reason for reason, _ in (second, third)] == [
        f"ChromaDB at {chroma_server.url}: not asked again for {CHROMA_RESTING_SECONDS} s after it failed to answer"] * 2
    assert max(second[1], third[1]) < 0.05
    assert creating[0] != "answered" and creating[1] < TIMEOUT + 0.5, creating

    # And once ChromaDB is back and the resting time is over, reads are answered again
    time.sleep(CHROMA_RESTING_SECONDS)
    assert log.get({"to_user_id": "nobody"}) == []
