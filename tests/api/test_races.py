"""Two commands on one challenge at once, carried out by the real workers: exactly one wins, the
other job fails as `invalid_state` (or `already_challenged`), and the challenge ends up as the
winner left it, with one notification and at most one feed post of the winner's kind.

How the race is staged: a test connection holds the contested row's lock while both commands are
sent without waiting, so both pass the API's early checks (plain reads, which a row lock does not
block) and both are queued; once both worker transactions are waiting on the row the lock is let
go and PostgreSQL decides which of them gets it first. Every other round sends the two commands
in the opposite order, so each side wins some rounds.
"""

from dataclasses import dataclass
import pytest

from core.commands import CommandRejected
from core.rules.challenges import accept_challenge
from jobs.maintenance import expire_due_challenges
from tests.api.support import (assert_problem, holding, job_path, poll_job, snapshot,
                               wait_for_lock_waiters)

ROUNDS = range(5)
JOB_TIMEOUT = 20.0  # a retried job (after a unique violation) waits out a backoff first
ATTEMPT = {"duration_minutes": 28, "total_volume": 12500, "volume_unit": "lb"}       # beats 30 min, 10000 lb
SLOW_ATTEMPT = {"duration_minutes": 45, "total_volume": 8000, "volume_unit": "kg"}   # heavier, too slow
QUIT = {"quit_reason": "Too hard for me 😓"}
RESULT_NOTIFICATIONS = {"challenge_accepted", "challenge_declined", "challenge_completed",
                        "challenge_beaten", "challenge_abandoned", "challenge_retried"}


@dataclass
class Command:
    name: str
    method: str
    path: str
    user: str
    body: dict | None = None


@pytest.fixture
def completed(api, cast, accepted):
    assert api.post(f"/challenges/complete/{accepted}", cast.sarah, ATTEMPT).status_code == 200
    return accepted


def send(api, command: Command):
    """The command without waiting: accepted by the API (202) with its job's path."""
    response = api.call(command.method, command.path, command.user, command.body, wait=0)
    assert response.status_code == 202, response.text
    return job_path(response), response.json


def race(api, conn, database, round_: int, one: Command, other: Command, *,
         lock=("workout_challenges", None)) -> dict:
    """Both commands at once, the first-sent alternating by round; their final jobs by name
    (each with the ids the 202 announced under "announced")."""
    table, row_id = lock
    order = [one, other] if round_ % 2 == 0 else [other, one]
    with holding(conn, table, row_id):
        sent = [(command, *send(api, command)) for command in order]
        wait_for_lock_waiters(database, 2)
    jobs = {}
    for command, location, announced in sent:
        job = poll_job(api, command.user, location, timeout=JOB_TIMEOUT)
        assert job["status"] in {"succeeded", "failed"}, job
        jobs[command.name] = {**job, "announced": announced}
    return jobs


def one_winner(jobs: dict, loser_code: str = "invalid_state") -> tuple[str, str]:
    """Exactly one job succeeded and the other failed with `loser_code`; (winner, loser)."""
    succeeded = [name for name, job in jobs.items() if job["status"] == "succeeded"]
    failed = [name for name, job in jobs.items() if job["status"] == "failed"]
    assert len(succeeded) == 1 and len(failed) == 1, jobs
    [winner], [loser] = succeeded, failed
    assert jobs[winner]["error"] is None, jobs[winner]
    assert jobs[loser]["error"]["code"] == loser_code, jobs[loser]
    assert jobs[loser]["result"] is None, jobs[loser]
    return winner, loser


def challenge_state(api, user, challenge_id) -> dict:
    response = api.get(f"/challenges/{challenge_id}", user)
    assert response.status_code == 200, response.text
    return response.json


def result_notifications(api, user) -> list[dict]:
    """What the user was told about challenge changes (received challenges left out)."""
    return [n for n in api.notifications(user) if n["notification_type"] in RESULT_NOTIFICATIONS]


def challenge_posts(api, user) -> list[dict]:
    """The challenge results in the user's own feed."""
    return [post for post in api.get("/feed", user).json["items"]
            if post["user"]["id"] == user and post["activity_type"].startswith("challenge")]


# accept vs decline -----------------------------------------------------------------------------

