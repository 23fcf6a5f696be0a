"""Issue 25, items 2 and 5: what a reader sees of a challenge that ran out before the scheduler
swept it, and of a sent challenge the opponent quit. Every read (the challenge, the history's
tabs, the stats, the board) gives one answer."""

import datetime as dt

import pytest

from jobs import maintenance
from tests.api.support import assert_problem

LOSS = {"duration_minutes": 45, "total_volume": 5000, "volume_unit": "kg"}
EXCUSE = "Not feeling it today 😴"


def view(api, user, challenge_id) -> dict:
    response = api.get(f"/challenges/{challenge_id}", user)
    assert response.status_code == 200, response.text
    return response.json


def tab(api, user, tab_name, direction="all") -> dict[str, dict]:
    response = api.get(f"/challenges/list?limit=100&direction={direction}&filter={tab_name}", user)
    assert response.status_code == 200, response.text
    return {c["id"]: c for c in response.json["items"]}


def stats(api, user) -> dict:
    response = api.get("/challenges/stats", user)
    assert response.status_code == 200, response.text
    return response.json


def my_row(api, user) -> dict:
    response = api.get("/challenges/leaderboard", user)
    assert response.status_code == 200, response.text
    return {k: v for k, v in response.json["me"].items() if k != "rank"}


def run_out(conn, challenge_id) -> dt.datetime:
    """Its `expires_at` passes; the scheduler has not run (nothing else is touched)."""
    conn.rollback()
    expires_at = conn.execute(
        "UPDATE workout_challenges SET expires_at = now() - interval '1 minute' WHERE id = %s "
        "RETURNING expires_at", (challenge_id,)).fetchone()["expires_at"]
    conn.commit()
    return expires_at


def stored_status(conn, challenge_id) -> str:
    conn.rollback()
    status = conn.execute("SELECT status FROM workout_challenges WHERE id = %s",
                          (challenge_id,)).fetchone()["status"]
    conn.commit()
    return status


