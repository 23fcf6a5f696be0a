"""The rest of the friend-challenge lifecycle (docs/domain.md), run on a connection exactly
as the worker runs it: decline, abandon, withdraw, retry, BEAT THIS, and marking notifications
read. A refusal is a CommandRejected with the code and status the client will see, and leaves
the challenge as it was."""

from functools import partial

import pytest

from core.commands import CommandRejected, run_command
from core.rules.challenges import (abandon_challenge, accept_challenge, beat_this, complete_challenge,
                                decline_challenge, delete_challenge, retry_challenge)
from core.rules.friends import remove_friendship
from core.rules.notifications import mark_all_read, mark_read
from tests.core.rules.factories import (accepted_challenge, friends, new_id, pair, pending_challenge, user,
                                     workout)

QUIT_REASON = "Too hard for me 😓"


# Helpers -------------------------------------------------------------------------------------

def refused(code: str, status: int, rule, conn, **kwargs) -> CommandRejected:
    """`rule` says no with this code and HTTP status."""
    with pytest.raises(CommandRejected) as rejected:
        rule(conn, **kwargs)
    assert (rejected.value.code, rejected.value.status) == (code, status), rejected.value.detail
    return rejected.value


def challenge(conn, challenge_id: str) -> dict | None:
    return conn.execute("SELECT * FROM workout_challenges WHERE id = %s", (challenge_id,)).fetchone()


def status_of(conn, challenge_id: str) -> str | None:
    row = challenge(conn, challenge_id)
    return row and row["status"]


def notifications(conn, user_id: str, kind: str | None = None) -> list[dict]:
    """The user's notifications, oldest first, of one kind if given."""
    return list(conn.execute(
        "SELECT * FROM challenge_notifications WHERE user_id = %s"
        " AND (%s::text IS NULL OR notification_type = %s) ORDER BY created_at, id",
        (user_id, kind, kind)))


def completed_challenge(conn, sender: str, recipient: str, minutes=28, volume=12500) -> str:
    """A challenge `recipient` accepted and completed (by default beating 30 min, 10000 lb)."""
    challenge_id = accepted_challenge(conn, sender, recipient, minutes=30, volume=10000)
    complete_challenge(conn, user_id=recipient, challenge_id=challenge_id, duration_minutes=minutes,
                       total_volume=volume, volume_unit="lb", auto_post_to_feed=True)
    return challenge_id


def abandoned_challenge(conn, sender: str, recipient: str) -> str:
    challenge_id = accepted_challenge(conn, sender, recipient)
    abandon_challenge(conn, user_id=recipient, challenge_id=challenge_id, quit_reason=QUIT_REASON)
    return challenge_id


def workout_post(conn, owner: str, visibility: str = "friends", **stats) -> str:
    """A workout logged by `owner`, and the id of its feed post, shown to `visibility`."""
    workout_id = workout(conn, owner, **stats)
    post = conn.execute("UPDATE activity_feed SET visibility = %s WHERE workout_log_id = %s RETURNING id",
                        (visibility, workout_id)).fetchone()
    return str(post["id"])


def rematches_of(conn, challenge_id: str) -> list[dict]:
    return list(conn.execute("SELECT * FROM workout_challenges WHERE retried_from_challenge_id = %s",
                             (challenge_id,)))


# Decline -------------------------------------------------------------------------------------

def test_declining_turns_the_challenge_down_and_tells_the_challenger(conn):
    # Given John's pending challenge to Sarah
    john, sarah = pair(conn)
    challenge_id = pending_challenge(conn, john, sarah)

    # When Sarah declines it
    result = decline_challenge(conn, user_id=sarah, challenge_id=challenge_id)

    # Then it is declined, with the time, and John is told by Sarah
    assert result == {"challenge_id": challenge_id, "status": "declined"}
    row = challenge(conn, challenge_id)
    assert row["status"] == "declined" and row["declined_at"] is not None and row["accepted_at"] is None
    [told] = notifications(conn, john, "challenge_declined")
    assert str(told["actor_id"]) == sarah and str(told["challenge_id"]) == challenge_id