@pytest.mark.parametrize("round_", ROUNDS)
def test_accept_and_decline_at_once_one_wins(api, conn, database, cast, pending, round_):
    # Given a pending challenge from John to Sarah
    # When Sarah accepts and declines it at the same moment
    jobs = race(api, conn, database, round_,
                Command("accept", "POST", f"/challenges/accept/{pending}", cast.sarah),
                Command("decline", "POST", f"/challenges/decline/{pending}", cast.sarah),
                lock=("workout_challenges", pending))

    # Then exactly one of them is carried out, the other fails as invalid_state
    winner, _ = one_winner(jobs)

    # and the challenge is as the winner left it; John was told of that one only
    expected = {"accept": ("accepted", "challenge_accepted"), "decline": ("declined", "challenge_declined")}
    status, kind = expected[winner]
    state = challenge_state(api, cast.sarah, pending)
    assert state["status"] == status
    assert (state["accepted_at"] is None, state["declined_at"] is None) == (
        winner != "accept", winner != "decline")
    assert [n["notification_type"] for n in result_notifications(api, cast.john)] == [kind]
    assert jobs[winner]["result"]["status"] == status


# complete vs abandon ---------------------------------------------------------------------------

@pytest.mark.parametrize("round_", ROUNDS)
def test_complete_and_abandon_at_once_one_wins(api, conn, database, cast, accepted, round_):
    # Given a challenge Sarah has accepted
    # When she reports an attempt and quits it at the same moment
    jobs = race(api, conn, database, round_,
                Command("complete", "POST", f"/challenges/complete/{accepted}", cast.sarah, ATTEMPT),
                Command("abandon", "POST", f"/challenges/abandon/{accepted}", cast.sarah, QUIT),
                lock=("workout_challenges", accepted))

    # Then exactly one is carried out, the other fails as invalid_state
    winner, _ = one_winner(jobs)
    state = challenge_state(api, cast.sarah, accepted)
    told = result_notifications(api, cast.john)
    kinds = [n["notification_type"] for n in told]
    if winner == "complete":
        # and the challenge is completed with her attempt, posted once to her feed as a victory
        assert (state["status"], state["did_beat"], state["quit_reason"]) == ("completed", True, None)
        assert state["challenged_stats"]["duration_minutes"] == ATTEMPT["duration_minutes"]
        assert state["challenged_stats"]["total_volume"] == ATTEMPT["total_volume"]
        assert [p["activity_type"] for p in challenge_posts(api, cast.sarah)] == ["challenge_victory"]
        assert kinds == ["challenge_beaten", "challenge_accepted"]
    else:
        # and the challenge is abandoned with her reason, nothing posted, John told why
        assert (state["status"], state["quit_reason"]) == ("abandoned", QUIT["quit_reason"])
        assert state["challenged_stats"] is None and state["did_beat"] is None
        assert challenge_posts(api, cast.sarah) == []
        assert kinds == ["challenge_abandoned", "challenge_accepted"]
        assert told[0]["data"]["quit_reason"] == QUIT["quit_reason"]


# complete vs complete --------------------------------------------------------------------------

@pytest.mark.parametrize("round_", ROUNDS)
def test_two_completes_at_once_only_the_first_result_counts(api, conn, database, cast, accepted, round_):
    # Given a challenge Sarah has accepted (target: 30 min, 10000 lb)
    # When two different attempts are reported at the same moment, one beating it, one not
    attempts = {"fast": ATTEMPT, "slow": SLOW_ATTEMPT}
    jobs = race(api, conn, database, round_,
                Command("fast", "POST", f"/challenges/complete/{accepted}", cast.sarah, ATTEMPT),
                Command("slow", "POST", f"/challenges/complete/{accepted}", cast.sarah, SLOW_ATTEMPT),
                lock=("workout_challenges", accepted))

    # Then exactly one is carried out, the other fails as invalid_state
    winner, _ = one_winner(jobs)

    # and the challenge holds the winning attempt, with one result post and one notification to match
    attempt, beat = attempts[winner], winner == "fast"
    state = challenge_state(api, cast.sarah, accepted)
    assert (state["status"], state["did_beat"]) == ("completed", beat)
    assert {k: state["challenged_stats"][k] for k in attempt} == attempt
    assert jobs[winner]["result"]["challenged_stats"] == state["challenged_stats"]
    [post] = challenge_posts(api, cast.sarah)
    assert post["activity_type"] == ("challenge_victory" if beat else "challenge_completed")
    assert post["activity_data"]["your_duration"] == attempt["duration_minutes"]
    kinds = [n["notification_type"] for n in result_notifications(api, cast.john)]
    assert kinds == ["challenge_beaten" if beat else "challenge_completed", "challenge_accepted"]


