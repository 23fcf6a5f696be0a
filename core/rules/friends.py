"""Friendships: a request, its acceptance, and unfriending (which never erases history)."""

from core.commands import CommandRejected
from sql import queries

Q = queries("core")


def request_friendship(conn, *, user_id: str, friend_id: str) -> dict:
    """Ask `friend_id` to be friends; if they already asked us, this accepts their request."""
    if user_id == friend_id:
        raise CommandRejected("validation_error", "You cannot befriend yourself.", 422)
    if not Q.user_exists(conn, user_id=friend_id):
        raise CommandRejected("not_found", "No such user.", 404)
    existing = Q.lock_friendship(conn, a=user_id, b=friend_id)
    if existing is None:
        Q.insert_friend_request(conn, requester_id=user_id, addressee_id=friend_id)
        return {"friend_id": friend_id, "status": "pending"}
    if existing["status"] == "accepted":
        raise CommandRejected("invalid_state", "You are already friends.")
    if str(existing["requester_id"]) == user_id:
        raise CommandRejected("invalid_state", "You have already sent this request.")
    Q.accept_friend_request(conn, requester_id=friend_id, addressee_id=user_id)
    return {"friend_id": friend_id, "status": "accepted"}


def accept_friendship(conn, *, user_id: str, requester_id: str) -> dict:
    existing = Q.lock_friendship(conn, a=user_id, b=requester_id)
    if existing is None or str(existing["requester_id"]) != requester_id:
        raise CommandRejected("not_found", "No friend request from this user.", 404)
    if existing["status"] == "accepted":
        raise CommandRejected("invalid_state", "You are already friends.")
    Q.accept_friend_request(conn, requester_id=requester_id, addressee_id=user_id)
    return {"friend_id": requester_id, "status": "accepted"}


def remove_friendship(conn, *, user_id: str, friend_id: str) -> dict:
    if Q.lock_friendship(conn, a=user_id, b=friend_id) is None:
        raise CommandRejected("not_found", "You are not friends with this user.", 404)
    Q.delete_friendship(conn, a=user_id, b=friend_id)
    return {"friend_id": friend_id, "status": "removed"}
