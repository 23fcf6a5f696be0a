"""The kinds classifier (core/workout_kinds.py) on the fifty workout names strength apps log
most, through the real model and the session's ChromaDB: each name with the kind a lifter would
give it. The names it cannot get right are KNOWN_WRONG, each with the reason (docs/event-log.md
lists them); the table fails when one of them starts coming out right, so the set stays true.
And what issue 25 noticed: quitting Leg Press challenges is quitting leg challenges."""

import uuid

import pytest

from core.embeddings import MiniLMEmbedding
from core.event_log import EventLog, index_pending
from core.insights import encouragement_for, insights_for
from tests.api.test_insights import HALFWAY, played
from tests.conftest import SETTINGS
from tests.core.rules.factories import friends, pending_challenge, published, user

LEG, UPPER, CORE, CARDIO, FULL = "leg", "upper-body", "core", "cardio", "full-body"

COMMON_WORKOUTS = {
    # lower body
    "Squat": LEG, "Front Squat": LEG, "Goblet Squat": LEG, "Hack Squat": LEG,
    "Bulgarian Split Squat": LEG, "Deadlift": LEG, "Romanian Deadlift": LEG, "Leg Press": LEG,
    "Leg Extension": LEG, "Leg Curl": LEG, "Lunges": LEG, "Step-ups": LEG, "Hip Thrust": LEG,
    "Glute Bridge": LEG, "Calf Raises": LEG, "Box Jumps": LEG,
    # upper body
    "Bench Press": UPPER, "Incline Bench Press": UPPER, "Overhead Press": UPPER,
    "Shoulder Press": UPPER, "Lateral Raises": UPPER, "Chest Fly": UPPER, "Push-ups": UPPER,
    "Dips": UPPER, "Pull-ups": UPPER, "Lat Pulldown": UPPER, "Barbell Row": UPPER,
    "Dumbbell Row": UPPER, "Face Pulls": UPPER, "Bicep Curls": UPPER, "Hammer Curls": UPPER,
    "Tricep Extensions": UPPER,
    # core
    "Plank": CORE, "Crunches": CORE, "Sit-ups": CORE, "Russian Twists": CORE,
    "Hanging Leg Raises": CORE,
    # cardio
    "Running 5k": CARDIO, "Rowing": CARDIO, "Cycling": CARDIO, "Swimming": CARDIO,
    "Jump Rope": CARDIO, "Treadmill Intervals": CARDIO, "Stair Climber": CARDIO,
    "Elliptical": CARDIO,
    # full body
    "Burpees": FULL, "Kettlebell Swings": FULL, "Thrusters": FULL, "Clean and Jerk": FULL,
    "Mountain Climbers": FULL,
}

# What the classifier gives instead, and why (all-MiniLM-L6-v2 reads words, not exercises). An
# example that would get them right pulls names of no kind into one, which is worse than a
# workout counted under its own name: "russian twists" puts "Twist and Shout" in core (0.45),
# "box jumps" puts "Jumping Jack Flash" and "Jump Start" in leg, "mountain climbers" puts
# "Climb Every Mountain" in full-body (0.32).
KNOWN_WRONG = {
    "Russian Twists": (None, "no example within 0.5 (nearest 0.65); an example for it pulls 'Twist and Shout'"),
    "Box Jumps": (None, "no example within 0.5 (nearest 0.60); an example for it pulls 'Jump Start'"),
    "Mountain Climbers": (CARDIO, "nearest example is 'stair climber' (0.37): the word, not the move"),
}


@pytest.fixture(scope="module")
def kinds():
    """Every name of the table through a new event log's kinds collection (its own, removed
    afterwards), as the indexer looks them up."""
    log = EventLog(SETTINGS.chroma_url, f"kinds-table-{uuid.uuid4().hex[:8]}", MiniLMEmbedding)
    try:
        yield log.workout_kinds(COMMON_WORKOUTS)
    finally:
        log.reset()


@pytest.fixture
def event_log():
    log = EventLog(SETTINGS.chroma_url, f"kinds-insights-{uuid.uuid4().hex[:8]}", MiniLMEmbedding)
    yield log
    log.reset()


def test_the_table_holds_fifty_common_workouts_and_every_known_miss_is_in_it():
    assert len(COMMON_WORKOUTS) == 50
    assert KNOWN_WRONG.keys() <= COMMON_WORKOUTS.keys()


@pytest.mark.parametrize("name", sorted(COMMON_WORKOUTS.keys() - KNOWN_WRONG.keys()))
def test_a_common_workout_is_the_kind_a_lifter_would_give_it(kinds, name):
    # Given a workout name strength apps log often
    # When the classifier looks it up
    # Then it is the kind a lifter would say
    assert kinds[name] == COMMON_WORKOUTS[name]


@pytest.mark.parametrize("name", sorted(KNOWN_WRONG))
def test_a_known_miss_is_still_missed_as_documented(kinds, name):
    # Given a name the classifier is documented to get wrong
    # When it is looked up
    # Then it still comes out as documented (if it is right now, take it out of KNOWN_WRONG
    # and docs/event-log.md)
    got, reason = KNOWN_WRONG[name]
    assert kinds[name] == got != COMMON_WORKOUTS[name], reason


def test_leg_presses_are_leg_workouts_whatever_they_are_called(event_log):
    # Given leg press challenges named as people name them, and presses of the upper body
    names = {"Leg Press": LEG, "Leg Press Challenge": LEG, "Heavy Leg Press": LEG, "Leg Press PR": LEG,
             "Bench Press": UPPER, "Shoulder Press": UPPER, "Overhead Press": UPPER}

    # When their kinds are looked up
    # Then a leg press is a leg workout, and the other presses are still upper-body
    assert event_log.workout_kinds(names) == names


def test_quitting_leg_press_twice_is_quitting_leg_challenges(conn, event_log):
    # Given Sarah quit John's last two Leg Press challenges half-way, and John sends her another
    sarah, john = user(conn, "Sarah"), user(conn, "John")
    friends(conn, john, sarah)
    played(conn, john, sarah, "Leg Press", "quit", partial=HALFWAY)
    played(conn, john, sarah, "Leg Press", "quit", partial=HALFWAY)
    pending_challenge(conn, john, sarah, name="Leg Press")
    conn.commit()
    published(conn)
    index_pending(conn, event_log, batch_size=100)

    # When she reads her insights, and opens the new Leg Press challenge
    quits = [i["text"] for i in insights_for(event_log, sarah, [john]) if i["kind"] == "quit_pattern"]
    encouragement = encouragement_for(event_log, sarah, "Leg Press")

    # Then both speak of leg challenges, not upper-body ones
    assert quits == ["You've quit the last 2 leg challenges at the halfway point."]
    assert encouragement["text"] == ("You've quit the last 2 leg challenges at the halfway point. "
                                     "Let's push through this one together!")
