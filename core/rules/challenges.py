"""Friend challenges, the whole lifecycle. Every rule is checked again here, under a row
lock, because the state may have changed since the API looked."""

import uuid

from psycopg.types.json import Jsonb

from core.commands import CommandRejected
from core.rules.challenge_access import check_access, check_latest_round
from core.rules.ratings import rate_settled_challenge
from core.settings import Settings
from sql import queries

Q = queries("core")
# The shipped settings; the actors pass the configured ones (workers/challenges.py).
TTL_SECONDS = Settings.challenge_ttl_seconds
AUTO_POST_TO_FEED = Settings.auto_post_to_feed
KG_PER_LB = 0.45359237
MAX_RECIPIENTS = 20
# The reasons the app offers when an athlete quits (GET /challenges/quit-reasons); a custom one is
# counted with the preset nearest in meaning, or as 'other' (core/quit_reasons.py).
QUIT_REASONS = ("Too hard for me 😓", "Not feeling it today 😴", "This is impossible 😭",
                "I give up 🏳️", "Maybe next time 😅", "I'm not ready yet 🙈")


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


def target_of(workout: dict) -> dict:
    return workout_stats(workout["duration_minutes"], workout["total_volume"], workout["volume_unit"])


def insert_challenge(conn, *, challenge_id: str, from_user_id: str, to_user_id: str,
                     workout_log_id: str | None, workout_name: str, target: dict, status: str,
                     message: str | None, ttl_seconds: int, activity_id: str | None = None,
                     retried_from: str | None = None) -> None:
    Q.insert_challenge(conn, id=challenge_id, from_user_id=from_user_id, to_user_id=to_user_id,
                       workout_log_id=workout_log_id, activity_id=activity_id,
                       workout_name=workout_name, workout_data=Jsonb(target),
                       challenge_message=message, status=status,
                       ttl_seconds=ttl_seconds,
                       retried_from_challenge_id=retried_from)


def require_friends(conn, a: str, b: str) -> None:
    if not Q.are_friends(conn, a=a, b=b):
        raise CommandRejected("not_friends", "Challenges are only between friends.", 403)


def create_challenges(conn, *, user_id: str, challenge_ids: list[str], to_user_ids: list[str],
                      workout_log_id: str, message: str | None = None,
                      ttl_seconds: int = TTL_SECONDS) -> dict:
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
        require_friends(conn, user_id, friend_id)
    for challenge_id, friend_id in zip(challenge_ids, to_user_ids):
        insert_challenge(conn, challenge_id=challenge_id, from_user_id=user_id, to_user_id=friend_id,
                         workout_log_id=workout_log_id, workout_name=workout["workout_name"],
                         target=target_of(workout), status="pending", message=message,
                         ttl_seconds=ttl_seconds)
    return {"challenge_ids": challenge_ids, "status": "pending"}


def can_see_post(conn, post: dict, user_id: str) -> bool:
    """The feed's visibility rule, for the workers, who read past Row Level Security."""
    author = str(post["user_id"])
    return (author == user_id or post["visibility"] == "public"
            or (post["visibility"] == "friends" and Q.are_friends(conn, a=author, b=user_id)))


def beat_this(conn, *, user_id: str, activity_id: str, challenge_ids: list[str],
              message: str | None = None, ttl_seconds: int = TTL_SECONDS) -> dict:
    """BEAT THIS: the caller takes on a friend's workout post; the challenge starts accepted."""
    post = Q.get_activity(conn, id=activity_id)
    if post is None or not can_see_post(conn, post, user_id):
        raise CommandRejected("not_found", "No such post in your feed.", 404)
    author = str(post["user_id"])
    if author == user_id:
        raise CommandRejected("self_challenge", "You cannot challenge your own workout.", 422)
    if post["activity_type"] != "workout_completed" or post["workout_log_id"] is None:
        raise CommandRejected("not_a_workout", "Only workout posts can be beaten.", 422)
    require_friends(conn, author, user_id)
    if Q.beat_this_taken(conn, activity_id=activity_id, user_id=user_id):
        raise CommandRejected("already_challenged",
                              "You already took on this workout; retry that challenge instead.")
    workout = Q.get_workout_log(conn, id=str(post["workout_log_id"]))
    (challenge_id,) = challenge_ids
    insert_challenge(conn, challenge_id=challenge_id, from_user_id=author, to_user_id=user_id,
                     workout_log_id=str(workout["id"]), workout_name=workout["workout_name"],
                     target=target_of(workout), status="accepted", message=message,
                     ttl_seconds=ttl_seconds, activity_id=activity_id)
    return {"challenge_ids": challenge_ids, "status": "accepted"}


