"""Exactly-once commands and the outbox, on real PostgreSQL and Redis."""

import json
from functools import partial

from core.commands import run_command
from core.outbox import publish_committed
from core.rules.challenges import accept_challenge, complete_challenge
from core.rules.workouts import log_workout
from tests.conftest import SETTINGS
from tests.core.rules.factories import accepted_challenge, new_id, pair


def count(conn, sql, *args):
    return conn.execute(sql, args).fetchone()["n"]


def test_a_redelivered_command_changes_nothing_and_returns_the_first_outcome(conn):
    # Given a command that logged a workout
    user, job_id = new_id(), new_id()
    effect = partial(log_workout, user_id=user, workout_log_id=new_id(), activity_id=new_id(),
                     workout_name="Legs", duration_minutes=30, total_volume=100)
    first, events = run_command(conn, job_id=job_id, actor_name="workouts.log", user_id=user, effect=effect)
    # When the same message is delivered again
    again, again_events = run_command(conn, job_id=job_id, actor_name="workouts.log", user_id=user,
                                      effect=effect)
    # Then nothing more is written and the recorded outcome comes back
    assert count(conn, "SELECT count(*) AS n FROM workout_logs") == 1
    assert count(conn, "SELECT count(*) AS n FROM activity_feed") == 1
    assert again == first and first["status"] == "succeeded"
    assert events is not None and again_events is None


def test_a_broken_rule_is_recorded_as_the_jobs_failure_and_rolls_back_its_effects(conn):
    john, sarah = pair(conn)
    challenge = accepted_challenge(conn, john, sarah)
    conn.commit()

    def complete_twice(conn):
        complete_challenge(conn, user_id=sarah, challenge_id=challenge, duration_minutes=1, total_volume=1)
        return accept_challenge(conn, user_id=sarah, challenge_id=challenge)

    outcome, _ = run_command(conn, job_id=new_id(), actor_name="test", user_id=sarah, effect=complete_twice)

    assert outcome["status"] == "failed" and outcome["error"]["code"] == "invalid_state"
    assert conn.execute("SELECT status FROM workout_challenges WHERE id = %s", (challenge,)
                        ).fetchone()["status"] == "accepted"
    assert count(conn, "SELECT count(*) AS n FROM processed_commands WHERE status = 'failed'") == 1


def test_events_are_written_with_the_change_and_published_after_commit(conn, redis_client):
    # Given a command whose change writes outbox events (a challenge accepted)
    john, sarah = pair(conn)
    challenge = accepted_challenge(conn, john, sarah)
    conn.commit()
    stream = SETTINGS.key("events")
    before = redis_client.xlen(stream)
    effect = partial(complete_challenge, user_id=sarah, challenge_id=challenge, duration_minutes=10,
                     total_volume=99999)
    _, events = run_command(conn, job_id=new_id(), actor_name="challenges.complete", user_id=sarah,
                            effect=effect)
    # Then the command hands back the one event its transaction committed, not yet published
    assert [event["event_type"] for event in events] == ["challenge_completed"]
    assert count(conn, "SELECT count(*) AS n FROM events WHERE published_at IS NULL AND id = %s",
                 events[0]["id"]) == 1
    # When it is published
    published = publish_committed(conn, redis_client, SETTINGS, events)
    # Then the completion event is on the stream once, and marked published
    assert published == [str(events[0]["id"])]
    entries = redis_client.xrange(stream)[before:]
    assert [e[1][b"type"] for e in entries] == [b"challenge_completed"]
    assert json.loads(entries[0][1][b"payload"])["did_beat"] is True
    assert count(conn, "SELECT count(*) AS n FROM events WHERE published_at IS NULL AND id = %s",
                 events[0]["id"]) == 0


def test_a_rejected_command_commits_nothing_but_its_failure_and_has_no_event_to_publish(conn):
    # Given a challenge Sarah already completed
    john, sarah = pair(conn)
    challenge = accepted_challenge(conn, john, sarah)
    complete_challenge(conn, user_id=sarah, challenge_id=challenge, duration_minutes=10, total_volume=1)
    conn.commit()
    events_before = count(conn, "SELECT count(*) AS n FROM events")

    # When a command completes it again
    outcome, events = run_command(conn, job_id=new_id(), actor_name="challenges.complete", user_id=sarah,
                                  effect=partial(complete_challenge, user_id=sarah, challenge_id=challenge,
                                                 duration_minutes=5, total_volume=2))

    # Then the job failed, no event was written and there is none to publish
    assert outcome["status"] == "failed" and events == []
    assert count(conn, "SELECT count(*) AS n FROM events") == events_before
