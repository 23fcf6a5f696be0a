"""The ChromaDB event log, end to end: every challenge event, driven through the API and carried
out by the real worker, becomes one sentence with its metadata in the session's ChromaDB; a
redelivery, an outage of ChromaDB and `challenges reindex` leave exactly one document per event;
each user's timeline, which search ranks, keeps their newest events whatever order they come in.

The collection is shared by the whole session, so every read is filtered by the challenges the
test created; the events table is emptied before every test, so events are this test's own."""

import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from core.embeddings import MiniLMEmbedding
from core.event_log import RECENT_EVENTS, EventLog, index_batch
from core.insights import search
from core.rules.challenges import decline_challenge, delete_challenge
from jobs import maintenance
from jobs.scheduler import sweep_outbox
from tests.conftest import SETTINGS
from tests.core.rules.factories import accepted_challenge, pair, pending_challenge, published
import workers.broker
from workers.events import RETRY_DELAYS_MS

ROOT = Path(__file__).resolve().parents[2]
LEGS = "Beast Mode Legs"
KIND_OF = {LEGS: "leg", "Arm Destroyer": "upper-body"}
TARGET = dict(minutes=35, volume=10000, unit="lb", name=LEGS)
VICTORY = {"duration_minutes": 28, "total_volume": 12500, "volume_unit": "lb"}
SHORT = {"duration_minutes": 40, "total_volume": 9000, "volume_unit": "lb"}
INDEX_TIMEOUT = 10.0


# Helpers -------------------------------------------------------------------------------------

def event_log(recent: int = RECENT_EVENTS) -> EventLog:
    """The session's collection, read as the worker writes it; `recent`: how many events a
    user's timeline keeps."""
    return EventLog(SETTINGS.chroma_url, SETTINGS.chroma_collection, MiniLMEmbedding, recent=recent)


def unindexed(conn) -> int:
    count = conn.execute("SELECT count(*) AS n FROM events WHERE indexed_at IS NULL").fetchone()["n"]
    conn.commit()
    return count


def wait_until_indexed(conn, timeout: float = INDEX_TIMEOUT) -> None:
    """Indexing is asynchronous: wait until the worker has marked every event."""
    deadline = time.monotonic() + timeout
    while (left := unindexed(conn)) > 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{left} event(s) still not indexed after {timeout} s")
        time.sleep(0.1)


def events_of(conn, challenge_ids: list[str]) -> list[dict]:
    """The events rows of these challenges, oldest first."""
    rows = conn.execute(
        "SELECT id::text AS id, event_type, actor_id::text AS actor_id, payload, created_at, indexed_at "
        "FROM events WHERE payload ->> 'challenge_id' = ANY(%s) ORDER BY created_at, id",
        (list(challenge_ids),)).fetchall()
    conn.commit()
    return rows


def logged(log: EventLog, challenge_ids: list[str]) -> dict[str, tuple[str, dict]]:
    """Document id -> (document, metadata) of everything logged for these challenges."""
    found = {}
    for challenge_id in challenge_ids:
        got = log.collection.get(where={"challenge_id": challenge_id}, include=["documents", "metadatas"])
        for doc_id, document, meta in zip(got["ids"], got["documents"], got["metadatas"]):
            assert doc_id not in found, f"{doc_id} logged under two challenges"
            found[doc_id] = (document, meta)
    return found


def assert_one_document_per_event(conn, log: EventLog, challenge_ids: list[str]) -> dict:
    """Exactly the events of these challenges are in the log, once each; what is logged."""
    rows = events_of(conn, challenge_ids)
    docs = logged(log, challenge_ids)
    assert sorted(docs) == sorted(row["id"] for row in rows)
    for challenge_id in challenge_ids:
        in_log = log.collection.get(where={"challenge_id": challenge_id}, include=[])["ids"]
        assert len(in_log) == sum(1 for row in rows if row["payload"]["challenge_id"] == challenge_id)
    return docs