# delete vs accept ------------------------------------------------------------------------------

@pytest.mark.parametrize("round_", ROUNDS)
def test_withdrawing_while_it_is_accepted_one_wins(api, conn, database, cast, pending, round_):
    # Given a pending challenge from John to Sarah
    # When John withdraws it while Sarah accepts it
    jobs = race(api, conn, database, round_,
                Command("delete", "DELETE", f"/challenges/{pending}", cast.john),
                Command("accept", "POST", f"/challenges/accept/{pending}", cast.sarah),
                lock=("workout_challenges", pending))

    # Then exactly one is carried out, the other fails as invalid_state
    winner, _ = one_winner(jobs)
    if winner == "delete":
        # and Sarah is told it was withdrawn; the challenge is gone for both, her notification too
        assert "withdrew" in jobs["accept"]["error"]["detail"], jobs["accept"]
        for user in (cast.john, cast.sarah):
            assert_problem(api.get(f"/challenges/{pending}", user), 404, "not_found")
        assert [n for n in api.notifications(cast.sarah) if n["challenge_id"] == pending] == []
        assert result_notifications(api, cast.john) == []
        assert conn.execute("SELECT count(*) AS n FROM withdrawn_challenges WHERE id = %s",
                            (pending,)).fetchone()["n"] == 1
        # and a later accept is refused as withdrawn, not as unknown
        assert_problem(api.post(f"/challenges/accept/{pending}", cast.sarah), 409, "invalid_state")
    else:
        # and the challenge is accepted, John told so once, and it was never withdrawn
        assert challenge_state(api, cast.john, pending)["status"] == "accepted"
        assert [n["notification_type"] for n in api.notifications(cast.sarah)
                if n["challenge_id"] == pending] == ["challenge_received"]
        kinds = [n["notification_type"] for n in result_notifications(api, cast.john)]
        assert kinds == ["challenge_accepted"]
        assert conn.execute("SELECT count(*) AS n FROM withdrawn_challenges").fetchone()["n"] == 0
    conn.rollback()


# BEAT THIS twice -------------------------------------------------------------------------------

def workout_post(api, user) -> str:
    [post] = [p for p in api.get("/feed", user).json["items"]
              if p["user"]["id"] == user and p["activity_type"] == "workout_completed"]
    return post["id"]


@pytest.mark.parametrize("round_", ROUNDS)
def test_beat_this_twice_at_once_makes_one_challenge(api, conn, database, cast, round_):
    # Given John's workout post in Sarah's feed
    post = workout_post(api, cast.john)

    # When Sarah taps BEAT THIS on it twice at the same moment
    # (the post's row is held: both inserts then wait on its foreign key check)
    body = {"activity_id": post}
    jobs = race(api, conn, database, round_,
                Command("first", "POST", "/challenges/create", cast.sarah, body),
                Command("second", "POST", "/challenges/create", cast.sarah, {**body, "message": "Again!"}),
                lock=("activity_feed", post))

    # Then exactly one is carried out, the other fails as already_challenged
    winner, loser = one_winner(jobs, "already_challenged")

    # and Sarah has one challenge, the winner's, already accepted; John was told once
    [challenge_id] = jobs[winner]["announced"]["challenge_ids"]
    taken_on = api.get("/challenges/list", cast.sarah).json["items"]
    assert [(c["id"], c["status"], c["activity_id"]) for c in taken_on] == [(challenge_id, "accepted", post)]
    [lost_id] = jobs[loser]["announced"]["challenge_ids"]
    assert_problem(api.get(f"/challenges/{lost_id}", cast.sarah), 404, "not_found")
    assert [n["notification_type"] for n in result_notifications(api, cast.john)] == ["challenge_accepted"]


# retry twice -----------------------------------------------------------------------------------

