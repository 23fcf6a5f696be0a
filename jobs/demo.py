"""Demo data through the same rules the workers run: four friends, their workouts, and
challenges in every state the history screen shows (won, lost, quit, retried, pending, BEAT
THIS). Dan quits two leg workouts half-way, so his insights and Carol's pending leg challenge to
him have something to say. Coach Kim runs four community challenges the friends have joined,
with progress, milestones and one completed. Ids are fixed, so seeding twice changes nothing."""

import uuid

from core.db import Database
from core.rules.challenges import (abandon_challenge, accept_challenge, beat_this, complete_challenge,
                                create_challenges, retry_challenge)
from core.rules.community import create_community_challenge, join_community_challenge
from core.rules.friends import request_friendship, accept_friendship
from core.rules.habits import log_habit
from core.rules.users import update_profile
from core.rules.workouts import log_workout
from sql import queries

Q = queries("core")
DEMO = uuid.UUID("6f1d0c1e-0000-4000-8000-000000000000")
NAMES = ["Alice", "Bob", "Carol", "Dan"]
COACH = "Coach Kim"
COMMUNITY = {
    "workouts": dict(name="8 Workouts in 30 Days", challenge_type="workouts", target_value=8,
                     duration_days=30, points_reward=200,
                     description="Any workout counts. Eight in a month builds the habit."),
    "volume": dict(name="50,000 kg Club", challenge_type="volume", target_value=50000, duration_days=30,
                   points_reward=300, description="Lift fifty tonnes in thirty days.", max_participants=50),
    "water": dict(name="Hydration Habit", challenge_type="habit", habit_name="water", unit="glasses",
                  target_value=60, duration_days=30, description="Two glasses of water a day."),
    "weekend": dict(name="Weekend Warrior", challenge_type="duration", target_value=120, duration_days=7,
                    description="Two hours of training this week."),
}
# Who joins which community challenge, then what they log (in a later transaction, so after joining).
MEMBERS = {"workouts": ["Alice", "Bob", "Dan"], "volume": ["Alice", "Carol"], "water": ["Dan"],
           "weekend": ["Alice"]}
COMMUNITY_WORKOUTS = [("Bob", "Morning Run", 30, 0, "kg")] * 4 + [
    ("Alice", "Full Body Blast", 65, 3000, "kg"), ("Alice", "Full Body Blast", 65, 3000, "kg"),
    ("Carol", "Heavy Deadlifts", 50, 13000, "kg"), ("Carol", "Heavy Squats", 55, 13000, "kg"),
    ("Dan", "Easy Spin", 25, 0, "kg")]
COMMUNITY_HABITS = [("Dan", "water", 8)]


def demo_id(label: str) -> str:
    return str(uuid.uuid5(DEMO, label))


def seed_demo(settings) -> dict[str, str]:
    users = {name: demo_id(name) for name in NAMES}
    db = Database(settings.database_url, max_size=1)
    try:
        with db.connection() as conn:
            with conn.transaction():
                if not Q.user_exists(conn, user_id=users["Alice"]):
                    _seed(conn, users)
            _seed_community(conn, users)
    finally:
        db.close()
    return {**users, COACH: demo_id(COACH)}


