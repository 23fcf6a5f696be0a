"""The scheduler's leaderboard jobs: close the seasons that have ended (freeze their boards and
tell their podiums), and reconcile the live counters with the challenges they count.

The counters are kept by a trigger in the same transaction as every change (sql/migrations/
0010_live_leaderboard.sql), so reconciliation should find nothing; it is there for what a trigger
cannot see (a row changed with triggers off, a restore, a bug), and says what it repaired.
"""

import datetime as dt
import logging

from core.rules.ratings import MODEL, play
from core.rules.seasons import CLOSE_GRACE, ended_seasons, period_of
from sql import queries

Q = queries("jobs")
log = logging.getLogger(__name__)
USER_BATCH = 2000
RATING_BATCH = 1000
REPLAY_FETCH = 10_000


def close_ended_seasons(conn, now: dt.datetime | None = None) -> list[str]:
    """Close the weeks and months that ended (CLOSE_GRACE ago) and are still open, each in its
    own transaction: snapshot its board, notify its podium. Returns the seasons closed now."""
    now = now or dt.datetime.now(dt.timezone.utc)
    closed = []
    for season in ended_seasons(now - CLOSE_GRACE):
        with conn.transaction():
            if not Q.close_season(conn, season=season):
                continue
            Q.snapshot_season(conn, season=season)
            told = Q.notify_podium(conn, season=season, period=period_of(season))
        log.info("closed leaderboard season %s: %d podium notifications", season, told,
                 extra={"season": season, "podium_notifications": told})
        closed.append(season)
    return closed


def repair_by_user_batch(conn, repair, batch_size: int = USER_BATCH) -> int:
    """`repair(conn, first=..., last=...)` for each batch of users, by id: one short transaction
    each, so writers wait at most for one batch's repaired rows. Returns the rows repaired."""
    repaired, after = 0, None
    while True:
        with conn.transaction():
            ids = [row["id"] for row in Q.user_id_batch(conn, after=after, batch_size=batch_size)]
        if not ids:
            return repaired
        with conn.transaction():
            repaired += repair(conn, first=ids[0], last=ids[-1])
        after = ids[-1]


def reconcile_counters(conn, batch_size: int = USER_BATCH) -> int:
    """Recompute every user's counters from the challenges and repair what differs. Returns the
    number of counter rows repaired."""
    repaired = repair_by_user_batch(conn, Q.repair_leaderboard_counters, batch_size)
    with conn.transaction():
        repaired += Q.delete_orphan_counters(conn)
    if repaired:
        log.warning("leaderboard reconciliation repaired %d counter rows", repaired,
                    extra={"counters_repaired": repaired})
    return repaired


def replay_ratings(conn) -> tuple[dict, dict]:
    """Every athlete's rating replayed from the rated challenges in the order the workers rated
    them, and the stored ratings, both as of one snapshot: {user_id: (mu, sigma, rated)} each."""
    replayed = {}
    start = (MODEL.mu, MODEL.sigma, 0)
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        stored = {row["user_id"]: (row["mu"], row["sigma"], row["rated_challenges"])
                  for row in Q.stored_ratings(conn)}
        with conn.cursor(name="rating_replay") as games:
            games.itersize = REPLAY_FETCH
            games.execute(Q.rated_challenges_in_order.sql)
            for game in games:
                challenger, challenged = game["from_user_id"], game["to_user_id"]
                (mu_a, sigma_a, rated_a), (mu_b, sigma_b, rated_b) = (
                    replayed.get(challenger, start), replayed.get(challenged, start))
                new_a, new_b = play((mu_a, sigma_a), (mu_b, sigma_b), game["challenged_won"])
                replayed[challenger] = (new_a.mu, new_a.sigma, rated_a + 1)
                replayed[challenged] = (new_b.mu, new_b.sigma, rated_b + 1)
    return replayed, stored


def repair_drifted_ratings(conn, replayed: dict, stored: dict, batch_size: int = RATING_BATCH) -> int:
    """Set each stored rating that differs from its replay (replay_ratings) to the replayed one,
    a batch of athletes per statement, each only if still as stored at the replay's snapshot (one
    rated since is left for the next run). Returns the number repaired."""
    start = (MODEL.mu, MODEL.sigma, 0)
    drifted = sorted(user for user in replayed.keys() | stored.keys()
                     if stored.get(user) != replayed.get(user, start))
    repaired = 0
    for first in range(0, len(drifted), batch_size):
        batch = drifted[first:first + batch_size]
        expected = [replayed.get(user, start) for user in batch]
        seen = [stored.get(user, (None, None, None)) for user in batch]
        with conn.transaction():
            repaired += Q.repair_ratings(
                conn, user_ids=batch, mus=[e[0] for e in expected], sigmas=[e[1] for e in expected],
                rated=[e[2] for e in expected], seen_mus=[s[0] for s in seen],
                seen_sigmas=[s[1] for s in seen], seen_rated=[s[2] for s in seen])
    if repaired:
        log.warning("rating reconciliation repaired %d ratings", repaired, extra={"ratings_repaired": repaired})
    return repaired


def reconcile_ratings(conn) -> int:
    """Replay every rating and repair those that drifted. Returns the number repaired."""
    return repair_drifted_ratings(conn, *replay_ratings(conn))


def reconcile_levels(conn) -> int:
    """Recompute how many athletes each board has on each level from the counters and the
    ratings (run after the counters are repaired: their trigger keeps the levels in step as it
    repairs them, as the ratings' does). Returns the number of level rows repaired."""
    with conn.transaction():
        repaired = Q.repair_leaderboard_levels(conn)
    if repaired:
        log.warning("leaderboard reconciliation repaired %d level rows", repaired, extra={"levels_repaired": repaired})
    return repaired


REPAIR_KINDS = ("counters", "levels", "ratings")


def reconcile_leaderboards(conn) -> dict[str, int]:
    """What the scheduler runs: every kind of leaderboard row repaired, by kind (REPAIR_KINDS)."""
    return {"counters": reconcile_counters(conn), "levels": reconcile_levels(conn),
            "ratings": reconcile_ratings(conn)}