@pytest.mark.parametrize("round_", ROUNDS)
def test_two_retries_at_once_make_one_rematch(api, conn, database, cast, completed, round_):
    # Given a challenge Sarah has completed
    # When she asks for a rematch twice at the same moment
    jobs = race(api, conn, database, round_,
                Command("first", "POST", f"/challenges/retry/{completed}", cast.sarah, {}),
                Command("second", "POST", f"/challenges/retry/{completed}", cast.sarah,
                        {"message": "Again!"}),
                lock=("workout_challenges", completed))

    # Then exactly one is carried out, the other fails as invalid_state
    winner, loser = one_winner(jobs)

    # and the chain holds the original and one rematch, the winner's; John was told once
    [rematch] = jobs[winner]["announced"]["challenge_ids"]
    chain = api.get(f"/challenges/{completed}/chain", cast.sarah)
    assert chain.status_code == 200, chain.text
    assert [c["id"] for c in chain.json["items"]] == [completed, rematch]
    original, second_round = chain.json["items"]
    assert original["retry_count"] == 1
    assert (second_round["status"], second_round["retried_from_challenge_id"]) == ("accepted", completed)
    assert second_round["challenge_message"] == ("Round 2! 💪" if winner == "first" else "Again!")
    [lost_id] = jobs[loser]["announced"]["challenge_ids"]
    assert_problem(api.get(f"/challenges/{lost_id}", cast.sarah), 404, "not_found")
    retried = [n for n in result_notifications(api, cast.john)
               if n["notification_type"] == "challenge_retried"]
    assert [n["challenge_id"] for n in retried] == [rematch]


# Expiry ----------------------------------------------------------------------------------------

def expire_now(conn, challenge_id: str) -> None:
    conn.execute("UPDATE workout_challenges SET expires_at = now() - interval '1 second' WHERE id = %s",
                 (challenge_id,))


def test_a_challenge_that_expires_while_the_accept_is_queued_is_not_accepted(api, conn, database, cast,
                                                                              pending):
    # Given a pending challenge, held by the test so a queued accept cannot run yet
    with holding(conn, "workout_challenges", pending):
        # When Sarah accepts it without waiting, in time for the API's check
        location, _ = send(api, Command("accept", "POST", f"/challenges/accept/{pending}", cast.sarah))
        wait_for_lock_waiters(database, 1)
        # and it expires before the worker gets to it
        expire_now(conn, pending)
        conn.commit()

    # Then the job fails as invalid_state (expired), the challenge was not accepted (it reads
    # expired, before any sweep), John hears nothing
    job = poll_job(api, cast.sarah, location, timeout=JOB_TIMEOUT)
    assert job["status"] == "failed", job
    assert job["error"]["code"] == "invalid_state" and "expired" in job["error"]["detail"], job
    assert challenge_state(api, cast.sarah, pending)["status"] == "expired"
    assert result_notifications(api, cast.john) == []


def test_an_expired_challenge_is_refused_by_the_api_and_by_the_worker(api, conn, redis_client, cast, pending):
    # Given a pending challenge whose time ran out (the scheduler has not run yet)
    expire_now(conn, pending)
    conn.commit()
    before = snapshot(conn, redis_client)

    # When Sarah accepts it, Then the API refuses at once: 409 invalid_state, nothing queued
    assert_problem(api.post(f"/challenges/accept/{pending}", cast.sarah), 409, "invalid_state")
    assert snapshot(conn, redis_client) == before

    # and the worker's rule refuses it too, had the command got through
    with pytest.raises(CommandRejected) as rejected:
        accept_challenge(conn, user_id=cast.sarah, challenge_id=pending)
    assert (rejected.value.code, rejected.value.status) == ("invalid_state", 409)
    conn.rollback()
    assert challenge_state(api, cast.sarah, pending)["status"] == "expired"  # not accepted; no sweep yet


def test_the_expiry_job_tells_the_challenger_and_accept_is_refused_afterwards(api, conn, cast, pending):
    # Given a pending challenge whose time ran out
    expire_now(conn, pending)
    conn.commit()

    # When the scheduler expires due challenges
    assert expire_due_challenges(conn) == 1

    # Then it is expired, John is told so (by nobody in particular), Sarah's accept is refused
    assert challenge_state(api, cast.sarah, pending)["status"] == "expired"
    [told] = [n for n in api.notifications(cast.john) if n["challenge_id"] == pending]
    assert (told["notification_type"], told["actor"]) == ("challenge_expired", None)
    assert_problem(api.post(f"/challenges/accept/{pending}", cast.sarah), 409, "invalid_state")
    assert_problem(api.post(f"/challenges/decline/{pending}", cast.sarah), 409, "invalid_state")
    assert challenge_state(api, cast.sarah, pending)["status"] == "expired"
    # and a second run finds nothing more to do
    assert expire_due_challenges(conn) == 0