def _seed(conn, users: dict[str, str]) -> None:
    alice, bob, carol, dan = (users[name] for name in NAMES)
    for name, user_id in users.items():
        update_profile(conn, user_id=user_id, display_name=name, timezone="Europe/London")
    for one, other in ((alice, bob), (alice, carol), (alice, dan), (bob, dan), (carol, dan)):
        request_friendship(conn, user_id=one, friend_id=other)
        accept_friendship(conn, user_id=other, requester_id=one)
    workouts = {
        "legs": (alice, "Beast Mode Legs", 35, 10000),
        "arms": (bob, "Arm Destroyer", 40, 6000),
        "push": (carol, "Push Day", 45, 8000),
        "squats": (bob, "Squat Sunday", 30, 9000),
        "leg-day": (carol, "Leg Day Destroyer", 40, 11000),
    }
    for label, (owner, name, minutes, volume) in workouts.items():
        log_workout(conn, user_id=owner, workout_log_id=demo_id(f"workout-{label}"),
                    activity_id=demo_id(f"activity-{label}"), workout_name=name,
                    duration_minutes=minutes, total_volume=volume, volume_unit="lb")
    legs = {friend: demo_id(f"legs-to-{friend}") for friend in (bob, carol, dan)}
    create_challenges(conn, user_id=alice, challenge_ids=list(legs.values()), to_user_ids=list(legs),
                      workout_log_id=demo_id("workout-legs"), message="Beat this if you can!")
    accept_challenge(conn, user_id=bob, challenge_id=legs[bob])
    complete_challenge(conn, user_id=bob, challenge_id=legs[bob], duration_minutes=28,
                       total_volume=12500, volume_unit="lb")
    accept_challenge(conn, user_id=carol, challenge_id=legs[carol])
    complete_challenge(conn, user_id=carol, challenge_id=legs[carol], duration_minutes=33,
                       total_volume=9000, volume_unit="lb")
    create_challenges(conn, user_id=bob, challenge_ids=[demo_id("arms-to-alice")], to_user_ids=[alice],
                      workout_log_id=demo_id("workout-arms"))
    accept_challenge(conn, user_id=dan, challenge_id=legs[dan])
    abandon_challenge(conn, user_id=dan, challenge_id=legs[dan], quit_reason="Too hard for me 😓",
                      partial_stats={"duration_minutes": 20, "total_volume": 4000, "volume_unit": "lb"})
    squats = demo_id("squats-to-dan")
    create_challenges(conn, user_id=bob, challenge_ids=[squats], to_user_ids=[dan],
                      workout_log_id=demo_id("workout-squats"))
    accept_challenge(conn, user_id=dan, challenge_id=squats)
    abandon_challenge(conn, user_id=dan, challenge_id=squats, quit_reason="Not feeling it today 😴",
                      partial_stats={"duration_minutes": 15, "total_volume": 4500, "volume_unit": "lb"})
    create_challenges(conn, user_id=carol, challenge_ids=[demo_id("leg-day-to-dan")], to_user_ids=[dan],
                      workout_log_id=demo_id("workout-leg-day"))
    retry_challenge(conn, user_id=carol, challenge_id=legs[carol], challenge_ids=[demo_id("legs-carol-round-2")])
    beat_this(conn, user_id=alice, activity_id=demo_id("activity-push"),
              challenge_ids=[demo_id("push-beat-this")])


def _seed_community(conn, users: dict[str, str]) -> None:
    """Coach Kim's challenges and the friends' progress. The logs come in a transaction after
    the joins, as they would in use: only activity after joining counts."""
    coach = demo_id(COACH)
    with conn.transaction():
        if Q.user_exists(conn, user_id=coach):
            return
        update_profile(conn, user_id=coach, display_name=COACH, timezone="Europe/London")
        for label, fields in COMMUNITY.items():
            create_community_challenge(conn, user_id=coach, community_challenge_id=demo_id(f"community-{label}"),
                                       **fields)
            for name in MEMBERS[label]:
                join_community_challenge(conn, user_id=users[name],
                                         community_challenge_id=demo_id(f"community-{label}"))
    with conn.transaction():
        if Q.get_workout_log(conn, id=demo_id("community-workout-0")):
            return
        for n, (name, workout, minutes, volume, unit) in enumerate(COMMUNITY_WORKOUTS):
            log_workout(conn, user_id=users[name], workout_log_id=demo_id(f"community-workout-{n}"),
                        activity_id=demo_id(f"community-activity-{n}"), workout_name=workout,
                        duration_minutes=minutes, total_volume=volume, volume_unit=unit)
        for n, (name, habit, value) in enumerate(COMMUNITY_HABITS):
            log_habit(conn, user_id=users[name], habit_log_id=demo_id(f"community-habit-{n}"),
                      habit_name=habit, value=value)