@pytest.mark.parametrize("who, code, status", [("challenger", "forbidden", 403),
                                               ("outsider", "not_found", 404)])
def test_only_the_challenged_user_declines(conn, who, code, status):
    # Given John's pending challenge to Sarah
    john, sarah = pair(conn)
    challenge_id = pending_challenge(conn, john, sarah)
    caller = john if who == "challenger" else user(conn, "Outsider")

    # When anyone else declines it, Then it is refused and stays pending
    refused(code, status, decline_challenge, conn, user_id=caller, challenge_id=challenge_id)
    assert status_of(conn, challenge_id) == "pending"
    assert notifications(conn, john, "challenge_declined") == []


@pytest.mark.parametrize("start", ["accepted", "declined", "completed", "expired"])
def test_only_a_pending_challenge_can_be_declined(conn, start):
    # Given a challenge that is no longer pending
    john, sarah = pair(conn)
    challenge_id = pending_challenge(conn, john, sarah)
    if start == "accepted":
        accept_challenge(conn, user_id=sarah, challenge_id=challenge_id)
    elif start == "declined":
        decline_challenge(conn, user_id=sarah, challenge_id=challenge_id)
    elif start == "completed":
        accept_challenge(conn, user_id=sarah, challenge_id=challenge_id)
        complete_challenge(conn, user_id=sarah, challenge_id=challenge_id, duration_minutes=20,
                           total_volume=20000)
    else:
        conn.execute("UPDATE workout_challenges SET status = 'expired', expired_at = now() WHERE id = %s",
                     (challenge_id,))

    # When Sarah declines it, Then it is refused as invalid_state and keeps its status
    refused("invalid_state", 409, decline_challenge, conn, user_id=sarah, challenge_id=challenge_id)
    assert status_of(conn, challenge_id) == start


def test_a_challenge_past_its_time_cannot_be_declined(conn):
    # Given a pending challenge whose time ran out before the scheduler expired it
    john, sarah = pair(conn)
    challenge_id = pending_challenge(conn, john, sarah)
    conn.execute("UPDATE workout_challenges SET expires_at = now() - interval '1 second' WHERE id = %s",
                 (challenge_id,))

    # When Sarah declines it, Then it is refused as invalid_state (expired) and stays pending
    rejection = refused("invalid_state", 409, decline_challenge, conn, user_id=sarah,
                        challenge_id=challenge_id)
    assert "expired" in rejection.detail
    assert status_of(conn, challenge_id) == "pending"


# Abandon -------------------------------------------------------------------------------------

def test_quitting_keeps_the_reason_and_what_was_done_and_tells_the_challenger(conn):
    # Given a challenge Sarah accepted
    john, sarah = pair(conn)
    challenge_id = accepted_challenge(conn, john, sarah)

    # When she quits after 12 minutes and 5000 lb, with a reason
    result = abandon_challenge(conn, user_id=sarah, challenge_id=challenge_id, quit_reason=QUIT_REASON,
                               partial_stats={"duration_minutes": 12, "total_volume": 5000,
                                              "volume_unit": "lb"})

    # Then it is abandoned with her reason, the time, and what she had done (also in kilograms)
    row = challenge(conn, challenge_id)
    assert (row["status"], row["quit_reason"]) == ("abandoned", QUIT_REASON)
    assert row["abandoned_at"] is not None and row["completed_at"] is None and row["did_beat"] is None
    assert row["partial_stats"] == {"duration_minutes": 12, "total_volume": 5000, "volume_unit": "lb",
                                    "total_volume_kg": 2267.962}
    assert result["status"] == "abandoned" and result["partial_stats"] == row["partial_stats"]
    assert result["quit_reason"] == QUIT_REASON

    # and John is told, by Sarah, with the reason
    [told] = notifications(conn, john, "challenge_abandoned")
    assert str(told["actor_id"]) == sarah and str(told["challenge_id"]) == challenge_id
    assert told["data"]["quit_reason"] == QUIT_REASON


