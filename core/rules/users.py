"""Profiles. A user row appears with a caller's first command; PUT /me fills it in."""

from sql import queries

Q = queries("core")


def update_profile(conn, *, user_id: str, **changes) -> dict:
    """Only the fields the caller sent change; `avatar_url: null` clears the avatar."""
    profile = Q.upsert_profile(conn, user_id=user_id, display_name=changes.get("display_name"),
                               avatar_url=changes.get("avatar_url"),
                               avatar_url_given="avatar_url" in changes,
                               timezone=changes.get("timezone"))
    return {"user": dict(profile)}