def meta(row: dict, *, actor, other, sender, recipient, challenge_id, workout=LEGS,
         retry_number=0, beat_this=False, **known) -> dict:
    """The metadata expected for the events row `row` (absent values are left out)."""
    expected = {"event_type": row["event_type"], "from_user_id": sender, "to_user_id": recipient,
                "challenge_id": challenge_id, "workout_name": workout, "workout_kind": KIND_OF[workout],
                "retry_number": retry_number,
                "beat_this": beat_this, "created_at": row["created_at"].timestamp(), **known}
    if actor is not None:
        expected.update(actor_id=actor, other_user_id=other)
    return expected


def assert_logged(conn, log: EventLog, challenge_id: str, expected: list[tuple[str, str, dict]]) -> None:
    """The challenge's events, oldest first, are `expected` (event type, sentence, metadata
    extras for `meta`), each logged once under its event id."""
    rows = events_of(conn, [challenge_id])
    docs = assert_one_document_per_event(conn, log, [challenge_id])
    assert [row["event_type"] for row in rows] == [kind for kind, _, _ in expected]
    for row, (_, sentence, extras) in zip(rows, expected):
        assert row["indexed_at"] is not None
        document, metadata = docs[row["id"]]
        assert document == sentence
        assert metadata == meta(row, challenge_id=challenge_id, **extras)
        assert isinstance(metadata["created_at"], float)


def complete(api, user, challenge_id, attempt) -> None:
    response = api.post(f"/challenges/complete/{challenge_id}", user, attempt)
    assert response.status_code == 200, response.text


def act(api, user, verb, challenge_id, body=None) -> None:
    response = api.post(f"/challenges/{verb}/{challenge_id}", user, body)
    assert response.status_code == 200, response.text


def john_and_sarah(api):
    """John and Sarah are friends; John has logged Beast Mode Legs, 35 min and 10,000 lb."""
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    api.befriend(john, sarah)
    return john, sarah, api.log_workout(john, **TARGET)


def snapshot(log: EventLog, challenge_ids: list[str]) -> list[tuple[str, str, dict]]:
    return sorted((doc_id, document, metadata)
                  for doc_id, (document, metadata) in logged(log, challenge_ids).items())


def run_reindex() -> subprocess.CompletedProcess:
    """`challenges reindex` as an operator runs it, with this session's environment."""
    return subprocess.run([sys.executable, "-m", "jobs", "reindex"], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)


# 1. Every event type, logged once with its sentence and metadata ------------------------------

def test_a_challenge_created_accepted_and_beaten_is_logged_in_the_seeds_words(api, conn):
    # Given John and Sarah, friends, and John's 35 min, 10,000 lb leg workout
    john, sarah, workout = john_and_sarah(api)

    # When John challenges Sarah with it, she accepts and beats it in 28 min with 12,500 lb
    [challenge] = api.challenge(john, [sarah], workout)
    act(api, sarah, "accept", challenge)
    complete(api, sarah, challenge, VICTORY)
    wait_until_indexed(conn)

    # Then the log tells the story, one document per event, each with its metadata
    john_acts = dict(actor=john, other=sarah, sender=john, recipient=sarah)
    sarah_acts = dict(actor=sarah, other=john, sender=john, recipient=sarah)
    assert_logged(conn, event_log(), challenge, [
        ("challenge_created", "John challenged Sarah to 'Beast Mode Legs' (35 min, 10000 lbs)", john_acts),
        ("challenge_accepted", "Sarah accepted John's challenge 'Beast Mode Legs'", sarah_acts),
        ("challenge_completed", "Sarah beat John's 'Beast Mode Legs' challenge "
                                "(28 min vs 35 min, 12500 lbs vs 10000 lbs)",
         {**sarah_acts, "did_beat": True}),
    ])