def test_quitting_without_stats_stores_none(conn):
    # Given a challenge Sarah accepted
    john, sarah = pair(conn)
    challenge_id = accepted_challenge(conn, john, sarah)

    # When she quits with her own words and nothing done
    abandon_challenge(conn, user_id=sarah, challenge_id=challenge_id, quit_reason="Knee hurts")

    # Then the reason is kept and there are no partial stats
    row = challenge(conn, challenge_id)
    assert (row["status"], row["quit_reason"], row["partial_stats"]) == ("abandoned", "Knee hurts", None)


@pytest.mark.parametrize("start", ["pending", "completed", "abandoned"])
def test_only_an_accepted_challenge_can_be_abandoned(conn, start):
    # Given a challenge that is not in progress
    john, sarah = pair(conn)
    make = {"pending": pending_challenge, "completed": completed_challenge,
            "abandoned": abandoned_challenge}[start]
    challenge_id = make(conn, john, sarah)
    before = challenge(conn, challenge_id)

    # When Sarah quits it, Then it is refused as invalid_state and nothing changed
    refused("invalid_state", 409, abandon_challenge, conn, user_id=sarah, challenge_id=challenge_id,
            quit_reason="Maybe next time 😅")
    assert challenge(conn, challenge_id) == before


@pytest.mark.parametrize("who, code, status", [("challenger", "forbidden", 403),
                                               ("outsider", "not_found", 404)])
def test_only_the_challenged_user_abandons(conn, who, code, status):
    john, sarah = pair(conn)
    challenge_id = accepted_challenge(conn, john, sarah)
    caller = john if who == "challenger" else user(conn, "Outsider")
    refused(code, status, abandon_challenge, conn, user_id=caller, challenge_id=challenge_id,
            quit_reason=QUIT_REASON)
    assert status_of(conn, challenge_id) == "accepted"
    assert notifications(conn, john, "challenge_abandoned") == []


# Withdraw (delete) ---------------------------------------------------------------------------

def test_withdrawing_leaves_a_tombstone_and_an_event(conn):
    # Given John's pending challenge to Sarah, of which she was told
    john, sarah = pair(conn)
    challenge_id = pending_challenge(conn, john, sarah, name="Leg Day")
    assert [n["notification_type"] for n in notifications(conn, sarah)] == ["challenge_received"]

    # When John withdraws it
    result = delete_challenge(conn, user_id=john, challenge_id=challenge_id)

    # Then the challenge is gone, Sarah's notification of it too
    assert result == {"challenge_id": challenge_id, "status": "withdrawn"}
    assert challenge(conn, challenge_id) is None
    assert notifications(conn, sarah) == []
    # and a tombstone says who withdrew what, and an event announces it
    tombstone = conn.execute("SELECT * FROM withdrawn_challenges WHERE id = %s", (challenge_id,)).fetchone()
    assert (str(tombstone["from_user_id"]), str(tombstone["to_user_id"]), tombstone["workout_name"]) == (
        john, sarah, "Leg Day")
    [event] = conn.execute("SELECT * FROM events WHERE event_type = 'challenge_withdrawn'").fetchall()
    assert (str(event["actor_id"]), str(event["subject_id"])) == (john, challenge_id)
    assert event["payload"]["status"] == "withdrawn" and event["payload"]["to_user_id"] == sarah


@pytest.mark.parametrize("rule", [accept_challenge, decline_challenge])
def test_a_withdrawn_challenge_is_an_invalid_state_for_the_challenged(conn, rule):
    # Given a challenge John withdrew
    john, sarah = pair(conn)
    challenge_id = pending_challenge(conn, john, sarah)
    delete_challenge(conn, user_id=john, challenge_id=challenge_id)

    # When Sarah accepts or declines it (her command was queued before), Then invalid_state
    rejection = refused("invalid_state", 409, rule, conn, user_id=sarah, challenge_id=challenge_id)
    assert "withdrew" in rejection.detail
    assert notifications(conn, john, "challenge_accepted") == []
    assert notifications(conn, john, "challenge_declined") == []


