"""The insight rules of core/insights.py, as plain functions over event metadata exactly as the
event log stores it: no ChromaDB, no database. Each event is built newer than the one before, so
the order a test writes them in is the order they happened in."""

import itertools
import uuid

import pytest

from core.insights import (encouragement, favourite_kind, ordinal, outcomes, persistence,
                              quit_patterns, retry_pattern, tough_benchmarks, user_insights,
                              win_rates_by_kind)


def new_id() -> str:
    return str(uuid.uuid4())


ME, FRIEND, OTHER_FRIEND = new_id(), new_id(), new_id()
LEGS = "Beast Mode Legs"
CLOCK = itertools.count(1_700_000_000, 60)  # a minute between events, oldest first


# Helpers -------------------------------------------------------------------------------------

def event(kind: str, *, to=ME, frm=FRIEND, workout=LEGS, workout_kind="leg", challenge=None,
          **extra) -> dict:
    """Metadata of one `challenge_<kind>` event, newer than every event built before it.
    `workout_kind=None` leaves the kind out, as the log does for a workout of no known kind."""
    meta = {"event_type": f"challenge_{kind}", "from_user_id": frm, "to_user_id": to,
            "actor_id": to, "challenge_id": challenge or new_id(), "workout_name": workout,
            "workout_kind": workout_kind, "retry_number": 0, "created_at": float(next(CLOCK)),
            **extra}
    return {key: value for key, value in meta.items() if value is not None}


def finished(result: str, *, round: int = 1, progress: float | None = None, **kwargs) -> dict:
    """The challenged athlete's result ("won", "lost" or "quit") in `round` (1 is the original
    challenge); a quit `progress` of the way (from partial stats) when given."""
    retry = {"retry_number": round - 1}
    if result == "quit":
        return event("abandoned", quit_reason="Too hard for me", quit_progress=progress, **retry, **kwargs)
    return event("completed", did_beat=result == "won", **retry, **kwargs)


def results(*spec: str, **kwargs) -> list[dict]:
    """One finished event per result, oldest first: results("won", "quit")."""
    return [finished(result, **kwargs) for result in spec]


def comeback_wins(*rounds: int, **kwargs) -> list[dict]:
    return [finished("won", round=r, **kwargs) for r in rounds]


def retries(count: int, workout=LEGS, **kwargs) -> list[dict]:
    return [event("retried", workout=workout, **kwargs) for _ in range(count)]


def received(count: int, beat_this=False, **kwargs) -> list[dict]:
    """`count` challenges created for the user (by default plain ones, not BEAT THIS)."""
    return [event("created", beat_this=beat_this, **kwargs) for _ in range(count)]


def found(events: list[dict]):
    return outcomes(events, ME)


def texts(insights: list[dict]) -> list[str]:
    return [item["text"] for item in insights]


def ids(events: list[dict]) -> list[str]:
    return [e["challenge_id"] for e in events]


def newest_first(events: list[dict]) -> list[dict]:
    return list(reversed(events))


# ordinal -------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, expected", [
    (1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"),
    (21, "21st"), (22, "22nd"), (101, "101st"), (111, "111th"),
])
def test_ordinal(n, expected):
    assert ordinal(n) == expected


# retry_pattern -------------------------------------------------------------------------------

def test_retry_pattern_names_the_round_that_wins_more_than_half_of_the_comebacks():
    # Given three comeback wins, two of them in round 2
    wins = comeback_wins(2, 3, 2)

    # When the rule reads them
    result = retry_pattern(found(wins))

    # Then it names round 2, with the wins per round as evidence
    assert result["kind"] == "retry_pattern"
    assert result["text"] == ("You usually win on your 2nd attempt! "
                              "2 of your 3 comeback wins came in round 2.")
    assert result["evidence"]["comeback_wins"] == 3
    assert result["evidence"]["wins_by_round"] == {"2": 2, "3": 1}
    assert sorted(result["evidence"]["challenge_ids"]) == sorted(ids(wins))


def test_retry_pattern_needs_three_comeback_wins():
    # Given only two comeback wins, both in round 2
    # When the rule reads them
    # Then it says nothing
    assert retry_pattern(found(comeback_wins(2, 2))) is None


@pytest.mark.parametrize("rounds", [(2, 3, 4), (2, 2, 3, 3)])
def test_retry_pattern_needs_one_round_with_more_than_half_of_the_wins(rounds):
    # Given comeback wins spread so that no round holds more than half of them
    # When the rule reads them
    # Then it says nothing
    assert retry_pattern(found(comeback_wins(*rounds))) is None