def test_beat_this_from_the_feed_is_logged_as_taken_on(api, conn):
    # Given John's leg workout in Sarah's feed
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    api.befriend(john, sarah)
    response = api.post("/workouts", john, {"workout_name": LEGS, "duration_minutes": 35,
                                            "total_volume": 10000, "volume_unit": "lb"})
    assert response.status_code == 201, response.text
    post = response.json["activity_id"]

    # When Sarah taps BEAT THIS on it
    response = api.post("/challenges/create", sarah, {"activity_id": post})
    assert response.status_code == 201, response.text
    [challenge] = response.json["challenge_ids"]
    wait_until_indexed(conn)

    # Then one document says she took it on from the feed, flagged as BEAT THIS
    assert_logged(conn, event_log(), challenge, [
        ("challenge_created", "Sarah took on John's 'Beast Mode Legs' from the feed: BEAT THIS "
                              "(35 min, 10000 lbs)",
         dict(actor=sarah, other=john, sender=john, recipient=sarah, beat_this=True)),
    ])


def test_a_declined_challenge_is_logged(api, conn):
    # Given John's challenge to Sarah
    john, sarah, workout = john_and_sarah(api)
    [challenge] = api.challenge(john, [sarah], workout)

    # When Sarah declines it
    act(api, sarah, "decline", challenge)
    wait_until_indexed(conn)

    # Then the log has its creation and her decline
    assert_logged(conn, event_log(), challenge, [
        ("challenge_created", "John challenged Sarah to 'Beast Mode Legs' (35 min, 10000 lbs)",
         dict(actor=john, other=sarah, sender=john, recipient=sarah)),
        ("challenge_declined", "Sarah declined John's challenge 'Beast Mode Legs'",
         dict(actor=sarah, other=john, sender=john, recipient=sarah)),
    ])


def test_a_failed_attempt_and_two_retries_are_logged_with_their_round(api, conn):
    # Given John's challenge, accepted by Sarah
    john, sarah, workout = john_and_sarah(api)
    [original] = api.challenge(john, [sarah], workout)
    act(api, sarah, "accept", original)

    # When she falls short (40 min, 9,000 lb), retries, falls short again and retries that round
    complete(api, sarah, original, SHORT)
    round2 = api.retry(sarah, original)
    complete(api, sarah, round2, SHORT)
    round3 = api.retry(sarah, round2)
    wait_until_indexed(conn)

    # Then each attempt fell short in the log, and each retry carries its retry number
    log = event_log()
    sarah_acts = dict(actor=sarah, other=john, sender=john, recipient=sarah)
    fell_short = ("Sarah attempted John's 'Beast Mode Legs' challenge but fell short "
                  "(40 min vs 35 min, 9000 lbs vs 10000 lbs)")
    retried = "Sarah RETRIED challenge against John for 'Beast Mode Legs' (not giving up!)"
    assert_logged(conn, log, original, [
        ("challenge_created", "John challenged Sarah to 'Beast Mode Legs' (35 min, 10000 lbs)",
         dict(actor=john, other=sarah, sender=john, recipient=sarah)),
        ("challenge_accepted", "Sarah accepted John's challenge 'Beast Mode Legs'", sarah_acts),
        ("challenge_completed", fell_short, {**sarah_acts, "did_beat": False}),
    ])
    assert_logged(conn, log, round2, [
        ("challenge_retried", retried, {**sarah_acts, "retry_number": 1}),
        ("challenge_completed", fell_short, {**sarah_acts, "retry_number": 1, "did_beat": False}),
    ])
    assert_logged(conn, log, round3, [
        ("challenge_retried", retried, {**sarah_acts, "retry_number": 2}),
    ])
    assert_one_document_per_event(conn, log, [original, round2, round3])