def test_withdrawing_twice_is_an_invalid_state(conn):
    john, sarah = pair(conn)
    challenge_id = pending_challenge(conn, john, sarah)
    delete_challenge(conn, user_id=john, challenge_id=challenge_id)
    refused("invalid_state", 409, delete_challenge, conn, user_id=john, challenge_id=challenge_id)
    assert conn.execute("SELECT count(*) AS n FROM withdrawn_challenges").fetchone()["n"] == 1


def test_an_outsider_learns_nothing_of_a_withdrawn_challenge(conn):
    # Given a challenge John withdrew
    john, sarah = pair(conn)
    challenge_id = pending_challenge(conn, john, sarah)
    delete_challenge(conn, user_id=john, challenge_id=challenge_id)

    # When Mike, who took no part, accepts it, Then it is not found, as any unknown id
    refused("not_found", 404, accept_challenge, conn, user_id=user(conn, "Mike"), challenge_id=challenge_id)


@pytest.mark.parametrize("who, code, status", [("challenged", "forbidden", 403),
                                               ("outsider", "not_found", 404)])
def test_only_the_sender_withdraws(conn, who, code, status):
    john, sarah = pair(conn)
    challenge_id = pending_challenge(conn, john, sarah)
    caller = sarah if who == "challenged" else user(conn, "Outsider")
    refused(code, status, delete_challenge, conn, user_id=caller, challenge_id=challenge_id)
    assert status_of(conn, challenge_id) == "pending"
    assert conn.execute("SELECT count(*) AS n FROM withdrawn_challenges").fetchone()["n"] == 0


@pytest.mark.parametrize("start", ["accepted", "declined", "completed"])
def test_only_a_pending_challenge_can_be_withdrawn(conn, start):
    # Given a challenge Sarah already answered
    john, sarah = pair(conn)
    challenge_id = pending_challenge(conn, john, sarah)
    if start == "declined":
        decline_challenge(conn, user_id=sarah, challenge_id=challenge_id)
    else:
        accept_challenge(conn, user_id=sarah, challenge_id=challenge_id)
    if start == "completed":
        complete_challenge(conn, user_id=sarah, challenge_id=challenge_id, duration_minutes=20,
                           total_volume=20000)

    # When John withdraws it, Then invalid_state, it stays, and no tombstone or event is left
    refused("invalid_state", 409, delete_challenge, conn, user_id=john, challenge_id=challenge_id)
    assert status_of(conn, challenge_id) == start
    assert conn.execute("SELECT count(*) AS n FROM withdrawn_challenges").fetchone()["n"] == 0
    assert conn.execute("SELECT count(*) AS n FROM events WHERE event_type = 'challenge_withdrawn'"
                        ).fetchone()["n"] == 0


# Retry ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("finish", [completed_challenge, abandoned_challenge], ids=["completed", "abandoned"])
def test_a_retry_is_an_accepted_rematch_against_the_same_target(conn, finish):
    # Given a challenge from John that Sarah finished (completed or quit)
    john, sarah = pair(conn)
    original_id = finish(conn, john, sarah)
    original = challenge(conn, original_id)
    rematch_id = new_id()

    # When she asks for a rematch
    result = retry_challenge(conn, user_id=sarah, challenge_id=original_id, challenge_ids=[rematch_id])

    # Then a second round exists: accepted, from John to Sarah, same workout and target
    assert result == {"challenge_ids": [rematch_id], "status": "accepted",
                      "retried_from_challenge_id": original_id, "round": 2}
    rematch = challenge(conn, rematch_id)
    assert rematch["status"] == "accepted" and rematch["accepted_at"] is not None
    assert (str(rematch["from_user_id"]), str(rematch["to_user_id"])) == (john, sarah)
    assert rematch["is_retry"] is True and str(rematch["retried_from_challenge_id"]) == original_id
    assert (rematch["workout_name"], rematch["workout_data"]) == (original["workout_name"],
                                                                  original["workout_data"])
    assert rematch["workout_log_id"] == original["workout_log_id"]
    assert rematch["challenge_message"] == "Round 2! 💪"
    # and the original counts one retry, and John is told by Sarah
    assert challenge(conn, original_id)["retry_count"] == 1
    [told] = notifications(conn, john, "challenge_retried")
    assert (str(told["challenge_id"]), str(told["actor_id"])) == (rematch_id, sarah)


