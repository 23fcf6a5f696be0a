"""The scheduler's jobs as plain functions on a connection, so tests call them directly."""

from sql import queries

Q = queries("jobs")
EXPIRY_BATCH = 500
SWEEP_BATCH = 1000


def expire_due_challenges(conn, batch_size: int = EXPIRY_BATCH) -> int:
    """Expire every pending challenge past `expires_at`, one committed batch at a time; the
    trigger tells each challenger (`challenge_expired`) in the same transaction."""
    expired = 0
    while True:
        with conn.transaction():
            batch = len(list(Q.expire_due_challenges(conn, batch_size=batch_size)))
        expired += batch
        if batch < batch_size:
            return expired


def refresh_leaderboard(conn) -> None:
    """CONCURRENTLY keeps the leaderboard readable during the refresh (it has a unique index)."""
    with conn.transaction():
        Q.refresh_leaderboard(conn)
        Q.mark_leaderboard_refreshed(conn)


def stale_unpublished_events(conn, grace_seconds: int, limit: int = SWEEP_BATCH) -> list[str]:
    """Events still unpublished after `grace_seconds`: their worker died between commit and
    publishing (a live worker publishes within milliseconds)."""
    with conn.transaction():
        return [str(row["id"]) for row in Q.stale_unpublished_events(conn, grace_seconds=grace_seconds,
                                                                     limit=limit)]
