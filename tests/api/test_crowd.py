"""The crowd's figures through the real worker: a challenge's difficulty, the crowd insights, and
counters that stay exact through races, redelivery and corruption. The rules' edge cases (tiers,
thresholds, texts) are in tests/core/rules/test_crowd.py."""

import json
import threading
import time

import pytest

from core.commands import run_command
from core.rules.challenges import abandon_challenge
from jobs.crowd import reconcile_crowd, refresh_kinds
from tests.api.support import new_id

LEGS = "Beast Mode Legs"
TARGET = {"minutes": 30, "volume": 10000, "unit": "lb"}
WIN = {"duration_minutes": 25, "total_volume": 12000, "volume_unit": "lb"}
LOSS = {"duration_minutes": 35, "total_volume": 9000, "volume_unit": "lb"}
SECRET = "my knee hurts SECRET-TEXT"


def challenged_by(api, coach: str, athlete: str, workout: str = LEGS) -> str:
    """`coach` challenges `athlete` (a new friend) to beat their `workout`; its id, pending."""
    api.befriend(coach, athlete)
    log = api.log_workout(coach, name=workout, **TARGET)
    [challenge_id] = api.challenge(coach, [athlete], log)
    return challenge_id


def settle(api, athlete: str, challenge_id: str, result: str, reason: str = "Too hard for me 😓") -> None:
    assert api.post(f"/challenges/accept/{challenge_id}", athlete).status_code == 200
    if result == "quit":
        response = api.post(f"/challenges/abandon/{challenge_id}", athlete, {"quit_reason": reason})
    else:
        response = api.post(f"/challenges/complete/{challenge_id}", athlete, WIN if result == "win" else LOSS)
    assert response.status_code == 200, response.text


def crowd(api, coach: str, results: list[str], workout: str = LEGS, reason: str = "Too hard for me 😓") -> list[str]:
    """One new athlete per result, each challenged by `coach` and settling as it says."""
    athletes = []
    for number, result in enumerate(results):
        athlete = api.sign_up(f"Athlete {number}")
        settle(api, athlete, challenged_by(api, coach, athlete, workout), result, reason)
        athletes.append(athlete)
    return athletes


def difficulty(api, athlete: str, challenge_id: str):
    response = api.get(f"/challenges/{challenge_id}", athlete)
    assert response.status_code == 200, response.text
    return response.json["difficulty"]


def workout_row(conn, name: str = LEGS) -> dict:
    """The workout's figures, its shards added up."""
    conn.commit()
    return conn.execute("SELECT sum(athletes) AS athletes, sum(attempts) AS attempts, sum(wins) AS wins, "
                        "sum(losses) AS losses, sum(quits) AS quits, sum(retries) AS retries "
                        "FROM crowd_workouts WHERE workout_key = workout_key(%s)", (name,)).fetchone()