def test_a_retry_of_a_retry_is_round_three(conn):
    # Given Sarah lost round 2 of John's challenge
    john, sarah = pair(conn)
    original_id, round_two, round_three = completed_challenge(conn, john, sarah), new_id(), new_id()
    retry_challenge(conn, user_id=sarah, challenge_id=original_id, challenge_ids=[round_two])
    complete_challenge(conn, user_id=sarah, challenge_id=round_two, duration_minutes=40, total_volume=100)

    # When she retries round 2
    result = retry_challenge(conn, user_id=sarah, challenge_id=round_two, challenge_ids=[round_three])

    # Then round 3 follows round 2, and each round counts one retry
    assert result["round"] == 3
    third = challenge(conn, round_three)
    assert third["challenge_message"] == "Round 3! 💪"
    assert str(third["retried_from_challenge_id"]) == round_two
    assert challenge(conn, original_id)["retry_count"] == 1
    assert challenge(conn, round_two)["retry_count"] == 1
    assert challenge(conn, round_three)["retry_count"] == 0


def test_a_retry_keeps_a_message_of_her_own(conn):
    john, sarah = pair(conn)
    original_id, rematch_id = completed_challenge(conn, john, sarah), new_id()
    retry_challenge(conn, user_id=sarah, challenge_id=original_id, challenge_ids=[rematch_id],
                    message="This time for real")
    assert challenge(conn, rematch_id)["challenge_message"] == "This time for real"


def test_only_the_latest_round_can_be_retried(conn):
    # Given an original Sarah already retried once
    john, sarah = pair(conn)
    original_id = completed_challenge(conn, john, sarah)
    retry_challenge(conn, user_id=sarah, challenge_id=original_id, challenge_ids=[new_id()])

    # When she retries the original again, Then invalid_state: the chain never forks
    refused("invalid_state", 409, retry_challenge, conn, user_id=sarah, challenge_id=original_id,
            challenge_ids=[new_id()])
    assert len(rematches_of(conn, original_id)) == 1
    assert challenge(conn, original_id)["retry_count"] == 1


@pytest.mark.parametrize("start", ["pending", "accepted", "declined", "expired"])
def test_only_a_finished_challenge_can_be_retried(conn, start):
    # Given a challenge that was never finished
    john, sarah = pair(conn)
    challenge_id = pending_challenge(conn, john, sarah)
    if start == "accepted":
        accept_challenge(conn, user_id=sarah, challenge_id=challenge_id)
    elif start == "declined":
        decline_challenge(conn, user_id=sarah, challenge_id=challenge_id)
    elif start == "expired":
        conn.execute("UPDATE workout_challenges SET status = 'expired', expired_at = now() WHERE id = %s",
                     (challenge_id,))

    # When Sarah retries it, Then invalid_state and no rematch
    refused("invalid_state", 409, retry_challenge, conn, user_id=sarah, challenge_id=challenge_id,
            challenge_ids=[new_id()])
    assert rematches_of(conn, challenge_id) == []
    assert challenge(conn, challenge_id)["retry_count"] == 0


@pytest.mark.parametrize("who, code, status", [("challenger", "forbidden", 403),
                                               ("outsider", "not_found", 404)])
def test_only_the_challenged_user_retries(conn, who, code, status):
    john, sarah = pair(conn)
    original_id = completed_challenge(conn, john, sarah)
    caller = john if who == "challenger" else user(conn, "Outsider")
    refused(code, status, retry_challenge, conn, user_id=caller, challenge_id=original_id,
            challenge_ids=[new_id()])
    assert rematches_of(conn, original_id) == []


