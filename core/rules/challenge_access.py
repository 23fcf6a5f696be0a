"""Who may do what to a challenge, and in which state: one rule for the API's early answer
(read under Row Level Security) and the worker's final one (under a row lock)."""

from core.commands import CommandRejected


def check_access(challenge: dict | None, withdrawn: dict | None, user_id: str, *,
                 status: str | tuple[str, ...], side: str = "to_user_id") -> dict:
    """`challenge` if `user_id` is on its `side` and it is in `status` (and, when pending, not
    past its expiry); `withdrawn` is its tombstone when the sender deleted it."""
    statuses = (status,) if isinstance(status, str) else status
    if challenge is None and withdrawn and user_id in (str(withdrawn["from_user_id"]),
                                                       str(withdrawn["to_user_id"])):
        raise CommandRejected("invalid_state", "The sender withdrew this challenge.")
    if challenge is None or user_id not in (str(challenge["from_user_id"]), str(challenge["to_user_id"])):
        raise CommandRejected("not_found", "No such challenge.", 404)
    if str(challenge[side]) != user_id:
        who = "challenged user" if side == "to_user_id" else "sender"
        raise CommandRejected("forbidden", f"Only the {who} can do this.", 403)
    if challenge["status"] not in statuses:
        raise CommandRejected("invalid_state",
                              f"The challenge is {challenge['status']}, not {' or '.join(statuses)}.")
    if challenge["status"] == "pending" and challenge["is_expired"]:
        raise CommandRejected("invalid_state", "The challenge has expired.")
    return challenge


def check_latest_round(challenge: dict) -> None:
    """Only the latest round of a retry chain can be retried, so a chain never forks."""
    if challenge["retry_count"]:
        raise CommandRejected("invalid_state", "This round was already retried; retry the latest round.")
