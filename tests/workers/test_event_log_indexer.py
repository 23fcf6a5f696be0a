"""The event log's indexer: turns, batches, and waiting out a ChromaDB outage without spending
the commands' CPU on retries. Real PostgreSQL, Redis and ChromaDB; the indexer's messages go to a
stub broker so each turn can be looked at."""

import json
import threading
import time

import psycopg
import pytest
from dramatiq.brokers.stub import StubBroker

from core.db import Database
from core.event_log import EventLog, index_batch, index_pending
from core.outbox import EVENT_LOG_QUEUE, indexing_turn, schedule_indexing
from jobs.local_servers import free_port
from sql import queries
from tests.api.support import lock_waiters, wait_for_lock_waiters
from tests.conftest import SETTINGS
from tests.core.rules.factories import accepted_challenge, pair, published
from workers.events import RETRY_DELAYS_MS, take_turn

Q = queries("core")


@pytest.fixture
def stub_broker():
    broker = StubBroker()
    broker.declare_queue(EVENT_LOG_QUEUE)
    yield broker
    broker.close()


@pytest.fixture
def worker_db(database):
    """The indexer's own pool, as in a worker process."""
    db = Database(database, max_size=1)
    yield db
    db.close()


def waiting_events(conn, challenges: int) -> int:
    """`challenges` accepted challenges: two published events each, none in the event log."""
    john, sarah = pair(conn)
    for _ in range(challenges):
        accepted_challenge(conn, john, sarah)
    published(conn)
    return 2 * challenges


def unindexed(conn) -> int:
    count = conn.execute("SELECT count(*) AS n FROM events WHERE indexed_at IS NULL").fetchone()["n"]
    conn.commit()
    return count


def queued(broker, queue: str = EVENT_LOG_QUEUE) -> list[dict]:
    return [json.loads(message) for message in broker.queues[queue].queue]


def test_events_are_indexed_in_batches_until_none_is_left(conn):
    # Given 150 events waiting for the log
    assert waiting_events(conn, 75) == 150

    # When they are indexed in batches of 64
    full_batches = []
    drained = index_pending(conn, EventLog.for_settings(SETTINGS), batch_size=64,
                            after_batch=lambda: full_batches.append(unindexed(conn)))

    # Then two full batches went in (64 + 64), then the last 22, and nothing is left
    assert drained is True
    assert full_batches == [86, 22]
    assert unindexed(conn) == 0
    ids = [str(row["id"]) for row in conn.execute("SELECT id FROM events")]
    conn.commit()
    assert len(EventLog.for_settings(SETTINGS).collection.get(ids=ids, include=[])["ids"]) == 150


def test_indexing_stops_after_a_batch_once_its_time_is_up(conn):
    # Given 150 events waiting
    waiting_events(conn, 75)

    # When the indexer's time is already up
    drained = index_pending(conn, EventLog.for_settings(SETTINGS), batch_size=64, until=0)

    # Then it indexed one batch and says there is more
    assert drained is False
    assert unindexed(conn) == 150 - 64


def test_an_indexing_transaction_waits_for_the_one_that_holds_the_log(conn, database):
    # Given two events waiting, and another indexing transaction (`challenges reindex`, say)
    # that holds the log, since it rewrites timelines the indexer's batch would rewrite too
    assert waiting_events(conn, 1) == 2
    with psycopg.connect(database) as other:
        Q.lock_event_log(other)

        # When the indexer takes a batch meanwhile
        batch = threading.Thread(target=index_batch, args=(conn, EventLog.for_settings(SETTINGS), 10))
        batch.start()

        # Then it waits for that lock, indexing nothing, until the other one has committed
        wait_for_lock_waiters(database, 1, timeout=5.0)
        assert lock_waiters(database) == 1
        with psycopg.connect(database) as watcher:
            assert watcher.execute("SELECT count(*) FROM events WHERE indexed_at IS NULL").fetchone()[0] == 2
        other.commit()
        batch.join(timeout=10.0)
    assert not batch.is_alive()
    assert unindexed(conn) == 0


def test_one_turn_at_a_time_indexes_what_many_commands_committed(conn, worker_db, redis_client, stub_broker):
    # Given 40 events waiting, and a command that committed and handed its events on: the
    # indexer's turn is queued
    waiting_events(conn, 20)
    assert schedule_indexing(redis_client, stub_broker, SETTINGS) is True

    # When nineteen more commands commit while the turn is queued
    handed_on = [schedule_indexing(redis_client, stub_broker, SETTINGS) for _ in range(19)]

    # Then they queue nothing more: one message for all of them
    assert not any(handed_on)
    assert len(queued(stub_broker)) == 1

    # When the turn is taken
    outcome = take_turn(worker_db, EventLog.for_settings(SETTINGS), redis_client, stub_broker, SETTINGS)

    # Then every event is in the log, the turn is over and the next command starts a new one
    assert outcome == "drained"
    assert unindexed(conn) == 0
    assert redis_client.exists(indexing_turn(SETTINGS)) == 0
    assert len(queued(stub_broker)) == 1
    assert schedule_indexing(redis_client, stub_broker, SETTINGS) is True


def test_while_chromadb_is_down_the_indexer_waits_longer_each_time_and_loses_nothing(
        conn, worker_db, redis_client, stub_broker):
    # Given 10 events waiting, a turn queued, and ChromaDB out of reach
    waiting_events(conn, 5)
    schedule_indexing(redis_client, stub_broker, SETTINGS)
    unreachable = EventLog(f"http://127.0.0.1:{free_port()}", SETTINGS.chroma_collection,
                           EventLog.for_settings(SETTINGS)._load_embedding)

    # When the turn is taken, and taken again each time it comes back
    delays, retry_delay_ms = [], 0
    for _ in range(7):
        started = time.monotonic()
        assert take_turn(worker_db, unreachable, redis_client, stub_broker, SETTINGS, retry_delay_ms) == "waiting"
        assert time.monotonic() - started < 2.5  # the heartbeat's timeout at most, never a hang
        [message] = queued(stub_broker, f"{EVENT_LOG_QUEUE}.DQ")[-1:]
        retry_delay_ms = message["kwargs"]["retry_delay_ms"]
        delays.append(retry_delay_ms)

    # Then each comes back later than the last, up to the longest delay; the turn stays taken
    # for longer than the wait, so commands queue nothing meanwhile; no event was marked
    first, last = RETRY_DELAYS_MS
    assert delays == [first, 2 * first, 4 * first, 8 * first, 16 * first, last, last]
    assert redis_client.pttl(indexing_turn(SETTINGS)) > last
    assert schedule_indexing(redis_client, stub_broker, SETTINGS) is False
    assert unindexed(conn) == 10

    # When ChromaDB is reachable again and the waiting turn comes back
    outcome = take_turn(worker_db, EventLog.for_settings(SETTINGS), redis_client, stub_broker, SETTINGS,
                        retry_delay_ms)

    # Then every event is indexed and the turn is over
    assert outcome == "drained"
    assert unindexed(conn) == 0
    assert redis_client.exists(indexing_turn(SETTINGS)) == 0