@pytest.mark.parametrize("unfriended_by", ["challenger", "challenged"])
def test_no_rematch_once_they_are_no_longer_friends(conn, unfriended_by):
    # Given a finished challenge, after which one of them unfriended the other
    john, sarah = pair(conn)
    original_id = completed_challenge(conn, john, sarah)
    me, other = (john, sarah) if unfriended_by == "challenger" else (sarah, john)
    remove_friendship(conn, user_id=me, friend_id=other)

    # When Sarah retries it, Then 403 not_friends and no rematch
    refused("not_friends", 403, retry_challenge, conn, user_id=sarah, challenge_id=original_id,
            challenge_ids=[new_id()])
    assert rematches_of(conn, original_id) == []
    assert challenge(conn, original_id)["retry_count"] == 0


def test_a_redelivered_retry_makes_one_rematch(conn):
    # Given a finished challenge and a retry command
    john, sarah = pair(conn)
    original_id, rematch_id, job_id = completed_challenge(conn, john, sarah), new_id(), new_id()
    conn.commit()
    effect = partial(retry_challenge, user_id=sarah, challenge_id=original_id, challenge_ids=[rematch_id],
                     message=None)

    # When the same message is delivered twice
    first, events = run_command(conn, job_id=job_id, actor_name="challenges.retry", user_id=sarah,
                                effect=effect)
    again, again_events = run_command(conn, job_id=job_id, actor_name="challenges.retry", user_id=sarah,
                                      effect=effect)

    # Then one rematch exists, the second delivery changed nothing and answers the first outcome
    assert first["status"] == "succeeded" and first["result"]["challenge_ids"] == [rematch_id]
    assert again == first
    assert events and again_events is None
    assert [str(r["id"]) for r in rematches_of(conn, original_id)] == [rematch_id]
    assert challenge(conn, original_id)["retry_count"] == 1
    assert len(notifications(conn, john, "challenge_retried")) == 1


def test_a_second_retry_command_is_recorded_as_failed(conn):
    # Given a finished challenge Sarah retried through one command
    john, sarah = pair(conn)
    original_id = completed_challenge(conn, john, sarah)
    conn.commit()

    def retry(conn):
        return retry_challenge(conn, user_id=sarah, challenge_id=original_id, challenge_ids=[new_id()])

    run_command(conn, job_id=new_id(), actor_name="challenges.retry", user_id=sarah, effect=retry)

    # When a second, different command retries it too
    outcome, _ = run_command(conn, job_id=new_id(), actor_name="challenges.retry", user_id=sarah,
                             effect=retry)

    # Then that job fails as invalid_state and there is still one rematch
    assert outcome["status"] == "failed" and outcome["error"]["code"] == "invalid_state"
    assert len(rematches_of(conn, original_id)) == 1


# BEAT THIS -----------------------------------------------------------------------------------

def test_beat_this_takes_on_a_friends_workout_at_once(conn):
    # Given John's workout post (35 min, 10000 lb), which his friend Sarah sees
    john, sarah = pair(conn)
    post = workout_post(conn, john, minutes=35, volume=10000)
    challenge_id = new_id()

    # When Sarah taps BEAT THIS
    result = beat_this(conn, user_id=sarah, activity_id=post, challenge_ids=[challenge_id],
                       message="Watch me")

    # Then she has an accepted challenge from John against that workout
    assert result == {"challenge_ids": [challenge_id], "status": "accepted"}
    row = challenge(conn, challenge_id)
    assert (str(row["from_user_id"]), str(row["to_user_id"]), row["status"]) == (john, sarah, "accepted")
    assert str(row["activity_id"]) == post and row["is_retry"] is False
    assert row["challenge_message"] == "Watch me"
    assert row["workout_data"]["duration_minutes"] == 35 and row["workout_data"]["total_volume"] == 10000
    assert row["challenger_stats"] == row["workout_data"]
    # and John is told she took it on
    [told] = notifications(conn, john, "challenge_accepted")
    assert (str(told["challenge_id"]), str(told["actor_id"])) == (challenge_id, sarah)
    assert notifications(conn, sarah) == []


