"""Rows made through the worker rules themselves, on a test connection."""

import uuid

from core.rules.challenges import accept_challenge, create_challenges
from core.rules.friends import accept_friendship, request_friendship
from core.rules.users import update_profile
from core.rules.workouts import log_workout


def new_id() -> str:
    return str(uuid.uuid4())


def user(conn, name: str) -> str:
    user_id = new_id()
    update_profile(conn, user_id=user_id, display_name=name)
    return user_id


def friends(conn, a: str, b: str) -> None:
    request_friendship(conn, user_id=a, friend_id=b)
    accept_friendship(conn, user_id=b, requester_id=a)


def workout(conn, owner: str, minutes=30, volume=10000, unit="lb", name="Beast Mode Legs") -> str:
    workout_id = new_id()
    log_workout(conn, user_id=owner, workout_log_id=workout_id, activity_id=new_id(),
                workout_name=name, duration_minutes=minutes, total_volume=volume, volume_unit=unit)
    return workout_id


def pending_challenge(conn, sender: str, recipient: str, **workout_stats) -> str:
    challenge_id = new_id()
    create_challenges(conn, user_id=sender, challenge_ids=[challenge_id], to_user_ids=[recipient],
                      workout_log_id=workout(conn, sender, **workout_stats))
    return challenge_id


def accepted_challenge(conn, sender: str, recipient: str, **workout_stats) -> str:
    challenge_id = pending_challenge(conn, sender, recipient, **workout_stats)
    accept_challenge(conn, user_id=recipient, challenge_id=challenge_id)
    return challenge_id


def pair(conn) -> tuple[str, str]:
    """Two friends, John (the challenger) and Sarah."""
    john, sarah = user(conn, "John"), user(conn, "Sarah")
    friends(conn, john, sarah)
    return john, sarah


def published(conn) -> None:
    """Every event as a worker leaves it once published: ready for the event log's indexer."""
    conn.execute("UPDATE events SET published_at = now() WHERE published_at IS NULL")
    conn.commit()
