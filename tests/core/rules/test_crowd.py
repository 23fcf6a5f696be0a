"""The crowd's rules on plain rows: when a figure may be shown, its tier and its words, and the
crowd insights. The same rows come from crowd_workouts and crowd_kinds (tests/api/test_crowd.py)."""

import pytest

from core.rules.crowd import (ALL_KINDS, CrowdView, avg_retries_to_win, calibration, crowd_abandonment_by_kind,
                              crowd_insights, crowd_retries_by_kind, crowd_retry_round, difficulty, tier)

MIN = 5


def row(athletes=10, attempts=10, wins=5, quits=2, retries=0, first_wins=(5, 0, 0, 0), **named) -> dict:
    r0, r1, r2, r3 = first_wins
    return {"athletes": athletes, "attempts": attempts, "wins": wins, "losses": attempts - wins - quits,
            "quits": quits, "retries": retries, "first_wins_r0": r0, "first_wins_r1": r1,
            "first_wins_r2": r2, "first_wins_r3": r3, **named}


def kinds(**rows) -> dict:
    return {name if name != "all" else ALL_KINDS: {**r, "kind": name if name != "all" else ALL_KINDS}
            for name, r in rows.items()}


# difficulty ----------------------------------------------------------------------------------

@pytest.mark.parametrize("win_rate,abandonment_rate,expected", [
    (0.1, 0.0, "brutal"), (0.5, 0.6, "brutal"), (0.3, 0.1, "tough"), (0.5, 0.35, "tough"),
    (0.5, 0.1, "fair"), (0.7, 0.1, "easy"), (0.9, 0.34, "easy")])
def test_the_tier_follows_the_win_and_abandonment_rates(win_rate, abandonment_rate, expected):
    assert tier(win_rate, abandonment_rate) == expected


def test_the_workouts_own_figures_come_first():
    # Given a workout of 6 athletes, 5 quits of 6, in a kind of many more
    workout, kind = row(athletes=6, attempts=6, wins=1, quits=5), row(athletes=40, attempts=80, kind="leg")

    # Then its difficulty is its own
    figures = difficulty(workout, kind, MIN)
    assert (figures["scope"], figures["athletes"], figures["abandonment_rate"], figures["tier"]) == (
        "workout", 6, 0.83, "brutal")
    assert figures["text"] == "This workout has an 83% abandonment rate - it's brutal, but you can do it!"


def test_too_few_athletes_on_the_workout_give_the_kinds_figure_or_none():
    few, kind = row(athletes=4, attempts=4, wins=1, quits=3), row(athletes=9, attempts=20, wins=14, quits=2, kind="leg")
    assert difficulty(few, kind, MIN)["scope"] == "kind"
    assert difficulty(few, kind, MIN)["text"] == "70% of athletes beat leg workouts - show them how it's done!"
    assert difficulty(few, {**kind, "athletes": 4}, MIN) is None
    assert difficulty(few, None, MIN) is None
    assert difficulty(None, None, MIN) is None


def test_average_retries_to_a_first_win_count_three_or_more_as_three():
    assert avg_retries_to_win(row(first_wins=(1, 1, 1, 1))) == 1.5
    assert avg_retries_to_win(row(first_wins=(0, 0, 0, 0))) is None


def test_a_tough_workout_says_so_in_the_seeds_words():
    figures = difficulty(row(athletes=20, attempts=20, wins=7, quits=13), None, MIN)
    assert figures["text"] == "This workout has a 65% abandonment rate - it's brutal, but you can do it!"
    figures = difficulty(row(athletes=20, attempts=20, wins=10, quits=8), None, MIN)
    assert figures["text"] == "This workout has a 40% abandonment rate - it's tough but you can do it!"


# Crowd insights ------------------------------------------------------------------------------

def test_a_kind_retried_three_times_as_often_as_the_rest_is_said_to_the_athlete_who_retried_it():
    crowd = kinds(all=row(athletes=50, attempts=100, retries=10), leg=row(athletes=10, attempts=10, retries=3))
    [found] = crowd_retries_by_kind(crowd, {"leg"}, MIN)
    assert found["text"] == "Leg workouts require 3x more retries on average - you're not alone!"
    assert found["evidence"]["ratio"] == 3.0
    assert crowd_retries_by_kind(crowd, set(), MIN) == []
    assert crowd_retries_by_kind({**crowd, "leg": {**crowd["leg"], "athletes": 4}}, {"leg"}, MIN) == []


def test_abandonment_compares_the_most_and_least_quit_kinds():
    crowd = kinds(all=row(athletes=50, attempts=100), leg=row(athletes=10, attempts=10, quits=6),
                  upper=row(athletes=10, attempts=10, quits=2))
    found = crowd_abandonment_by_kind(crowd, MIN)
    assert found["text"] == "Athletes abandon leg workouts 3x more than upper ones"
    assert crowd_abandonment_by_kind(kinds(leg=row(quits=6), upper=row(quits=5)), MIN) is None


def test_the_retry_round_most_athletes_win_on():
    crowd = kinds(all=row(athletes=50, first_wins=(10, 2, 5, 1)))
    assert crowd_retry_round(crowd, MIN)["text"] == "Most athletes who retry win on their 2nd retry attempt"
    assert crowd_retry_round(kinds(all=row(first_wins=(10, 1, 2, 1))), MIN) is None  # 4 behind it


def test_calibration_speaks_of_the_pending_challenge():
    pending = {"id": "c1", "workout_name": "Beast Mode Legs"}
    found = calibration(pending, row(athletes=6, attempts=10, wins=8, quits=1), None, MIN)
    assert (found["text"], found["evidence"]["challenge_id"]) == ("80% of athletes beat targets like this one", "c1")


def test_crowd_insights_only_speak_to_what_the_athlete_did():
    crowd = kinds(all=row(athletes=50, attempts=100, retries=10, first_wins=(10, 2, 5, 1)),
                  leg=row(athletes=10, attempts=10, quits=6, retries=3), upper=row(athletes=10, attempts=10, quits=2))
    view = CrowdView(crowd, MIN)
    assert crowd_insights(view, set(), has_finished=False) == []
    assert {i["kind"] for i in crowd_insights(view, {"leg"}, has_finished=True)} == {
        "crowd_retries_by_kind", "crowd_abandonment_by_kind", "crowd_retry_round"}