def test_beat_this_once_per_post(conn):
    # Given Sarah took on John's post already
    john, sarah = pair(conn)
    post = workout_post(conn, john)
    beat_this(conn, user_id=sarah, activity_id=post, challenge_ids=[new_id()])

    # When she taps BEAT THIS on it again, Then already_challenged (409)
    refused("already_challenged", 409, beat_this, conn, user_id=sarah, activity_id=post,
            challenge_ids=[new_id()])
    assert conn.execute("SELECT count(*) AS n FROM workout_challenges WHERE activity_id = %s",
                        (post,)).fetchone()["n"] == 1


def test_beat_this_stays_taken_after_a_retry(conn):
    # Given Sarah took on John's post, finished it and retried it
    john, sarah = pair(conn)
    post, first = workout_post(conn, john), new_id()
    beat_this(conn, user_id=sarah, activity_id=post, challenge_ids=[first])
    complete_challenge(conn, user_id=sarah, challenge_id=first, duration_minutes=50, total_volume=1)
    retry_challenge(conn, user_id=sarah, challenge_id=first, challenge_ids=[new_id()])

    # When she taps BEAT THIS on the post again, Then already_challenged
    refused("already_challenged", 409, beat_this, conn, user_id=sarah, activity_id=post,
            challenge_ids=[new_id()])


def test_another_friend_can_take_on_the_same_post(conn):
    # Given Sarah took on John's post, and Mike is John's friend too
    john, sarah = pair(conn)
    mike = user(conn, "Mike")
    friends(conn, john, mike)
    post = workout_post(conn, john)
    beat_this(conn, user_id=sarah, activity_id=post, challenge_ids=[new_id()])

    # When Mike takes it on, Then he gets his own challenge
    mikes = new_id()
    beat_this(conn, user_id=mike, activity_id=post, challenge_ids=[mikes])
    assert str(challenge(conn, mikes)["to_user_id"]) == mike


@pytest.mark.parametrize("visibility, befriended, code, status", [
    ("private", True, "not_found", 404),     # a friend's private post is not in her feed
    ("friends", False, "not_found", 404),    # a stranger's post for friends is not either
    ("public", False, "not_friends", 403),   # a stranger's public post is seen, but not hers to take on
])
def test_beat_this_follows_what_the_feed_shows(conn, visibility, befriended, code, status):
    # Given a post by John with this visibility, and Sarah, his friend or not
    john, sarah = user(conn, "John"), user(conn, "Sarah")
    if befriended:
        friends(conn, john, sarah)
    post = workout_post(conn, john, visibility=visibility)

    # When Sarah taps BEAT THIS, Then it is refused and no challenge exists
    refused(code, status, beat_this, conn, user_id=sarah, activity_id=post, challenge_ids=[new_id()])
    assert conn.execute("SELECT count(*) AS n FROM workout_challenges").fetchone()["n"] == 0
    assert notifications(conn, john) == []


def test_beat_this_on_a_former_friends_public_post_is_not_friends(conn):
    # Given John's public post, after which Sarah unfriended him
    john, sarah = pair(conn)
    post = workout_post(conn, john, visibility="public")
    remove_friendship(conn, user_id=sarah, friend_id=john)

    # When she takes it on, Then 403 not_friends
    refused("not_friends", 403, beat_this, conn, user_id=sarah, activity_id=post, challenge_ids=[new_id()])


def test_beat_this_on_your_own_post_is_a_self_challenge(conn):
    john, _ = pair(conn)
    post = workout_post(conn, john)
    refused("self_challenge", 422, beat_this, conn, user_id=john, activity_id=post, challenge_ids=[new_id()])
    assert conn.execute("SELECT count(*) AS n FROM workout_challenges").fetchone()["n"] == 0