def test_an_abandoned_challenge_is_logged_with_names_from_profiles_and_the_reason(api, conn):
    # Given Lisa and Mike, friends, and Lisa's arm workout of 45.5 min and 80.25 kg
    lisa, mike = api.sign_up("Lisa"), api.sign_up("Mike")
    api.befriend(lisa, mike)
    workout = api.log_workout(lisa, minutes=45.5, volume=80.25, unit="kg", name="Arm Destroyer")

    # When Lisa challenges Mike, he accepts and quits with a preset reason, 40.125 kg done
    [challenge] = api.challenge(lisa, [mike], workout)
    act(api, mike, "accept", challenge)
    act(api, mike, "abandon", challenge, {"quit_reason": "Too hard for me 😓", "partial_stats": {
        "duration_minutes": 20, "total_volume": 40.125, "volume_unit": "kg"}})
    wait_until_indexed(conn)

    # Then the log names them as their profiles do, and keeps his reason and how far he got
    mike_acts = dict(actor=mike, other=lisa, sender=lisa, recipient=mike, workout="Arm Destroyer")
    assert_logged(conn, event_log(), challenge, [
        ("challenge_created", "Lisa challenged Mike to 'Arm Destroyer' (45.5 min, 80.2 kg)",
         dict(actor=lisa, other=mike, sender=lisa, recipient=mike, workout="Arm Destroyer")),
        ("challenge_accepted", "Mike accepted Lisa's challenge 'Arm Destroyer'", mike_acts),
        ("challenge_abandoned", "Mike abandoned Lisa's challenge 'Arm Destroyer' and did not finish it. "
                                "Reason: Too hard for me 😓",
         {**mike_acts, "quit_reason": "Too hard for me 😓", "quit_progress": 0.5}),
    ])


def test_an_expired_challenge_is_logged_once_the_sweep_hands_it_on(api, conn):
    # Given John's challenge to Sarah, logged, and now past its expiry
    john, sarah, workout = john_and_sarah(api)
    [challenge] = api.challenge(john, [sarah], workout)
    wait_until_indexed(conn)
    conn.execute("UPDATE workout_challenges SET expires_at = now() - interval '1 minute' WHERE id = %s",
                 (challenge,))
    conn.commit()

    # When the scheduler expires it: nobody but the sweep hands that event on
    assert maintenance.expire_due_challenges(conn) == 1
    [expired] = [row for row in events_of(conn, [challenge]) if row["event_type"] == "challenge_expired"]
    log = event_log()
    assert expired["indexed_at"] is None and expired["id"] not in logged(log, [challenge])
    assert sweep_outbox(conn, workers.broker.broker, workers.broker.redis_client, SETTINGS) >= 1
    wait_until_indexed(conn)

    # Then the expiry is logged, with no actor
    assert_logged(conn, log, challenge, [
        ("challenge_created", "John challenged Sarah to 'Beast Mode Legs' (35 min, 10000 lbs)",
         dict(actor=john, other=sarah, sender=john, recipient=sarah)),
        ("challenge_expired", "John's challenge to Sarah for 'Beast Mode Legs' expired unanswered",
         dict(actor=None, other=None, sender=john, recipient=sarah)),
    ])
    assert "actor_id" not in logged(log, [challenge])[expired["id"]][1]


def test_a_withdrawn_challenge_is_logged(api, conn):
    # Given John's pending challenge to Sarah
    john, sarah, workout = john_and_sarah(api)
    [challenge] = api.challenge(john, [sarah], workout)

    # When John withdraws it
    response = api.delete(f"/challenges/{challenge}", john)
    assert response.status_code == 200, response.text
    wait_until_indexed(conn)

    # Then the log keeps both its creation and its withdrawal, though the challenge is gone
    assert_logged(conn, event_log(), challenge, [
        ("challenge_created", "John challenged Sarah to 'Beast Mode Legs' (35 min, 10000 lbs)",
         dict(actor=john, other=sarah, sender=john, recipient=sarah)),
        ("challenge_withdrawn", "John withdrew the challenge to Sarah for 'Beast Mode Legs'",
         dict(actor=john, other=sarah, sender=john, recipient=sarah)),
    ])


# 2. Redelivery -------------------------------------------------------------------------------