def test_wins_on_the_original_challenge_are_not_comebacks():
    # Given two comeback wins in round 2, three wins on original challenges, and a retry lost
    events = [*comeback_wins(2, 2), *comeback_wins(1, 1, 1), finished("lost", round=2)]

    # When the rule reads them
    # Then only two comeback wins count: no insight
    assert retry_pattern(found(events)) is None


def test_wins_of_the_user_as_challenger_are_not_comebacks():
    # Given two comeback wins of the user, and two round-2 wins of a friend on the user's challenges
    events = [*comeback_wins(2, 2), *comeback_wins(2, 2, to=FRIEND, frm=ME)]

    # When the rule reads the user's outcomes
    # Then only the user's own two comeback wins count: no insight
    assert retry_pattern(found(events)) is None


# quit_pattern --------------------------------------------------------------------------------

def test_quitting_the_last_two_challenges_of_a_kind_is_a_quit_pattern():
    # Given a lost leg challenge, then two quits of two different leg workouts
    events = [finished("lost"), finished("quit", workout="Leg Day Destroyer"), finished("quit")]

    # When the rule reads them
    [result] = quit_patterns(found(events))

    # Then it counts the two quits, newest first
    assert result["kind"] == "quit_pattern"
    assert result["text"] == "You've quit the last 2 leg challenges."
    assert result["evidence"]["workout_kind"] == "leg"
    assert result["evidence"]["quits_in_a_row"] == 2
    assert result["evidence"]["challenge_ids"] == ids(newest_first(events[1:]))
    assert result["evidence"]["progress_at_quit"] == [None, None]


@pytest.mark.parametrize("progress, where", [
    ((0.5, 0.45), " at the halfway point"),
    ((0.1, 0.2), " early on"),
    ((0.9, 0.8), " close to the finish"),
    ((0.35, 0.65), " at the halfway point"),  # both edges of the halfway stage
    ((0.1, 0.5), ""),    # mixed stages: no stage named
    ((0.5, None), ""),   # one quit without partial stats: stage unknown
])
def test_quit_pattern_names_the_stage_when_every_quit_came_there(progress, where):
    # Given two leg quits, each `progress` of the way through
    events = [finished("quit", progress=p) for p in progress]

    # When the rule reads them
    [result] = quit_patterns(found(events))

    # Then the stage is named only when both quits came at the same one
    assert result["text"] == f"You've quit the last 2 leg challenges{where}."
    assert result["evidence"]["progress_at_quit"] == list(reversed(progress))


@pytest.mark.parametrize("history", [
    ("quit", "quit", "won"),    # the newest leg challenge was won
    ("quit", "quit", "lost"),   # the newest leg challenge was finished, though lost
    ("won", "quit"),            # a single quit
])
def test_no_quit_pattern_unless_the_newest_results_are_quits(history):
    # Given leg results, oldest first
    # When the rule reads them
    # Then it says nothing
    assert quit_patterns(found(results(*history))) == []


def test_quits_of_different_kinds_do_not_combine():
    # Given a leg quit and a cardio quit
    events = [finished("quit"), finished("quit", workout="Cardio Crusher", workout_kind="cardio")]

    # When the rule reads them
    # Then neither kind has two quits in a row
    assert quit_patterns(found(events)) == []


def test_workouts_of_no_known_kind_are_grouped_by_their_own_name():
    # Given two quits of "Sunday Funday" (no kind) and one of "Sunday Funday II" (no kind either)
    sunday = dict(workout="Sunday Funday", workout_kind=None)
    events = [finished("quit", **sunday), finished("quit", workout="Sunday Funday II", workout_kind=None),
              finished("quit", **sunday)]

    # When the rule reads them
    [result] = quit_patterns(found(events))

    # Then only the two of exactly that name count, labelled by the name
    assert result["text"] == "You've quit the last 2 'Sunday Funday' challenges."
    assert result["evidence"]["workout_kind"] == "'Sunday Funday'"
    assert result["evidence"]["challenge_ids"] == ids(newest_first([events[0], events[2]]))


# win_rate_by_kind ----------------------------------------------------------------------------

def test_win_rate_of_a_kind_with_five_finished_challenges():
    # Given four upper-body wins and one upper-body quit
    upper = dict(workout="Arm Blaster", workout_kind="upper-body")
    events = [*results("won", "won", "quit", "won", "won", **upper)]

    # When the rule reads them
    [result] = win_rates_by_kind(found(events))

    # Then the quit counts as finished, not as a win
    assert result["kind"] == "win_rate_by_kind"
    assert result["text"] == "80 % win rate on upper-body challenges (4 of 5)"
    assert (result["evidence"]["workout_kind"], result["evidence"]["wins"],
            result["evidence"]["finished"]) == ("upper-body", 4, 5)


