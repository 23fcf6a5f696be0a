"""The crowd's figures, as athletes see them: how hard a workout is by how everyone fared on it,
and the crowd insights. Plain functions on the rows of crowd_workouts and crowd_kinds (migration
0020), so the API and the tests share them.

Privacy comes first: a figure is shown only when at least `min_athletes` (CROWD_MIN_ATHLETES)
distinct athletes stand behind it; the rows hold totals only, never whose they are."""

from dataclasses import dataclass

ALL_KINDS = "*"
SCOPES = ("workout", "kind")
TIER_NAMES = ("easy", "fair", "tough", "brutal")
# Tiers of difficulty, hardest first: a tier applies when the crowd's win rate is under its
# first number or its abandonment rate at least its second (docs/domain.md, "The crowd").
TIERS = (("brutal", 0.2, 0.6), ("tough", 0.4, 0.35), ("fair", 0.7, 1.01))
# A crowd insight compares two figures; under this ratio the difference says nothing.
MIN_CROWD_RATIO = 1.5


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 2) if whole else None


def first_wins(row: dict) -> list[int]:
    """Athletes by the retries their first win took: none, 1, 2, 3 or more."""
    return [row["first_wins_r0"], row["first_wins_r1"], row["first_wins_r2"], row["first_wins_r3"]]


def avg_retries_to_win(row: dict) -> float | None:
    """Counting "3 or more" as 3, so the average is a floor when many needed more."""
    wins = first_wins(row)
    return round(sum(retries * athletes for retries, athletes in enumerate(wins)) / sum(wins), 1) \
        if sum(wins) else None


def tier(win_rate: float, abandonment_rate: float) -> str:
    for name, win_under, abandonment_from in TIERS:
        if win_rate < win_under or abandonment_rate >= abandonment_from:
            return name
    return "easy"


def article(percent: int) -> str:
    """ "an 83%", "a 65%": as the number is said."""
    return "an" if str(percent).startswith("8") or percent in (11, 18) else "a"


def difficulty_text(subject: str, level: str, win_rate: float, abandonment_rate: float) -> str:
    """`subject` is "This workout" or "Leg workouts"."""
    quit_percent, win_percent = round(abandonment_rate * 100), round(win_rate * 100)
    has = "have" if subject.endswith("workouts") else "has"
    if level == "brutal":
        return (f"{subject} {has} {article(quit_percent)} {quit_percent}% abandonment rate - it's brutal, "
                f"but you can do it!")
    if level == "tough":
        return (f"{subject} {has} {article(quit_percent)} {quit_percent}% abandonment rate - it's tough "
                f"but you can do it!")
    if level == "fair":
        return f"{win_percent}% of athletes beat {subject.lower()} - a fair fight. Go get it!"
    return f"{win_percent}% of athletes beat {subject.lower()} - show them how it's done!"


def shown(row: dict | None, min_athletes: int) -> bool:
    return row is not None and row["athletes"] >= min_athletes and row["attempts"] > 0


def kind_subject(kind: str) -> str:
    return f"{kind.capitalize()} workouts"


def difficulty(workout: dict | None, kind: dict | None, min_athletes: int) -> dict | None:
    """The workout's own figures when enough athletes stand behind them, else its kind's, else
    None: never a figure of fewer athletes."""
    if shown(workout, min_athletes):
        row, scope, subject = workout, "workout", "This workout"
    elif shown(kind, min_athletes):
        row, scope, subject = kind, "kind", kind_subject(kind["kind"])
    else:
        return None
    win_rate, abandonment_rate = rate(row["wins"], row["attempts"]), rate(row["quits"], row["attempts"])
    level = tier(win_rate, abandonment_rate)
    return {"scope": scope, "kind": kind["kind"] if scope == "kind" else None,
            "athletes": row["athletes"], "attempts": row["attempts"], "win_rate": win_rate,
            "abandonment_rate": abandonment_rate, "avg_retries_to_win": avg_retries_to_win(row),
            "tier": level, "text": difficulty_text(subject, level, win_rate, abandonment_rate)}


# Crowd insights ---------------------------------------------------------------------------------

def insight(kind: str, text: str, **evidence) -> dict:
    return {"kind": kind, "text": text, "evidence": evidence}


def times(ratio: float) -> str:
    return f"{ratio:.0f}x" if ratio >= 2.5 else f"{ratio:.1f}x"


def retries_per_attempt(row: dict) -> float:
    return row["retries"] / row["attempts"]