def test_indexing_the_same_events_again_leaves_one_document_each(conn):
    # Given John's challenge to Sarah, accepted, its two events published but not yet in the log
    john, sarah = pair(conn)
    challenge = accepted_challenge(conn, john, sarah, minutes=35)
    published(conn)
    ids = [row["id"] for row in events_of(conn, [challenge])]
    assert len(ids) == 2
    log = event_log()

    # When the indexer takes a batch twice (a redelivery)
    first, second = index_batch(conn, log, limit=10), index_batch(conn, log, limit=10)

    # Then the first indexed both, the second had nothing left to do, one document each
    assert (first, second) == (2, 0)
    docs = assert_one_document_per_event(conn, log, [challenge])
    assert sorted(document for document, _ in docs.values()) == [
        "John challenged Sarah to 'Beast Mode Legs' (35 min, 10000 lbs)",
        "Sarah accepted John's challenge 'Beast Mode Legs'"]

    # When they are no longer marked indexed (a crash after ChromaDB took them) and indexed again
    conn.execute("UPDATE events SET indexed_at = NULL WHERE id = ANY(%s::uuid[])", (ids,))
    conn.commit()
    again = index_batch(conn, log, limit=10)

    # Then they were written again over the same documents: one each, the same text and metadata
    assert again == 2
    assert assert_one_document_per_event(conn, log, [challenge]) == docs
    assert unindexed(conn) == 0


# 3. ChromaDB down and back -------------------------------------------------------------------

def test_chromadb_down_and_back_loses_no_event(api, conn, chroma):
    # Given a challenge already logged
    john, sarah, workout = john_and_sarah(api)
    [before] = api.challenge(john, [sarah], workout)
    wait_until_indexed(conn)
    log = event_log()
    logged_before = logged(log, [before])
    assert len(logged_before) == 1

    # When ChromaDB stops, and Sarah accepts that challenge, beats it, and declines another
    chroma.stop()
    try:
        act(api, sarah, "accept", before)
        complete(api, sarah, before, VICTORY)
        [during] = api.challenge(john, [sarah], workout)
        act(api, sarah, "decline", during)

        # Then the commands succeeded without ChromaDB, and their events wait in PostgreSQL
        waiting = [row for row in events_of(conn, [before, during]) if row["id"] not in logged_before]
        assert [row["event_type"] for row in waiting] == [
            "challenge_accepted", "challenge_completed", "challenge_created", "challenge_declined"]
        assert all(row["indexed_at"] is None for row in waiting)
        assert unindexed(conn) == 4
    finally:
        chroma.start()

    # When ChromaDB is back and the scheduler's sweep finds the waiting events (the indexer,
    # waiting out the outage, has its turn, so the sweep queues nothing more)
    assert sweep_outbox(conn, workers.broker.broker, workers.broker.redis_client, SETTINGS) >= 4
    wait_until_indexed(conn, timeout=INDEX_TIMEOUT + RETRY_DELAYS_MS[1] / 1000)

    # Then every event is logged exactly once, the one from before the outage unchanged
    log = event_log()
    docs = assert_one_document_per_event(conn, log, [before, during])
    assert len(docs) == 5
    assert {doc_id: docs[doc_id] for doc_id in logged_before} == logged_before
    assert sorted(document for document, _ in docs.values()) == sorted([
        "John challenged Sarah to 'Beast Mode Legs' (35 min, 10000 lbs)",
        "Sarah accepted John's challenge 'Beast Mode Legs'",
        "Sarah beat John's 'Beast Mode Legs' challenge (28 min vs 35 min, 12500 lbs vs 10000 lbs)",
        "John challenged Sarah to 'Beast Mode Legs' (35 min, 10000 lbs)",
        "Sarah declined John's challenge 'Beast Mode Legs'",
    ])


