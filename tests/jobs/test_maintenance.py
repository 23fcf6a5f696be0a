"""The scheduler's jobs, called on a connection as the scheduler calls them."""

import json

from dramatiq.brokers.stub import StubBroker

from core.db import Database
from core.outbox import indexing_turn, publish_events
from core.rules.challenges import delete_challenge
from jobs import maintenance
from jobs.scheduler import run_guarded, sweep_outbox
from tests.conftest import SETTINGS
from tests.core.rules.factories import accepted_challenge, new_id, pair, pending_challenge


def test_expiry_expires_only_overdue_pending_challenges_in_batches_and_tells_the_challenger(conn):
    # Given three overdue pending challenges, one still in time, and one overdue but accepted
    john, sarah = pair(conn)
    overdue = [pending_challenge(conn, john, sarah) for _ in range(3)]
    in_time = pending_challenge(conn, john, sarah)
    accepted = accepted_challenge(conn, john, sarah)
    conn.execute("UPDATE workout_challenges SET expires_at = now() - interval '1 minute' WHERE id = ANY(%s)",
                 (overdue + [accepted],))
    conn.commit()

    # When the expiry job runs with batches of two
    expired = maintenance.expire_due_challenges(conn, batch_size=2)

    # Then exactly the overdue pending ones are expired and John hears of each
    assert expired == 3
    statuses = {r["id"]: r["status"] for r in conn.execute(
        "SELECT id::text AS id, status FROM workout_challenges")}
    assert {statuses[c] for c in overdue} == {"expired"}
    assert statuses[in_time] == "pending" and statuses[accepted] == "accepted"
    told = conn.execute("SELECT challenge_id::text AS id FROM challenge_notifications "
                        "WHERE user_id = %s AND notification_type = 'challenge_expired'", (john,)).fetchall()
    assert sorted(r["id"] for r in told) == sorted(overdue)


def test_outbox_sweep_republishes_what_a_dead_worker_left(conn, redis_client):
    # Given events committed but never published (the worker died after commit)
    john, sarah = pair(conn)
    pending_challenge(conn, john, sarah)
    conn.commit()
    left_behind = maintenance.stale_unpublished_events(conn, grace_seconds=0)
    assert left_behind

    # When the sweep runs, it hands them to events.publish only: the indexer gets them after
    # they are published, so the publisher's row lock never makes it skip them
    broker = StubBroker()
    broker.declare_queue("events")
    broker.declare_queue("event_log")
    assert sweep_outbox(conn, broker, redis_client, SETTINGS) == len(left_behind)
    [message] = [json.loads(m) for m in broker.queues["events"].queue]
    assert sorted(message["args"][0]) == sorted(left_behind)
    assert broker.queues["event_log"].qsize() == 0
    stream = SETTINGS.key("events")
    before = redis_client.xlen(stream)
    assert sorted(publish_events(conn, redis_client, SETTINGS, message["args"][0])) == sorted(left_behind)

    # Then they are on the stream once and the next sweep finds nothing to publish
    assert redis_client.xlen(stream) == before + len(left_behind)
    assert maintenance.stale_unpublished_events(conn, grace_seconds=0) == []

    # And, published but not in the event log (their indexer died too), the next sweep gives
    # the indexer a turn, once: a second sweep finds the turn taken and queues nothing more
    assert sweep_outbox(conn, broker, redis_client, SETTINGS) == len(left_behind)
    assert sweep_outbox(conn, broker, redis_client, SETTINGS) == len(left_behind)
    [to_index] = [json.loads(m) for m in broker.queues["event_log"].queue]
    assert to_index["actor_name"] == "event_log.index"
    assert redis_client.pttl(indexing_turn(SETTINGS)) > 0


def test_a_second_scheduler_skips_a_job_the_first_is_running(database):
    db = Database(database, max_size=2)
    ran = []
    try:
        def inner(conn):
            ran.append("inner")

        def outer(conn):
            ran.append("outer")
            assert run_guarded(db, "same-job", inner) is False

        assert run_guarded(db, "same-job", outer) is True
        assert ran == ["outer"]
        assert run_guarded(db, "same-job", inner) is True
    finally:
        db.close()


def test_pruning_forgets_only_outcomes_and_tombstones_older_than_the_retention(conn):
    # Given two finished commands and two withdrawn challenges, one of each nine days old
    john, sarah = pair(conn)
    old_job, new_job = new_id(), new_id()
    for job_id, age in ((old_job, "9 days"), (new_job, "1 hour")):
        conn.execute("INSERT INTO processed_commands (job_id, actor_name, user_id, status, finished_at) "
                     "VALUES (%s, 'challenges.accept', %s, 'succeeded', now() - %s::interval)",
                     (job_id, sarah, age))
    old_withdrawn, new_withdrawn = pending_challenge(conn, john, sarah), pending_challenge(conn, john, sarah)
    for challenge_id in (old_withdrawn, new_withdrawn):
        delete_challenge(conn, user_id=john, challenge_id=challenge_id)
    conn.execute("UPDATE withdrawn_challenges SET withdrawn_at = now() - interval '9 days' WHERE id = %s",
                 (old_withdrawn,))
    conn.commit()

    # When the scheduler prunes with the default retention of eight days, in batches of one
    pruned = maintenance.prune_finished_commands(conn, SETTINGS.command_retention_seconds, batch_size=1)

    # Then only the nine-day-old outcome and tombstone are gone
    assert pruned == 2
    jobs = [r["job_id"] for r in conn.execute("SELECT job_id::text FROM processed_commands")]
    tombstones = [r["id"] for r in conn.execute("SELECT id::text FROM withdrawn_challenges")]
    assert jobs == [new_job] and tombstones == [new_withdrawn]
