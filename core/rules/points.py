"""Points: the table of awards, the streak multiplier, and the ledger every award is written
to. Each ledger row is tied to its source (a log, or a participation's milestone or completion)
by a unique constraint, so an award made twice is written once."""

from decimal import ROUND_HALF_UP, Decimal

from sql import queries

Q = queries("core")
BASE_POINTS = {"workout_completed": 25, "habit_logged": 10, "challenge_milestone": 20}
# (streak days at least, multiplier), longest first; only workout and habit points are multiplied.
STREAK_MULTIPLIERS = ((7, Decimal("1.5")), (3, Decimal("1.25")))


def streak_multiplier(streak_days: int) -> Decimal:
    return next((multiplier for days, multiplier in STREAK_MULTIPLIERS if streak_days >= days), Decimal(1))


def scaled(base: int, multiplier: Decimal) -> int:
    """Whole points, halves rounded up (10 x 1.25 = 12.5 gives 13)."""
    return int((base * multiplier).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def streak_now(streak_today: int, streak_yesterday: int) -> tuple[int, int]:
    """The current streak, and the streak a log made now would count with. A streak that
    reached yesterday is still alive today: today's first log extends it."""
    if streak_today:
        return streak_today, streak_today
    return streak_yesterday, streak_yesterday + 1


def award(conn, *, user_id: str, action: str, source_id: str, points: int, base_points: int | None = None,
          multiplier: Decimal = Decimal(1), streak_days: int | None = None, milestone: int | None = None,
          community_challenge_id: str | None = None) -> int:
    """Write the award unless its source was already paid; the points written (0 if it was)."""
    row = Q.award_points(conn, user_id=user_id, action=action, source_id=source_id, milestone=milestone,
                         community_challenge_id=community_challenge_id,
                         base_points=points if base_points is None else base_points,
                         multiplier=multiplier, streak_days=streak_days, points=points)
    return row["points"] if row else 0


def award_activity(conn, *, user_id: str, action: str, source_id: str, at) -> int:
    """Points for a workout or habit log at `at`, multiplied by the streak it extends, counted
    in the user's own time zone up to and including that day."""
    streak = Q.streak_at(conn, user_id=user_id, at=at)
    multiplier = streak_multiplier(streak)
    base = BASE_POINTS[action]
    return award(conn, user_id=user_id, action=action, source_id=source_id, points=scaled(base, multiplier),
                 base_points=base, multiplier=multiplier, streak_days=streak)
