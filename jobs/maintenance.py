"""The scheduler's jobs as plain functions on a connection, so tests call them directly."""

from functools import partial

from sql import queries

Q = queries("jobs")
EXPIRY_BATCH = 500
SWEEP_BATCH = 1000
PRUNE_BATCH = 5000


def in_batches(conn, batch_query, batch_size: int) -> int:
    """Run `batch_query` (which changes at most `batch_size` rows and returns them), one
    committed transaction per batch, until a batch comes back short; the rows changed."""
    changed = 0
    while True:
        with conn.transaction():
            batch = len(list(batch_query(conn, batch_size=batch_size)))
        changed += batch
        if batch < batch_size:
            return changed


def expire_due_challenges(conn, batch_size: int = EXPIRY_BATCH) -> int:
    """Expire every pending challenge past `expires_at`; the trigger tells each challenger
    (`challenge_expired`) in the same transaction."""
    return in_batches(conn, Q.expire_due_challenges, batch_size)


def close_ended_community_challenges(conn, batch_size: int = EXPIRY_BATCH) -> int:
    """Close every community challenge whose window has ended; participations below 100 %
    become `ended`."""
    return in_batches(conn, Q.close_ended_community_challenges, batch_size)


def prune_finished_commands(conn, retention_seconds: int, batch_size: int = PRUNE_BATCH) -> int:
    """Forget command outcomes and withdrawal tombstones older than `retention_seconds`. They
    only matter while a message could still be redelivered (seconds to minutes after a worker
    dies), so the default week and a day is generous."""
    pruned = in_batches(conn, partial(Q.prune_processed_commands, retention_seconds=retention_seconds),
                        batch_size)
    with conn.transaction():
        pruned += Q.prune_withdrawn_challenges(conn, retention_seconds=retention_seconds)
    return pruned


def stale_unpublished_events(conn, grace_seconds: int, limit: int = SWEEP_BATCH) -> list[str]:
    """Events still unpublished after `grace_seconds`: their worker died between commit and
    publishing (a live worker publishes within milliseconds)."""
    with conn.transaction():
        return [str(row["id"]) for row in Q.stale_unpublished_events(conn, grace_seconds=grace_seconds,
                                                                     limit=limit)]


def stale_unindexed_events(conn, grace_seconds: int, limit: int = SWEEP_BATCH) -> list[str]:
    """Published events not in the event log after `grace_seconds`: ChromaDB was down, or
    their indexer gave up. Unpublished ones are indexed after `events.publish` publishes them."""
    with conn.transaction():
        return [str(row["id"]) for row in Q.stale_unindexed_events(conn, grace_seconds=grace_seconds,
                                                                   limit=limit)]