def test_the_sweep_logs_a_whole_batch_that_holds_a_withdrawal(worker, conn):
    # Given events nobody handed to the indexer (the worker died): John's challenge to Sarah
    # that she declined, and one he withdrew
    john, sarah = pair(conn)
    declined = pending_challenge(conn, john, sarah, minutes=35)
    withdrawn = pending_challenge(conn, john, sarah)
    decline_challenge(conn, user_id=sarah, challenge_id=declined)
    delete_challenge(conn, user_id=john, challenge_id=withdrawn)
    conn.commit()
    assert unindexed(conn) == 4

    # When the scheduler's sweep hands them, in one batch, to the worker
    assert sweep_outbox(conn, workers.broker.broker, workers.broker.redis_client, SETTINGS) >= 4
    wait_until_indexed(conn)

    # Then all four are logged, once each
    docs = assert_one_document_per_event(conn, event_log(), [declined, withdrawn])
    assert sorted(document for document, _ in docs.values()) == [
        "John challenged Sarah to 'Beast Mode Legs' (30 min, 10000 lbs)",
        "John challenged Sarah to 'Beast Mode Legs' (35 min, 10000 lbs)",
        "John withdrew the challenge to Sarah for 'Beast Mode Legs'",
        "Sarah declined John's challenge 'Beast Mode Legs'"]


# 4. challenges reindex -----------------------------------------------------------------------

def history(api, conn) -> SimpleNamespace:
    """John's challenges to Sarah in several states, a retry among them, all logged by the
    worker."""
    john, sarah, workout = john_and_sarah(api)
    won, lost, declined = (api.challenge(john, [sarah], workout)[0] for _ in range(3))
    for challenge in (won, lost):
        act(api, sarah, "accept", challenge)
    complete(api, sarah, won, VICTORY)
    complete(api, sarah, lost, SHORT)
    rematch = api.retry(sarah, lost)
    act(api, sarah, "decline", declined)
    wait_until_indexed(conn)
    return SimpleNamespace(john=john, sarah=sarah, workout=workout,
                           challenges=[won, lost, declined, rematch])


def test_reindex_rebuilds_the_same_collection(api, conn):
    # Given a history logged by the worker
    past = history(api, conn)
    challenges = past.challenges
    before = snapshot(event_log(), challenges)
    assert len(before) == len(events_of(conn, challenges)) == 9

    # When the operator runs `challenges reindex`
    result = run_reindex()

    # Then it reports every event, and the collection holds the same ids, documents and metadata
    assert result.returncode == 0, result.stderr
    assert f"indexed 9 event(s) into {SETTINGS.chroma_collection}" in result.stdout
    log = event_log()
    assert snapshot(log, challenges) == before
    assert len(assert_one_document_per_event(conn, log, challenges)) == 9
    assert unindexed(conn) == 0
    # and both find all nine in their search again: their timelines were rebuilt too
    for who in (past.john, past.sarah):
        assert len(search(log, who, "Beast Mode Legs", 50)) == 9


def test_reindex_restores_a_deleted_collection(api, conn):
    # Given a history logged by the worker, and then the collection deleted
    challenges = history(api, conn).challenges
    log = event_log()
    before = snapshot(log, challenges)
    client = log.client()
    client.delete_collection(SETTINGS.chroma_collection)
    assert SETTINGS.chroma_collection not in [c.name for c in client.list_collections()]

    # When the operator runs `challenges reindex`
    result = run_reindex()

    # Then the collection is back with the same ids, documents and metadata
    assert result.returncode == 0, result.stderr
    assert SETTINGS.chroma_collection in [c.name for c in client.list_collections()]
    assert snapshot(event_log(), challenges) == before


