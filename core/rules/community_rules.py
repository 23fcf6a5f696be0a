"""The rules of community challenges that need no database: who may join, what a log is worth
to each kind of challenge, which milestones a total crosses. The API's early answers and the
workers' final ones both come from here."""

from decimal import ROUND_DOWN, Decimal

from core.commands import CommandRejected

MILESTONES = (25, 50, 75, 100)
# What progress is counted in, for the kinds whose unit is not the coach's to choose.
FIXED_UNITS = {"workouts": "workouts", "duration": "minutes", "volume": "kg"}
DEFAULT_HABIT_UNIT = "times"


def unit_for(challenge_type: str, habit_name: str | None, unit: str | None) -> str:
    """The unit progress is shown in: fixed for workouts, minutes and kilograms; for a habit,
    the coach's word, else the habit's name, else "times"."""
    if challenge_type in FIXED_UNITS:
        return FIXED_UNITS[challenge_type]
    return unit or habit_name or DEFAULT_HABIT_UNIT


def check_joinable(challenge: dict | None, already_joined: bool) -> dict:
    """`challenge` if the caller may join it now; else the refusal a client can act on."""
    if challenge is None:
        raise CommandRejected("not_found", "No such community challenge.", 404)
    if not challenge["is_active"] or challenge["has_ended"]:
        raise CommandRejected("invalid_state", "This community challenge has ended.")
    if already_joined:
        raise CommandRejected("already_joined", "You have already joined this challenge.")
    capacity = challenge["max_participants"]
    if capacity is not None and challenge["participant_count"] >= capacity:
        raise CommandRejected("challenge_full", f"This challenge is full ({capacity} participants).")
    return challenge


def workout_amounts(duration_minutes: float, total_volume_kg: float) -> dict[str, float]:
    """What one workout adds to each kind of challenge it can feed."""
    return {"workouts": 1, "duration": duration_minutes, "volume": total_volume_kg}


def _exact(value) -> Decimal:
    """Totals are stored with two decimals; their shortest float text is that decimal."""
    return Decimal(str(value))


def crossed_milestones(announced: int, total: float, target: float) -> list[int]:
    """The milestones above the last one announced that `total` has reached, in order; so a
    log that jumps past several announces each of them once."""
    reached = _exact(total) * 100
    return [m for m in MILESTONES if m > announced and reached >= m * _exact(target)]


def percentage(total: float, target: float) -> float:
    """Progress towards the target, capped at 100, to one decimal rounded down (99.96 % is not
    yet 100)."""
    share = (_exact(total) * 100 / _exact(target)).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return float(min(Decimal(100), share))