def test_beat_this_on_a_challenge_result_is_not_a_workout(conn):
    # Given Sarah's result post of a challenge she beat (John sees it: they are friends)
    john, sarah = pair(conn)
    challenge_id = accepted_challenge(conn, john, sarah)
    result = complete_challenge(conn, user_id=sarah, challenge_id=challenge_id, duration_minutes=20,
                                total_volume=20000, auto_post_to_feed=True)

    # When John taps BEAT THIS on it, Then 422 not_a_workout
    refused("not_a_workout", 422, beat_this, conn, user_id=john, activity_id=result["activity_id"],
            challenge_ids=[new_id()])
    assert conn.execute("SELECT count(*) AS n FROM workout_challenges").fetchone()["n"] == 1


def test_beat_this_on_a_post_whose_workout_was_deleted_is_not_a_workout(conn):
    # Given John's post, whose workout log he deleted afterwards
    john, sarah = pair(conn)
    post = workout_post(conn, john)
    conn.execute("DELETE FROM workout_logs WHERE user_id = %s", (john,))

    # When Sarah takes it on, Then 422 not_a_workout
    refused("not_a_workout", 422, beat_this, conn, user_id=sarah, activity_id=post, challenge_ids=[new_id()])


def test_beat_this_on_an_unknown_post_is_not_found(conn):
    _, sarah = pair(conn)
    refused("not_found", 404, beat_this, conn, user_id=sarah, activity_id=new_id(), challenge_ids=[new_id()])


# Notifications read --------------------------------------------------------------------------

def test_marking_a_notification_read_again_keeps_the_first_time(conn):
    # Given Sarah's notification of John's challenge
    john, sarah = pair(conn)
    pending_challenge(conn, john, sarah)
    [notification] = notifications(conn, sarah)
    notification_id = str(notification["id"])
    assert notification["is_read"] is False

    # When she marks it read, and again later (another transaction)
    first = mark_read(conn, user_id=sarah, notification_id=notification_id)
    conn.commit()
    again = mark_read(conn, user_id=sarah, notification_id=notification_id)
    conn.commit()

    # Then it is read since the first time
    assert first["is_read"] is True and first["read_at"] is not None
    assert again["read_at"] == first["read_at"]
    [stored] = notifications(conn, sarah)
    assert (stored["is_read"], stored["read_at"]) == (True, first["read_at"])


@pytest.mark.parametrize("whose", ["someone_elses", "unknown"])
def test_only_your_own_notification_can_be_marked_read(conn, whose):
    # Given John's notification that Sarah accepted his challenge
    john, sarah = pair(conn)
    accepted_challenge(conn, john, sarah)
    [johns] = notifications(conn, john)
    notification_id = str(johns["id"]) if whose == "someone_elses" else new_id()

    # When Sarah marks it read, Then not_found and it stays unread for John
    refused("not_found", 404, mark_read, conn, user_id=sarah, notification_id=notification_id)
    assert [n["is_read"] for n in notifications(conn, john)] == [False]


def test_marking_all_read_touches_only_your_unread_ones(conn):
    # Given Sarah with three notifications, one of them read already, and John with one of his own
    john, sarah = pair(conn)
    for _ in range(3):
        pending_challenge(conn, john, sarah)
    accepted_challenge(conn, john, sarah)
    first = notifications(conn, sarah)[0]
    read_earlier = mark_read(conn, user_id=sarah, notification_id=str(first["id"]))["read_at"]
    conn.commit()

    # When she marks all read
    result = mark_all_read(conn, user_id=sarah)
    conn.commit()

    # Then the three unread ones are marked, the earlier one keeps its time, John's stays unread
    assert result == {"marked_read": 3}
    mine = notifications(conn, sarah)
    assert len(mine) == 4 and all(n["is_read"] and n["read_at"] for n in mine)
    assert [n["read_at"] for n in mine if n["id"] == first["id"]] == [read_earlier]
    assert [n["is_read"] for n in notifications(conn, john)] == [False]

    # and doing it again marks nothing
    assert mark_all_read(conn, user_id=sarah) == {"marked_read": 0}