def wait_for_kinds(conn, names: list[str], timeout: float = 30) -> None:
    """Until the worker's indexer has embedded every name (it files each workout's kind)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn.commit()
        known = conn.execute("SELECT count(*) AS n FROM workout_kinds WHERE workout_key = ANY(%s)",
                             ([name.lower() for name in names],)).fetchone()["n"]
        conn.commit()
        if known == len(names):
            return
        time.sleep(0.2)
    raise AssertionError(f"the indexer did not file the kinds of {names} within {timeout} s")


def test_five_quits_and_a_win_make_a_brutal_workout_for_the_seventh_athlete(api, conn):
    # Given five athletes who quit Beast Mode Legs and a sixth who beat it
    coach = api.sign_up("Coach")
    crowd(api, coach, ["quit"] * 5 + ["win"])

    # When a seventh athlete opens the challenge they have pending on that workout
    seventh = api.sign_up("Seventh")
    pending = challenged_by(api, coach, seventh)
    figures = difficulty(api, seventh, pending)

    # Then they see the workout's own figures: 5 of 6 attempts abandoned
    assert {key: figures[key] for key in ("scope", "athletes", "attempts", "abandonment_rate", "win_rate",
                                          "tier")} == {
        "scope": "workout", "athletes": 6, "attempts": 6, "abandonment_rate": 0.83, "win_rate": 0.17,
        "tier": "brutal"}
    assert figures["text"] == "This workout has an 83% abandonment rate - it's brutal, but you can do it!"
    assert figures["avg_retries_to_win"] == 0.0

    # And their insights calibrate it
    insights = api.get("/insights", seventh).json["items"]
    calibration = [i for i in insights if i["kind"] == "calibration"]
    assert [(i["text"], i["evidence"]["challenge_id"]) for i in calibration] == [
        ("17% of athletes beat targets like this one", pending)]


def test_four_athletes_are_never_shown_a_figure_only_their_kinds(api, conn):
    # Given four athletes on Beast Mode Legs
    coach = api.sign_up("Coach")
    crowd(api, coach, ["quit", "quit", "quit", "win"])
    fifth = api.sign_up("Fifth")
    pending = challenged_by(api, coach, fifth)

    # When the fifth opens their pending challenge, Then there is no figure: four is too few
    assert difficulty(api, fifth, pending) is None

    # Given two more athletes quit another leg workout, and the kinds' figures are recomputed
    crowd(api, coach, ["quit", "quit"], workout="Leg Day Destroyer")
    wait_for_kinds(conn, [LEGS, "Leg Day Destroyer"])
    refresh_kinds(conn)

    # Then the fifth sees the kind's figure of six athletes, never the workout's four
    figures = difficulty(api, fifth, pending)
    assert (figures["scope"], figures["kind"], figures["athletes"], figures["attempts"]) == ("kind", "leg", 6, 6)
    assert figures["text"].startswith("Leg workouts have")


def test_athletes_settling_at_once_are_each_counted_once(api, conn):
    # Given eight athletes, each with an accepted challenge on the same workout
    coach = api.sign_up("Coach")
    athletes = [api.sign_up(f"Racer {n}") for n in range(8)]
    challenges = [challenged_by(api, coach, athlete) for athlete in athletes]
    for athlete, challenge_id in zip(athletes, challenges):
        assert api.post(f"/challenges/accept/{challenge_id}", athlete).status_code == 200

    # When they all finish at the same moment, half winning and half quitting
    def finish(n):
        body = WIN if n % 2 else {"quit_reason": "I give up 🏳️"}
        verb = "complete" if n % 2 else "abandon"
        assert api.post(f"/challenges/{verb}/{challenges[n]}", athletes[n], body).status_code == 200

    threads = [threading.Thread(target=finish, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then the workout counts eight athletes, four wins and four quits, and reconciliation agrees
    row = workout_row(conn)
    assert (row["athletes"], row["attempts"], row["wins"], row["quits"]) == (8, 8, 4, 4)
    assert reconcile_crowd(conn) == 0


def test_a_redelivered_quit_is_counted_once(api, conn):
    # Given an athlete's accepted challenge, quit by a command
    coach, athlete = api.sign_up("Coach"), api.sign_up("Athlete")
    challenge_id = challenged_by(api, coach, athlete)
    assert api.post(f"/challenges/accept/{challenge_id}", athlete).status_code == 200
    job_id = new_id()
    quit_it = lambda c: abandon_challenge(c, user_id=athlete, challenge_id=challenge_id,  # noqa: E731
                                          quit_reason="I give up 🏳️")
    run_command(conn, job_id=job_id, actor_name="challenges.abandon", user_id=athlete, effect=quit_it)

    # When the same message is delivered again
    run_command(conn, job_id=job_id, actor_name="challenges.abandon", user_id=athlete, effect=quit_it)

    # Then the quit counts once
    row = workout_row(conn)
    assert (row["athletes"], row["attempts"], row["quits"]) == (1, 1, 1)


def test_reconciliation_repairs_corrupted_counters(api, conn):
    # Given a crowd on Beast Mode Legs and its true figures
    coach = api.sign_up("Coach")
    crowd(api, coach, ["quit", "win", "loss"])
    truth = workout_row(conn)

    # When a bug writes wrong counts at both levels (one athlete's and the workout's own)
    conn.execute("UPDATE crowd_athletes SET wins = wins + 5 WHERE workout_key = workout_key(%s) "
                 "AND athlete_id = (SELECT min(athlete_id::text)::uuid FROM crowd_athletes)", (LEGS,))
    conn.execute("UPDATE crowd_workouts SET attempts = 99, athletes = 1 WHERE ctid = "
                 "(SELECT ctid FROM crowd_workouts WHERE workout_key = workout_key(%s) LIMIT 1)", (LEGS,))
    conn.commit()

    # Then reconciliation repairs both and says how many rows were wrong
    assert reconcile_crowd(conn) == 2
    assert workout_row(conn) == truth


def test_no_crowd_figure_shows_a_custom_quit_reason_a_name_or_an_id(api, conn):
    # Given athletes who quit with a custom reason, and their names
    coach = api.sign_up("Coach Secretname")
    quitters = crowd(api, coach, ["quit"] * 5 + ["win"], reason=SECRET)
    wait_for_kinds(conn, [LEGS])
    refresh_kinds(conn)
    reader = api.sign_up("Reader")
    pending = challenged_by(api, coach, reader)

    # When the reader reads their challenge and their insights
    bodies = [api.get(f"/challenges/{pending}", reader).json["difficulty"],
              [i for i in api.get("/insights", reader).json["items"] if i["kind"].startswith(("crowd", "calib"))]]

    # Then the crowd's parts hold figures only
    text = json.dumps(bodies)
    assert bodies[0] is not None and bodies[1]
    for secret in (SECRET, "SECRET", "Secretname", "Athlete 0", *quitters, coach):
        assert secret not in text

    # And the custom reason was counted by meaning (near no preset: 'other'), the text left alone
    assert set(categorised(conn)) == {(SECRET, "other")}


@pytest.mark.parametrize("reason,category", [("way too hard", "Too hard for me 😓"),
                                             ("Too hard for me 😓", "Too hard for me 😓")])
def test_a_quit_reason_is_counted_with_the_preset_nearest_in_meaning(api, conn, reason, category):
    # Given an athlete who quits with `reason`
    coach, athlete = api.sign_up("Coach"), api.sign_up("Athlete")
    settle(api, athlete, challenged_by(api, coach, athlete), "quit", reason)

    # When the indexer has seen it, Then its category is the preset it means
    assert categorised(conn) == [(reason, category)]


def categorised(conn, timeout: float = 30) -> list[tuple[str, str]]:
    """Every quit's reason and category, once the indexer has given each its category."""
    deadline = time.monotonic() + timeout
    while True:
        conn.commit()
        rows = [(row["quit_reason"], row["quit_category"]) for row in conn.execute(
            "SELECT quit_reason, quit_category FROM workout_challenges WHERE status = 'abandoned'")]
        if all(category for _, category in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)