def test_the_worker_keeps_logging_into_the_collection_reindex_rebuilt(api, conn):
    # Given a history logged by the worker, which has the collection open, and then a reindex
    # that dropped and rebuilt it
    past = history(api, conn)
    result = run_reindex()
    assert result.returncode == 0, result.stderr

    # When Sarah declines a new challenge from John
    [new] = api.challenge(past.john, [past.sarah], past.workout)
    act(api, past.sarah, "decline", new)
    wait_until_indexed(conn)

    # Then its events are in the rebuilt collection, once each, next to the history
    log = event_log()
    docs = assert_one_document_per_event(conn, log, [new])
    assert sorted(document for document, _ in docs.values()) == [
        "John challenged Sarah to 'Beast Mode Legs' (35 min, 10000 lbs)",
        "Sarah declined John's challenge 'Beast Mode Legs'"]
    assert len(assert_one_document_per_event(conn, log, past.challenges)) == 9


def test_reindex_rebuilds_a_history_that_holds_a_withdrawal(api, conn):
    # Given a history logged by the worker, and then a pending challenge John withdrew
    past = history(api, conn)
    before = snapshot(event_log(), past.challenges)
    [withdrawn] = api.challenge(past.john, [past.sarah], past.workout)
    response = api.delete(f"/challenges/{withdrawn}", past.john)
    assert response.status_code == 200, response.text

    # When the operator runs `challenges reindex`
    result = run_reindex()

    # Then it indexed every event: the history as it was, and the withdrawn challenge's two events
    assert result.returncode == 0, result.stderr
    assert "indexed 11 event(s)" in result.stdout
    log = event_log()
    assert snapshot(log, past.challenges) == before
    docs = assert_one_document_per_event(conn, log, [withdrawn])
    assert sorted(document for document, _ in docs.values()) == [
        "John challenged Sarah to 'Beast Mode Legs' (35 min, 10000 lbs)",
        "John withdrew the challenge to Sarah for 'Beast Mode Legs'"]
    assert unindexed(conn) == 0


# 5. Timelines: what search ranks -------------------------------------------------------------

NAMES = ["Squat Sunday", "Arm Destroyer", "Cardio Crusher", "Core Killer"]


def publish(conn, events: list[dict]) -> None:
    conn.execute("UPDATE events SET published_at = now() WHERE id = ANY(%s::uuid[])",
                 ([event["id"] for event in events],))
    conn.commit()


def searched(log: EventLog, who: str) -> list[str]:
    """The workouts of everything `who`'s search ranks, in no particular order."""
    return sorted(item["workout_name"] for item in search(log, who, "a workout challenge", 50))


def test_a_timeline_keeps_the_newest_events_once_each_whatever_order_they_are_indexed_in(conn):
    # Given John's four challenges to Sarah, one after another, and an indexer whose timelines
    # keep 3 events
    john, sarah = pair(conn)
    challenges = [pending_challenge(conn, john, sarah, name=name) for name in NAMES]
    conn.commit()
    oldest, *newer = events_of(conn, challenges)
    log = event_log(recent=3)

    # When the newer three are indexed, then the oldest, published late, then the newest again
    # (a redelivery after a crash)
    publish(conn, newer)
    assert index_batch(conn, log, limit=10) == 3
    publish(conn, [oldest])
    assert index_batch(conn, log, limit=10) == 1
    conn.execute("UPDATE events SET indexed_at = NULL WHERE id = %s", (newer[-1]["id"],))
    conn.commit()
    assert index_batch(conn, log, limit=10) == 1

    # Then each one's search ranks the newest three, once each; the oldest came too late
    for who in (john, sarah):
        assert searched(log, who) == sorted(NAMES[1:])


def test_a_search_ranks_no_more_than_its_own_bound_of_a_longer_timeline(conn):
    # Given John's four challenges to Sarah, all in her timeline (which keeps 500)
    john, sarah = pair(conn)
    for name in NAMES:
        pending_challenge(conn, john, sarah, name=name)
    conn.commit()
    published(conn)
    assert index_batch(conn, event_log(), limit=10) == 4

    # When she searches through a log bound to 2 events
    # Then her newest two are ranked, and nothing older
    assert searched(event_log(recent=2), sarah) == sorted(NAMES[2:])