def crowd_retries_by_kind(kinds: dict[str, dict], retried_kinds: set[str], min_athletes: int) -> list[dict]:
    """For each kind the caller has retried: the crowd retries it more than workouts overall."""
    overall = kinds.get(ALL_KINDS)
    if not shown(overall, min_athletes) or not overall["retries"]:
        return []
    found = []
    for kind in sorted(retried_kinds):
        row = kinds.get(kind)
        if not shown(row, min_athletes):
            continue
        ratio = retries_per_attempt(row) / retries_per_attempt(overall)
        if ratio >= MIN_CROWD_RATIO:
            found.append(insight("crowd_retries_by_kind",
                                 f"{kind_subject(kind)} require {times(ratio)} more retries on average - "
                                 f"you're not alone!", workout_kind=kind, ratio=round(ratio, 2),
                                 athletes=row["athletes"],
                                 retries_per_attempt=round(retries_per_attempt(row), 2),
                                 overall_retries_per_attempt=round(retries_per_attempt(overall), 2)))
    return found


def crowd_abandonment_by_kind(kinds: dict[str, dict], min_athletes: int) -> dict | None:
    """The kind the crowd quits most against the one it quits least (with any quits at all)."""
    rows = sorted((row for name, row in kinds.items()
                   if name != ALL_KINDS and shown(row, min_athletes) and row["quits"]),
                  key=lambda row: (row["quits"] / row["attempts"], row["kind"]))
    if len(rows) < 2:
        return None
    easiest, hardest = rows[0], rows[-1]
    ratio = (hardest["quits"] / hardest["attempts"]) / (easiest["quits"] / easiest["attempts"])
    if ratio < MIN_CROWD_RATIO:
        return None
    return insight("crowd_abandonment_by_kind",
                   f"Athletes abandon {hardest['kind']} workouts {times(ratio)} more than "
                   f"{easiest['kind']} ones", ratio=round(ratio, 2), most_abandoned=hardest["kind"],
                   most_abandoned_rate=rate(hardest["quits"], hardest["attempts"]),
                   least_abandoned=easiest["kind"],
                   least_abandoned_rate=rate(easiest["quits"], easiest["attempts"]),
                   athletes=min(hardest["athletes"], easiest["athletes"]))


def crowd_retry_round(kinds: dict[str, dict], min_athletes: int) -> dict | None:
    """Among athletes whose first win took retries, how many it took most often."""
    overall = kinds.get(ALL_KINDS)
    if overall is None:
        return None
    after_retries = first_wins(overall)[1:]
    if sum(after_retries) < min_athletes:
        return None
    most = max(range(3), key=lambda i: (after_retries[i], -i))
    retries = most + 1
    said = "3rd retry attempt or later" if retries == 3 else f"{'1st' if retries == 1 else '2nd'} retry attempt"
    return insight("crowd_retry_round", f"Most athletes who retry win on their {said}",
                   retries=retries, athletes=sum(after_retries),
                   athletes_by_retries={"1": after_retries[0], "2": after_retries[1], "3+": after_retries[2]})


def calibration(challenge: dict, workout: dict | None, kind: dict | None, min_athletes: int) -> dict | None:
    """For a challenge the caller has pending: how many athletes beat this workout (or its kind)."""
    figures = difficulty(workout, kind, min_athletes)
    if figures is None:
        return None
    subject = "targets like this one" if figures["scope"] == "workout" else f"{figures['kind']} targets"
    return insight("calibration", f"{round(figures['win_rate'] * 100)}% of athletes beat {subject}",
                   challenge_id=str(challenge["id"]), workout_name=challenge["workout_name"],
                   scope=figures["scope"], win_rate=figures["win_rate"], athletes=figures["athletes"])


@dataclass(frozen=True)
class CrowdView:
    """The crowd's rows one user's insights are drawn from: every kind's totals, and their newest
    pending challenge with its workout's and its kind's totals."""
    kinds: dict[str, dict]
    min_athletes: int
    pending: dict | None = None
    pending_workout: dict | None = None
    pending_kind: dict | None = None


def crowd_insights(view: CrowdView, retried_kinds: set[str], has_finished: bool) -> list[dict]:
    """Each only when the data supports it, and only when it speaks to this user: the kinds they
    retried, the crowd's quitting and rematches once they have finished a challenge themselves,
    the calibration of the challenge they have to answer."""
    candidates = [*crowd_retries_by_kind(view.kinds, retried_kinds, view.min_athletes)]
    if has_finished:
        candidates += [crowd_abandonment_by_kind(view.kinds, view.min_athletes),
                       crowd_retry_round(view.kinds, view.min_athletes)]
    if view.pending:
        candidates.append(calibration(view.pending, view.pending_workout, view.pending_kind,
                                      view.min_athletes))
    return [candidate for candidate in candidates if candidate]