def test_no_win_rate_below_five_finished_challenges():
    # Given four finished upper-body challenges
    events = results("won", "won", "won", "quit", workout="Arm Blaster", workout_kind="upper-body")

    # When the rule reads them
    # Then it says nothing
    assert win_rates_by_kind(found(events)) == []


def test_at_most_three_win_rates_highest_first():
    # Given five finished challenges of each of four kinds: 1, 3, 5 and 4 wins
    wins_by_kind = {"cardio": 1, "core": 3, "leg": 5, "upper-body": 4}
    events = [finished("won" if n < wins else "lost", workout=f"{kind} workout", workout_kind=kind)
              for kind, wins in wins_by_kind.items() for n in range(5)]

    # When the rule reads them
    # Then the three best kinds are given, best first
    assert texts(win_rates_by_kind(found(events))) == [
        "100 % win rate on leg challenges (5 of 5)",
        "80 % win rate on upper-body challenges (4 of 5)",
        "60 % win rate on core challenges (3 of 5)",
    ]


# persistence ---------------------------------------------------------------------------------

def test_persistence_counts_a_retry_in_progress():
    # Given three retries of Beast Mode Legs by the user, the latest not finished yet
    events = retries(3)

    # When the rule reads them
    result = persistence(events, ME)

    # Then it is the 3rd retry, still in progress
    assert result["kind"] == "persistence"
    assert result["text"] == "This is your 3rd retry for 'Beast Mode Legs'. Not giving up!"
    assert result["evidence"] == {"workout_name": LEGS, "retries": 3,
                                  "latest_challenge_id": events[-1]["challenge_id"], "in_progress": True}


@pytest.mark.parametrize("result", ["won", "lost", "quit"])
def test_persistence_counts_finished_retries(result):
    # Given three retries of Beast Mode Legs, the latest one then completed or abandoned
    events = retries(3)
    events.append(finished(result, round=4, challenge=events[-1]["challenge_id"]))

    # When the rule reads them
    insight = persistence(events, ME)

    # Then it counts the retries, none in progress
    assert insight["text"] == "You've retried 'Beast Mode Legs' 3 times. Not giving up!"
    assert (insight["evidence"]["retries"], insight["evidence"]["in_progress"]) == (3, False)


def test_no_persistence_with_two_retries():
    # Given two retries of Beast Mode Legs
    # When the rule reads them
    # Then it says nothing
    assert persistence(retries(2), ME) is None


def test_retries_of_different_workouts_do_not_add_up():
    # Given two retries of Beast Mode Legs and one of another leg workout
    events = [*retries(2), *retries(1, workout="Leg Day Destroyer")]

    # When the rule reads them
    # Then no workout was retried three times
    assert persistence(events, ME) is None


def test_persistence_is_about_the_workout_retried_last():
    # Given three retries of Beast Mode Legs, then one of Cardio Crusher
    legs = retries(3)
    events = [*legs, *retries(1, workout="Cardio Crusher", workout_kind="cardio")]

    # When the rule reads them, and again once Beast Mode Legs is retried once more
    before = persistence(events, ME)
    events += retries(1)
    after = persistence(events, ME)

    # Then it is quiet while Cardio Crusher is the latest, then counts the 4 Beast Mode Legs retries
    assert before is None
    assert after["text"] == "This is your 4th retry for 'Beast Mode Legs'. Not giving up!"


def test_retries_of_the_users_challenges_by_friends_are_not_the_users_persistence():
    # Given three retries by a friend of the user's Beast Mode Legs challenge
    # When the rule reads them for the user
    # Then it says nothing
    assert persistence(retries(3, to=FRIEND, frm=ME), ME) is None


# tough_benchmarks ----------------------------------------------------------------------------

def test_tough_benchmarks_when_the_users_challenges_are_retried_most():
    # Given three retries of the user's challenges, two and none of the friends'
    counts = {ME: 3, FRIEND: 2}

    # When the rule compares them
    result = tough_benchmarks(ME, [FRIEND, OTHER_FRIEND], counts)

    # Then the user sets tough benchmarks
    assert result["kind"] == "tough_benchmarks"
    assert result["text"] == ("Friends retry your workouts more than anyone's: you set tough benchmarks! "
                              "(3 retries of your challenges)")
    assert result["evidence"] == {"retries_of_your_challenges": 3, "friends_compared": 2}


@pytest.mark.parametrize("friend_ids, counts", [
    ([FRIEND, OTHER_FRIEND], {ME: 4, FRIEND: 4, OTHER_FRIEND: 1}),  # a friend ties
    ([], {ME: 5}),                                                   # no friends to compare with
    ([FRIEND], {ME: 2}),                                             # too few retries
])
def test_no_tough_benchmarks(friend_ids, counts):
    # Given the retries of the user's and friends' challenges
    # When the rule compares them
    # Then it says nothing
    assert tough_benchmarks(ME, friend_ids, counts) is None


