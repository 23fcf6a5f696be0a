"""Friend challenges: create, accept, complete. Every rule is checked again here, under a row
lock, because the state may have changed since the API looked."""

import uuid

from psycopg.types.json import Jsonb

from sql import queries
from workers.broker import command
from workers.commands import CommandRejected
from workers.runtime import settings

Q = queries("workers")
KG_PER_LB = 0.45359237
MAX_RECIPIENTS = 20


def to_kg(volume: float, unit: str) -> float:
    return volume if unit == "kg" else volume * KG_PER_LB


def did_beat(attempt: dict, target: dict) -> bool:
    """The challenged wins only by being as fast or faster AND lifting as much or more."""
    return (attempt["duration_minutes"] <= target["duration_minutes"]
            and to_kg(attempt["total_volume"], attempt["volume_unit"])
            >= to_kg(target["total_volume"], target["volume_unit"]) - 1e-9)


def workout_stats(duration_minutes: float, total_volume: float, volume_unit: str) -> dict:
    return {"duration_minutes": duration_minutes, "total_volume": total_volume,
            "volume_unit": volume_unit, "total_volume_kg": round(to_kg(total_volume, volume_unit), 3)}


def create_challenges(conn, *, user_id: str, challenge_ids: list[str], to_user_ids: list[str],
                      workout_log_id: str, message: str | None = None,
                      ttl_seconds: int = settings.challenge_ttl_seconds) -> dict:
    """Challenge each friend in `to_user_ids` to beat one of the caller's logged workouts."""
    if not 1 <= len(to_user_ids) <= MAX_RECIPIENTS or len(set(to_user_ids)) != len(to_user_ids):
        raise CommandRejected("validation_error", "to_user_ids must be 1 to 20 distinct users.", 422)
    if len(challenge_ids) != len(to_user_ids):
        raise CommandRejected("validation_error", "One challenge id per recipient is required.", 422)
    if user_id in to_user_ids:
        raise CommandRejected("self_challenge", "You cannot challenge yourself.", 422)
    workout = Q.get_workout_log(conn, id=workout_log_id)
    if workout is None or str(workout["user_id"]) != user_id:
        raise CommandRejected("not_found", "No such workout log of yours.", 404)
    for friend_id in to_user_ids:
        if not Q.are_friends(conn, a=user_id, b=friend_id):
            raise CommandRejected("not_friends", "You can only challenge your friends.", 403)
    target = Jsonb(workout_stats(workout["duration_minutes"], workout["total_volume"],
                                 workout["volume_unit"]))
    for challenge_id, friend_id in zip(challenge_ids, to_user_ids):
        Q.insert_challenge(conn, id=challenge_id, from_user_id=user_id, to_user_id=friend_id,
                           workout_log_id=workout_log_id, activity_id=None,
                           workout_name=workout["workout_name"], workout_data=target,
                           challenge_message=message, status="pending", ttl_seconds=ttl_seconds)
    return {"challenge_ids": challenge_ids, "status": "pending"}


def _lock_for(conn, challenge_id: str, user_id: str, *, status: str) -> dict:
    """The challenge, locked, if `user_id` is the challenged side and it is in `status`."""
    challenge = Q.lock_challenge(conn, id=challenge_id)
    if challenge is None or user_id not in (str(challenge["from_user_id"]), str(challenge["to_user_id"])):
        raise CommandRejected("not_found", "No such challenge.", 404)
    if str(challenge["to_user_id"]) != user_id:
        raise CommandRejected("forbidden", "Only the challenged user can do this.", 403)
    if challenge["status"] != status:
        raise CommandRejected("invalid_state", f"The challenge is {challenge['status']}, not {status}.")
    return challenge


def accept_challenge(conn, *, user_id: str, challenge_id: str) -> dict:
    challenge = _lock_for(conn, challenge_id, user_id, status="pending")
    if challenge["is_expired"]:
        raise CommandRejected("invalid_state", "The challenge has expired.")
    if not Q.are_friends(conn, a=user_id, b=str(challenge["from_user_id"])):
        raise CommandRejected("not_friends", "You can only accept challenges from friends.", 403)
    accepted = Q.accept_challenge(conn, id=challenge_id)
    return {"challenge_id": challenge_id, "status": accepted["status"]}


def result_post(challenge: dict, challenger_name: str, attempt: dict, beat: bool) -> dict:
    """The seed's feed payload, volumes in the unit the challenged athlete logged."""
    target = challenge["workout_data"]
    their_volume = round(to_kg(target["total_volume"], target["volume_unit"])
                         / to_kg(1, attempt["volume_unit"]), 2)
    return {
        "workout_name": challenge["workout_name"],
        "challenger_name": challenger_name,
        "challenger_id": str(challenge["from_user_id"]),
        "challenge_id": str(challenge["id"]),
        "did_beat": beat,
        "your_duration": attempt["duration_minutes"],
        "your_volume": attempt["total_volume"],
        "their_duration": target["duration_minutes"],
        "their_volume": their_volume,
        "volume_unit": attempt["volume_unit"],
        "time_difference": round(target["duration_minutes"] - attempt["duration_minutes"], 2),
        "volume_difference": round(attempt["total_volume"] - their_volume, 2),
    }


def complete_challenge(conn, *, user_id: str, challenge_id: str, duration_minutes: float,
                       total_volume: float, volume_unit: str = "lb",
                       auto_post_to_feed: bool = settings.auto_post_to_feed) -> dict:
    challenge = _lock_for(conn, challenge_id, user_id, status="accepted")
    attempt = workout_stats(duration_minutes, total_volume, volume_unit)
    beat = did_beat(attempt, challenge["workout_data"])
    completed = Q.complete_challenge(conn, id=challenge_id, challenged_stats=Jsonb(attempt), did_beat=beat)
    activity_id = None
    if auto_post_to_feed:
        activity_id = str(uuid.uuid4())
        challenger_name = Q.get_display_name(conn, user_id=str(challenge["from_user_id"]))
        Q.insert_activity(conn, id=activity_id, user_id=user_id,
                          activity_type="challenge_victory" if beat else "challenge_completed",
                          workout_log_id=None, visibility="friends",
                          activity_data=Jsonb(result_post(challenge, challenger_name, attempt, beat)))
    return {"challenge_id": challenge_id, "status": "completed", "did_beat": beat,
            "result": "victory" if beat else "failed",
            "challenger_stats": completed["challenger_stats"],
            "challenged_stats": completed["challenged_stats"], "activity_id": activity_id}


create = command("challenges.create", create_challenges)
accept = command("challenges.accept", accept_challenge)
complete = command("challenges.complete", complete_challenge)
