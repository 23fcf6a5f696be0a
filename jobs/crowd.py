"""The scheduler's crowd jobs: recompute the kinds' figures, and reconcile the athletes' and the
workouts' counters with the challenges they count.

The counters are kept by triggers in the same transaction as every change (sql/migrations/
0020_crowd.sql), so reconciliation should find nothing; as for the leaderboard, it is there for
what a trigger cannot see (a row changed with triggers off, a restore, a bug) and says what it
repaired. The kinds' figures need no trigger: an athlete of two leg workouts is one athlete of
the kind, which only a count over all of them can tell, so they are recomputed every
CROWD_REFRESH_SECONDS.
"""

import logging

from jobs.leaderboards import USER_BATCH, repair_by_user_batch
from sql import queries

Q = queries("jobs")
log = logging.getLogger(__name__)


def refresh_kinds(conn) -> int:
    """The kinds' figures from their workouts' athletes; how many kinds there are."""
    with conn.transaction():
        return Q.refresh_crowd_kinds(conn)


def reconcile_crowd(conn, batch_size: int = USER_BATCH) -> int:
    """Repair the athletes' counters a batch of users per statement, then the workouts' from the
    athletes', then drop rows that count nothing; the kinds are recomputed after. Returns the
    number of rows repaired."""
    repaired = repair_by_user_batch(conn, Q.repair_crowd_athletes, batch_size)
    with conn.transaction():
        repaired += Q.repair_crowd_workouts(conn)
        Q.delete_empty_crowd_rows(conn)
    refresh_kinds(conn)
    if repaired:
        log.warning("crowd reconciliation repaired %d counter rows", repaired,
                    extra={"crowd_rows_repaired": repaired})
    return repaired