# favourite_kind ------------------------------------------------------------------------------

def test_the_kind_friends_challenge_the_user_to_most():
    # Given three leg challenges and one cardio challenge received
    events = [*received(3), *received(1, workout_kind="cardio", workout="Cardio Crusher")]

    # When the rule reads them
    result = favourite_kind(events, ME)

    # Then legs are the favourite
    assert result["kind"] == "favourite_kind"
    assert result["text"] == ("Friends challenge you to leg workouts most: "
                              "3 of the 4 challenges you received.")
    assert result["evidence"] == {"workout_kind": "leg", "challenges": 3, "received": 4}


@pytest.mark.parametrize("events", [
    pytest.param(lambda: [*received(3), *received(3, workout_kind="cardio")], id="tied"),
    pytest.param(lambda: received(2), id="only-two"),
    pytest.param(lambda: [*received(2), *received(2, beat_this=True)], id="beat-this-not-counted"),
    pytest.param(lambda: [*received(2), *received(2, to=FRIEND, frm=ME)], id="sent-not-counted"),
])
def test_no_favourite_kind(events):
    # Given challenges the user received (and some that are not plain challenges received)
    # When the rule reads them
    # Then no kind stands out with three plain challenges received
    assert favourite_kind(events(), ME) is None


# encouragement -------------------------------------------------------------------------------

def test_encouragement_after_quits():
    # Given the user quit their last two leg challenges, both halfway through
    similar = found([finished("won"), finished("quit", progress=0.5), finished("quit", progress=0.4)])

    # When a new leg challenge comes
    result = encouragement(similar, "leg", LEGS)

    # Then the quits are named, with a push
    assert result["kind"] == "encouragement"
    assert result["text"].startswith("You've quit the last 2 leg challenges")
    assert result["text"].endswith("Let's push through this one together!")
    assert result["text"] == ("You've quit the last 2 leg challenges at the halfway point. "
                              "Let's push through this one together!")
    assert result["evidence"]["challenge_ids"] == [o.challenge_id for o in similar]


@pytest.mark.parametrize("history, beaten", [
    (("won", "lost", "won"), "2 of your last 3"),
    (("lost", "won", "quit", "won"), "2 of your last 4"),  # half of them is enough
    (("lost",) + ("won",) * 5, "5 of your last 5"),        # only the latest five count
])
def test_encouragement_after_wins(history, beaten):
    # Given the user won at least half of their latest leg challenges (oldest first)
    similar = found(results(*history))

    # When a new leg challenge comes
    # Then the wins are counted
    assert encouragement(similar, "leg", LEGS)["text"] == (
        f"You beat {beaten} leg challenges. You've got this!")


def test_encouragement_after_a_loss():
    # Given the user won one leg challenge, then lost the next
    similar = found(results("won", "lost"))

    # When a new leg challenge comes
    # Then the loss is named
    assert encouragement(similar, "leg", LEGS)["text"] == (
        "You fell short on your last leg challenge. This one is yours!")


@pytest.mark.parametrize("history", [(), ("lost",), ("quit",), ("lost", "won")])
def test_no_encouragement(history):
    # Given fewer than two results, or a single win as the latest of two
    # When a new leg challenge comes
    # Then there is no line
    assert encouragement(found(results(*history)), "leg", LEGS) is None


# user_insights -------------------------------------------------------------------------------

def test_a_user_with_no_events_has_no_insights():
    # Given a user with no events at all
    # When their insights are computed
    # Then there are none
    assert user_insights([], ME, [FRIEND], {}) == []


def test_a_rich_history_gives_each_kind_of_insight():
    # Given an upper-body record (4 of 5 won, three of them comebacks, two in round 2),
    upper = dict(workout="Arm Blaster", workout_kind="upper-body")
    events = [*comeback_wins(1, 2, 2, 3, **upper), finished("quit", **upper),
              # two leg quits in a row, a third retry of Arm Blaster in progress,
              *results("quit", "quit"), *retries(3, **upper),
              # three cardio challenges received, and a friend who retries less
              *received(3, workout="Cardio Crusher", workout_kind="cardio")]

    # When the user's insights are computed
    result = user_insights(events, ME, [FRIEND], {ME: 3, FRIEND: 1})

    # Then there is exactly one of each kind
    assert sorted(item["kind"] for item in result) == sorted([
        "retry_pattern", "quit_pattern", "win_rate_by_kind", "persistence", "tough_benchmarks",
        "favourite_kind"])
    assert "80 % win rate on upper-body challenges (4 of 5)" in texts(result)
