"""Demo data through the same rules the workers run: four friends, their workouts, and
challenges in every state the history screen shows (won, lost, quit, retried, pending, BEAT
THIS). Dan quits two leg workouts half-way, so his insights and Carol's pending leg challenge to
him have something to say. Ids are fixed, so seeding twice changes nothing."""

import uuid

from sql import queries
from jobs.maintenance import refresh_leaderboard
from workers.challenges import (abandon_challenge, accept_challenge, beat_this, complete_challenge,
                                create_challenges, retry_challenge)
from workers.db import Database
from workers.friends import request_friendship, accept_friendship
from workers.users import update_profile
from workers.workouts import log_workout

DEMO = uuid.UUID("6f1d0c1e-0000-4000-8000-000000000000")
NAMES = ["Alice", "Bob", "Carol", "Dan"]


def demo_id(label: str) -> str:
    return str(uuid.uuid5(DEMO, label))


def seed_demo(settings) -> dict[str, str]:
    users = {name: demo_id(name) for name in NAMES}
    db = Database(settings.database_url, max_size=1)
    try:
        with db.connection() as conn, conn.transaction():
            if queries("workers").user_exists(conn, user_id=users["Alice"]):
                return users
            _seed(conn, users)
        with db.connection() as conn:
            refresh_leaderboard(conn)
    finally:
        db.close()
    return users


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