def parse(timestamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


# Item 2: expired at once, whatever the sweep's timing ------------------------------------------

@pytest.fixture
def ran_out(api, conn, cast):
    """John sent Sarah two challenges: one still pending, one whose expiry has just passed, with
    the scheduler not run since."""
    [still_pending, expired] = [api.challenge(cast.john, [cast.sarah], cast.workout)[0] for _ in range(2)]
    board_before = {user: my_row(api, user) for user in (cast.john, cast.sarah)}
    expires_at = run_out(conn, expired)
    assert stored_status(conn, expired) == "pending"   # the sweep has not run
    return dict(still_pending=still_pending, expired=expired, expires_at=expires_at,
                board_before=board_before)


def test_a_challenge_past_its_expiry_reads_expired_to_both_before_the_sweep(api, cast, ran_out):
    # Given John's challenge to Sarah ran out a minute ago, and the scheduler has not run yet
    expired = ran_out["expired"]

    # When each of them opens it
    for user in (cast.sarah, cast.john):
        challenge = view(api, user, expired)

        # Then it is expired, since the moment it ran out, with nothing left to encourage
        assert (challenge["status"], challenge["result"]) == ("expired", "expired"), user
        assert parse(challenge["expired_at"]) == ran_out["expires_at"]
        assert challenge["encouragement"] is None
    # and the one still pending reads pending
    assert view(api, cast.sarah, ran_out["still_pending"])["status"] == "pending"


def test_a_challenge_past_its_expiry_leaves_the_pending_tab_and_the_in_progress_count(api, cast, ran_out):
    # Given John's challenge to Sarah ran out a minute ago, and the scheduler has not run yet
    expired, still_pending = ran_out["expired"], ran_out["still_pending"]

    # When they open their history tabs and Sarah her stats
    # Then only the challenge still pending is in either Pending tab
    assert set(tab(api, cast.sarah, "pending")) == {still_pending}
    assert set(tab(api, cast.john, "pending", direction="sent")) == {still_pending}
    # and the expired one is in All, reading expired, and in no other tab
    for user in (cast.sarah, cast.john):
        everything = tab(api, user, "all")
        assert (everything[expired]["status"], everything[expired]["result"]) == ("expired", "expired")
        for other in ("won", "lost", "quit"):
            assert expired not in tab(api, user, other), (user, other)
    # and Sarah has one challenge in progress, not two
    assert stats(api, cast.sarah)["in_progress"] == 1
    # and the boards did not move: pending and expired both count only as sent
    assert {user: my_row(api, user) for user in (cast.john, cast.sarah)} == ran_out["board_before"]


def test_the_commands_and_the_reads_agree_on_an_expired_challenge(api, cast, ran_out):
    # Given John's challenge to Sarah ran out a minute ago, and the scheduler has not run yet
    expired = ran_out["expired"]

    # When Sarah tries to accept it and John to withdraw it
    accepting = api.post(f"/challenges/accept/{expired}", cast.sarah)
    withdrawing = api.delete(f"/challenges/{expired}", cast.john)

    # Then both are refused as expired, the state the challenge reads in
    for response in (accepting, withdrawing):
        assert "expired" in assert_problem(response, 409, "invalid_state")["detail"]
    assert view(api, cast.sarah, expired)["status"] == "expired"


def test_the_sweep_only_makes_it_permanent_and_tells_the_challenger(api, conn, cast, ran_out):
    # Given John's challenge to Sarah ran out, read as expired, and John has not been told yet
    expired = ran_out["expired"]
    before = {user: view(api, user, expired) for user in (cast.john, cast.sarah)}
    assert "challenge_expired" not in [n["notification_type"] for n in api.notifications(cast.john)]

    # When the scheduler's expiry job runs
    conn.rollback()
    assert maintenance.expire_due_challenges(conn) == 1

    # Then the row says expired, and what they read is unchanged (the same expired_at)
    assert stored_status(conn, expired) == "expired"
    for user in (cast.john, cast.sarah):
        after = view(api, user, expired)
        assert {k: after[k] for k in ("status", "result", "expired_at")} == \
            {k: before[user][k] for k in ("status", "result", "expired_at")}
    # and John is told, once
    assert [n["notification_type"] for n in api.notifications(cast.john)].count("challenge_expired") == 1
    assert stats(api, cast.sarah)["in_progress"] == 1


# Item 5: a sent challenge the opponent quit is a quit, everywhere ---------------------------------

@pytest.fixture
def quit_and_lost(api, cast):
    """Sarah accepted two of John's challenges: she quit one (with an excuse) and lost the other."""
    quit_id, lost_id = (api.challenge(cast.john, [cast.sarah], cast.workout)[0] for _ in range(2))
    for challenge_id in (quit_id, lost_id):
        assert api.post(f"/challenges/accept/{challenge_id}", cast.sarah).status_code == 200
    response = api.post(f"/challenges/abandon/{quit_id}", cast.sarah, {"quit_reason": EXCUSE})
    assert response.status_code == 200, response.text
    response = api.post(f"/challenges/complete/{lost_id}", cast.sarah, LOSS)
    assert response.status_code == 200 and response.json["result"]["did_beat"] is False, response.text
    return dict(quit=quit_id, lost=lost_id)


def test_a_sent_challenge_the_opponent_quit_is_a_quit_for_the_challenger(api, cast, quit_and_lost):
    # Given Sarah quit one of John's challenges with an excuse, and lost another
    quit_id, lost_id = quit_and_lost["quit"], quit_and_lost["lost"]

    # When John opens the one she quit
    challenge = view(api, cast.john, quit_id)

    # Then it reads quit, with her excuse, not a victory
    assert (challenge["direction"], challenge["result"]) == ("sent", "quit")
    assert challenge["quit_reason"] == EXCUSE
    # and it is in his Quit tab (with the excuse) and not in his Won tab; the lost one is a victory
    assert {i: c["quit_reason"] for i, c in tab(api, cast.john, "quit", "sent").items()} == {quit_id: EXCUSE}
    assert set(tab(api, cast.john, "won", "sent")) == {lost_id}
    assert view(api, cast.john, lost_id)["result"] == "victory"


def test_the_challengers_stats_match_his_tabs(api, cast, quit_and_lost):
    # Given Sarah quit one of John's challenges and lost another
    # When John opens his profile
    numbers = stats(api, cast.john)

    # Then defended counts his Won tab (the one she lost) and beaten his Lost tab: the quit is
    # neither
    assert (numbers["defended"], numbers["beaten"]) == (1, 0)
    assert numbers["defended"] == len(tab(api, cast.john, "won", "sent"))
    assert numbers["beaten"] == len(tab(api, cast.john, "lost", "sent"))
    # and the quit is Sarah's: in her stats and her Quit tab, reading quit from her side too
    hers = stats(api, cast.sarah)
    assert (hers["quit"], hers["lost"], hers["abandonment"]["total_abandoned"]) == (1, 1, 1)
    [mine] = tab(api, cast.sarah, "quit", "received").values()
    assert (mine["id"], mine["result"]) == (quit_and_lost["quit"], "quit")
