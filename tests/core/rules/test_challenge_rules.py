"""The friend-challenge rules of docs/domain.md, run on a connection exactly as the worker runs them."""

import psycopg
import pytest

from core.commands import CommandRejected
from core.rules.challenges import (accept_challenge, complete_challenge, create_challenges, did_beat,
                                workout_stats)
from tests.core.rules.factories import accepted_challenge, new_id, pair, pending_challenge, user, workout


def target(minutes, volume, unit="lb"):
    return workout_stats(minutes, volume, unit)


@pytest.mark.parametrize("minutes, volume, beat", [
    (25, 12000, True),   # faster and heavier: victory
    (20, 8000, False),   # faster but lighter: attempt
    (35, 12000, False),  # heavier but slower: attempt
    (30, 10000, True),   # equal on both counts still beats it
])
def test_winner_examples_from_the_seed(minutes, volume, beat):
    assert did_beat(target(minutes, volume), target(30, 10000)) is beat


def test_volumes_are_compared_in_kilograms():
    # Given a target of 10000 lb (4535.9 kg)
    # Then 4536 kg beats it and 4500 kg does not
    assert did_beat(target(30, 4536, "kg"), target(30, 10000, "lb"))
    assert not did_beat(target(30, 4500, "kg"), target(30, 10000, "lb"))


def test_completion_records_both_sides_and_posts_the_result(conn):
    john, sarah = pair(conn)
    challenge = accepted_challenge(conn, john, sarah, minutes=35, volume=10000)

    result = complete_challenge(conn, user_id=sarah, challenge_id=challenge, duration_minutes=28,
                                total_volume=12500, volume_unit="lb", auto_post_to_feed=True)

    assert result["did_beat"] is True and result["result"] == "victory"
    row = conn.execute("SELECT status, did_beat, challenger_stats, challenged_stats FROM workout_challenges"
                       " WHERE id = %s", (challenge,)).fetchone()
    assert row["status"] == "completed"
    assert row["challenger_stats"]["duration_minutes"] == 35
    assert row["challenged_stats"]["total_volume"] == 12500
    post = conn.execute("SELECT user_id, activity_type, activity_data FROM activity_feed WHERE id = %s",
                        (result["activity_id"],)).fetchone()
    assert str(post["user_id"]) == sarah and post["activity_type"] == "challenge_victory"
    assert post["activity_data"]["challenger_name"] == "John"
    assert post["activity_data"]["their_duration"] == 35


def test_an_attempt_that_fails_notifies_completed_not_beaten(conn):
    john, sarah = pair(conn)
    challenge = accepted_challenge(conn, john, sarah, minutes=30, volume=10000)

    complete_challenge(conn, user_id=sarah, challenge_id=challenge, duration_minutes=20,
                       total_volume=8000, volume_unit="lb", auto_post_to_feed=True)

    kinds = [r["notification_type"] for r in conn.execute(
        "SELECT notification_type FROM challenge_notifications WHERE user_id = %s ORDER BY created_at",
        (john,))]
    assert kinds[-1] == "challenge_completed"
    assert conn.execute("SELECT activity_type FROM activity_feed WHERE user_id = %s "
                        "AND activity_type LIKE 'challenge%%'", (sarah,)).fetchone()["activity_type"] \
        == "challenge_completed"


def test_auto_post_can_be_switched_off(conn):
    john, sarah = pair(conn)
    challenge = accepted_challenge(conn, john, sarah)
    result = complete_challenge(conn, user_id=sarah, challenge_id=challenge, duration_minutes=20,
                                total_volume=20000, auto_post_to_feed=False)
    assert result["activity_id"] is None
    assert conn.execute("SELECT count(*) AS n FROM activity_feed WHERE user_id = %s", (sarah,)
                        ).fetchone()["n"] == 0


def test_no_self_challenge(conn):
    john, _ = pair(conn)
    with pytest.raises(CommandRejected) as rejected:
        create_challenges(conn, user_id=john, challenge_ids=[new_id()], to_user_ids=[john],
                          workout_log_id=workout(conn, john))
    assert rejected.value.code == "self_challenge"


def test_the_database_refuses_a_self_challenge_too(conn):
    john, _ = pair(conn)
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("INSERT INTO workout_challenges (id, from_user_id, to_user_id, workout_name, "
                      "workout_data) VALUES (%s, %s, %s, 'x', '{}')", (new_id(), john, john))


def test_challenges_only_between_friends(conn):
    john, stranger = user(conn, "John"), user(conn, "Stranger")
    with pytest.raises(CommandRejected) as rejected:
        create_challenges(conn, user_id=john, challenge_ids=[new_id()], to_user_ids=[stranger],
                          workout_log_id=workout(conn, john))
    assert rejected.value.code == "not_friends"


def test_accept_checks_friendship_again(conn):
    # Given a pending challenge, after which the two stopped being friends
    john, sarah = pair(conn)
    challenge = pending_challenge(conn, john, sarah)
    conn.execute("DELETE FROM friendships")
    # When Sarah accepts, Then it is refused
    with pytest.raises(CommandRejected) as rejected:
        accept_challenge(conn, user_id=sarah, challenge_id=challenge)
    assert rejected.value.code == "not_friends"


@pytest.mark.parametrize("who, code", [("challenger", "forbidden"), ("outsider", "not_found")])
def test_only_the_challenged_user_accepts(conn, who, code):
    john, sarah = pair(conn)
    challenge = pending_challenge(conn, john, sarah)
    caller = john if who == "challenger" else user(conn, "Outsider")
    with pytest.raises(CommandRejected) as rejected:
        accept_challenge(conn, user_id=caller, challenge_id=challenge)
    assert rejected.value.code == code


def test_an_expired_challenge_cannot_be_accepted(conn):
    john, sarah = pair(conn)
    challenge = pending_challenge(conn, john, sarah)
    conn.execute("UPDATE workout_challenges SET expires_at = now() - interval '1 second' WHERE id = %s",
                 (challenge,))
    with pytest.raises(CommandRejected) as rejected:
        accept_challenge(conn, user_id=sarah, challenge_id=challenge)
    assert rejected.value.code == "invalid_state"


@pytest.mark.parametrize("start, action", [("pending", "complete"), ("accepted", "accept")])
def test_status_transitions_follow_the_machine(conn, start, action):
    john, sarah = pair(conn)
    make = pending_challenge if start == "pending" else accepted_challenge
    challenge = make(conn, john, sarah)
    with pytest.raises(CommandRejected) as rejected:
        if action == "accept":
            accept_challenge(conn, user_id=sarah, challenge_id=challenge)
        else:
            complete_challenge(conn, user_id=sarah, challenge_id=challenge, duration_minutes=1,
                               total_volume=1)
    assert rejected.value.code == "invalid_state"


@pytest.mark.parametrize("start, illegal", [("pending", "completed"), ("completed", "accepted"),
                                            ("declined", "accepted"), ("expired", "pending")])
def test_the_database_refuses_illegal_transitions(conn, start, illegal):
    john, sarah = pair(conn)
    challenge = pending_challenge(conn, john, sarah)
    if start == "completed":
        accept_challenge(conn, user_id=sarah, challenge_id=challenge)
        complete_challenge(conn, user_id=sarah, challenge_id=challenge, duration_minutes=1, total_volume=1)
    elif start != "pending":
        conn.execute("UPDATE workout_challenges SET status = %s WHERE id = %s", (start, challenge))
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE workout_challenges SET status = %s, did_beat = true, completed_at = now(), "
                      "challenged_stats = '{}' WHERE id = %s", (illegal, challenge))