def _lock_for(conn, challenge_id: str, user_id: str, *, status: str | tuple[str, ...],
              side: str = "to_user_id") -> dict:
    """The challenge, locked, if `user_id` may act on it (see `check_access`)."""
    challenge = Q.lock_challenge(conn, id=challenge_id)
    withdrawn = challenge is None and Q.get_withdrawn_challenge(conn, id=challenge_id)
    return check_access(challenge, withdrawn, user_id, status=status, side=side)


def accept_challenge(conn, *, user_id: str, challenge_id: str) -> dict:
    challenge = _lock_for(conn, challenge_id, user_id, status="pending")
    require_friends(conn, user_id, str(challenge["from_user_id"]))
    accepted = Q.accept_challenge(conn, id=challenge_id)
    return {"challenge_id": challenge_id, "status": accepted["status"]}


def decline_challenge(conn, *, user_id: str, challenge_id: str) -> dict:
    _lock_for(conn, challenge_id, user_id, status="pending")
    Q.decline_challenge(conn, id=challenge_id)
    return {"challenge_id": challenge_id, "status": "declined"}


def abandon_challenge(conn, *, user_id: str, challenge_id: str, quit_reason: str,
                      partial_stats: dict | None = None) -> dict:
    """Quit an accepted challenge; the trigger tells the challenger, reason included."""
    challenge = _lock_for(conn, challenge_id, user_id, status="accepted")
    partial = partial_stats and Jsonb(workout_stats(**partial_stats))
    rating_change, rating_seq = rate_settled_challenge(conn, challenge, challenged_won=False)
    abandoned = Q.abandon_challenge(conn, id=challenge_id, quit_reason=quit_reason, partial_stats=partial,
                                    quit_category=quit_reason if quit_reason in QUIT_REASONS else None,
                                    rating_change=Jsonb(rating_change), rating_seq=rating_seq)
    return {"challenge_id": challenge_id, "status": "abandoned", "quit_reason": abandoned["quit_reason"],
            "partial_stats": abandoned["partial_stats"], "rating_change": rating_change}


def delete_challenge(conn, *, user_id: str, challenge_id: str) -> dict:
    _lock_for(conn, challenge_id, user_id, status="pending", side="from_user_id")
    Q.delete_challenge(conn, id=challenge_id)
    return {"challenge_id": challenge_id, "status": "withdrawn"}


def retry_challenge(conn, *, user_id: str, challenge_id: str, challenge_ids: list[str],
                    message: str | None = None, ttl_seconds: int = TTL_SECONDS) -> dict:
    """A rematch against the same target, linked to the round it follows."""
    original = _lock_for(conn, challenge_id, user_id, status=("completed", "abandoned"))
    check_latest_round(original)
    challenger = str(original["from_user_id"])
    require_friends(conn, user_id, challenger)
    round_number = Q.retry_round(conn, id=challenge_id)
    (rematch_id,) = challenge_ids
    insert_challenge(conn, challenge_id=rematch_id, from_user_id=challenger, to_user_id=user_id,
                     workout_log_id=original["workout_log_id"] and str(original["workout_log_id"]),
                     workout_name=original["workout_name"], target=original["workout_data"],
                     status="accepted", message=message or f"Round {round_number}! 💪",
                     ttl_seconds=ttl_seconds,
                     activity_id=original["activity_id"] and str(original["activity_id"]),
                     retried_from=challenge_id)
    return {"challenge_ids": challenge_ids, "status": "accepted", "retried_from_challenge_id": challenge_id,
            "round": round_number}


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
                       auto_post_to_feed: bool = AUTO_POST_TO_FEED) -> dict:
    challenge = _lock_for(conn, challenge_id, user_id, status="accepted")
    attempt = workout_stats(duration_minutes, total_volume, volume_unit)
    beat = did_beat(attempt, challenge["workout_data"])
    rating_change, rating_seq = rate_settled_challenge(conn, challenge, challenged_won=beat)
    completed = Q.complete_challenge(conn, id=challenge_id, challenged_stats=Jsonb(attempt), did_beat=beat,
                                     rating_change=Jsonb(rating_change), rating_seq=rating_seq)
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
            "challenged_stats": completed["challenged_stats"], "activity_id": activity_id,
            "rating_change": rating_change}
