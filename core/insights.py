"""Insights: what a user's own event log says about them, each given only when their data
supports it: below the MIN_* samples an insight would be a guess, so it is not given. The rules
are plain functions over event metadata (as the event log stores it); the functions at the end
fetch that metadata from the log for one user.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone

from core.event_log import of_user
from core.rules.crowd import CrowdView, crowd_insights
from core.workout_kinds import kind_key, kind_label

MIN_COMEBACK_WINS = 3         # retry_pattern: wins on a retry; the usual round won more than half
MIN_QUIT_STREAK = 2           # quit_pattern: your latest challenges of one kind, all quit
MIN_FINISHED_OF_KIND = 5      # win_rate_by_kind: finished challenges of that kind
MIN_RETRIES_OF_WORKOUT = 3    # persistence: your retries of one workout
MIN_RETRIES_AGAINST_YOU = 3   # tough_benchmarks: retries of your challenges, more than any friend's
MIN_RECEIVED_OF_KIND = 3      # favourite_kind: challenges received of one kind, more than any other
MIN_SIMILAR_OUTCOMES = 2      # encouragement: your results on similar workouts
MAX_WIN_RATE_INSIGHTS = 3
RECENT_FOR_ENCOURAGEMENT = 5
FINISHED = ("challenge_completed", "challenge_abandoned")


@dataclass(frozen=True)
class Outcome:
    """A challenge the user finished as the challenged athlete."""
    challenge_id: str
    workout_name: str
    kind: str | None
    result: str  # won, lost or quit
    round: int
    at: float
    progress: float | None

    @property
    def key(self) -> str:
        return kind_key(self.kind, self.workout_name)


def insight(kind: str, text: str, **evidence) -> dict:
    return {"kind": kind, "text": text, "evidence": evidence}


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def outcomes(events: list[dict], user_id: str) -> list[Outcome]:
    """The user's finished challenges as the challenged athlete, newest first."""
    found = [Outcome(challenge_id=e["challenge_id"], workout_name=e["workout_name"],
                     kind=e.get("workout_kind"),
                     result="quit" if e["event_type"] == "challenge_abandoned" else
                     "won" if e.get("did_beat") else "lost",
                     round=e.get("retry_number", 0) + 1, at=e["created_at"],
                     progress=e.get("quit_progress"))
             for e in events if e["to_user_id"] == user_id and e["event_type"] in FINISHED]
    return sorted(found, key=lambda o: o.at, reverse=True)


def by_kind(found: list[Outcome]) -> dict[str, list[Outcome]]:
    groups = defaultdict(list)
    for outcome in found:
        groups[outcome.key].append(outcome)
    return groups


def quit_streak(found: list[Outcome]) -> list[Outcome]:
    """The newest outcomes, as long as they are all quits."""
    streak = []
    for outcome in found:
        if outcome.result != "quit":
            break
        streak.append(outcome)
    return streak


def where_quit(streak: list[Outcome]) -> str:
    """ " at the halfway point" when every quit of the streak came there (from partial_stats)."""
    if any(o.progress is None for o in streak):
        return ""
    stages = {"early on" if o.progress < 0.35 else "at the halfway point" if o.progress <= 0.65
              else "close to the finish" for o in streak}
    return f" {stages.pop()}" if len(stages) == 1 else ""


def retry_pattern(found: list[Outcome]) -> dict | None:
    comebacks = [o for o in found if o.result == "won" and o.round > 1]
    if len(comebacks) < MIN_COMEBACK_WINS:
        return None
    wins_by_round = Counter(o.round for o in comebacks)
    usual, count = wins_by_round.most_common(1)[0]
    if count * 2 <= len(comebacks):
        return None
    return insight("retry_pattern",
                   f"You usually win on your {ordinal(usual)} attempt! {count} of your "
                   f"{len(comebacks)} comeback wins came in round {usual}.",
                   comeback_wins=len(comebacks),
                   wins_by_round={str(r): n for r, n in sorted(wins_by_round.items())},
                   challenge_ids=[o.challenge_id for o in comebacks])


def quit_phrase(streak: list[Outcome]) -> str:
    first = streak[0]
    return f"You've quit the last {len(streak)} {kind_label(first.kind, first.workout_name)}{where_quit(streak)}"


def quit_patterns(found: list[Outcome]) -> list[dict]:
    streaks = [quit_streak(group) for group in by_kind(found).values()]
    streaks = sorted((s for s in streaks if len(s) >= MIN_QUIT_STREAK), key=len, reverse=True)
    return [insight("quit_pattern", f"{quit_phrase(streak)}.", workout_kind=streak[0].key,
                    quits_in_a_row=len(streak), challenge_ids=[o.challenge_id for o in streak],
                    progress_at_quit=[o.progress for o in streak])
            for streak in streaks]


def win_rates_by_kind(found: list[Outcome]) -> list[dict]:
    rates = []
    for group in by_kind(found).values():
        if len(group) >= MIN_FINISHED_OF_KIND:
            wins = sum(o.result == "won" for o in group)
            rates.append((wins / len(group), len(group), wins, group))
    rates.sort(key=lambda rate: rate[:2], reverse=True)
    return [insight("win_rate_by_kind",
                    f"{int(rate * 100 + 0.5)} % win rate on {kind_label(group[0].kind, group[0].workout_name)} "
                    f"({wins} of {finished})",
                    workout_kind=group[0].key, wins=wins, finished=finished,
                    challenge_ids=[o.challenge_id for o in group])
            for rate, finished, wins, group in rates[:MAX_WIN_RATE_INSIGHTS]]


def persistence(events: list[dict], user_id: str) -> dict | None:
    retries = [e for e in events if e["event_type"] == "challenge_retried" and e["to_user_id"] == user_id]
    if not retries:
        return None
    latest = max(retries, key=lambda e: e["created_at"])
    name = latest["workout_name"]
    same = [e for e in retries if e["workout_name"] == name]
    if len(same) < MIN_RETRIES_OF_WORKOUT:
        return None
    still_open = not any(e["challenge_id"] == latest["challenge_id"] and e["event_type"] in FINISHED
                         for e in events)
    text = (f"This is your {ordinal(len(same))} retry for '{name}'. Not giving up!" if still_open
            else f"You've retried '{name}' {len(same)} times. Not giving up!")
    return insight("persistence", text, workout_name=name, retries=len(same),
                   latest_challenge_id=latest["challenge_id"], in_progress=still_open)


def tough_benchmarks(user_id: str, friend_ids: list[str], retries_against: dict[str, int]) -> dict | None:
    """`retries_against`: user id -> how often that user's challenges were retried."""
    mine = retries_against.get(user_id, 0)
    if mine < MIN_RETRIES_AGAINST_YOU or not friend_ids:
        return None
    if mine <= max(retries_against.get(friend, 0) for friend in friend_ids):
        return None
    return insight("tough_benchmarks",
                   f"Friends retry your workouts more than anyone's: you set tough benchmarks! "
                   f"({mine} retries of your challenges)",
                   retries_of_your_challenges=mine, friends_compared=len(friend_ids))


def favourite_kind(events: list[dict], user_id: str) -> dict | None:
    received = [e for e in events if e["event_type"] == "challenge_created"
                and e["to_user_id"] == user_id and not e.get("beat_this")]
    counts = Counter(kind_key(e.get("workout_kind"), e["workout_name"]) for e in received)
    ranked = counts.most_common(2)
    if not ranked or ranked[0][1] < MIN_RECEIVED_OF_KIND or (len(ranked) == 2 and ranked[1][1] == ranked[0][1]):
        return None
    key, count = ranked[0]
    return insight("favourite_kind",
                   f"Friends challenge you to {key} workouts most: {count} of the {len(received)} "
                   f"challenges you received.",
                   workout_kind=key, challenges=count, received=len(received))


def user_insights(events: list[dict], user_id: str, friend_ids: list[str],
                  retries_against: dict[str, int], crowd: CrowdView | None = None) -> list[dict]:
    found = outcomes(events, user_id)
    candidates = [retry_pattern(found), *quit_patterns(found), *win_rates_by_kind(found),
                  persistence(events, user_id), tough_benchmarks(user_id, friend_ids, retries_against),
                  favourite_kind(events, user_id)]
    if crowd is not None:
        retried_kinds = {o.kind for o in found if o.round > 1 and o.kind}
        candidates += crowd_insights(crowd, retried_kinds, has_finished=bool(found))
    return [candidate for candidate in candidates if candidate]


def encouragement(similar: list[Outcome], kind: str | None, workout_name: str) -> dict | None:
    """A line for the challenged athlete from their results on similar workouts (newest first)."""
    if len(similar) < MIN_SIMILAR_OUTCOMES:
        return None
    label, evidence = kind_label(kind, workout_name), {"challenge_ids": [o.challenge_id for o in similar]}
    streak = quit_streak(similar)
    if len(streak) >= MIN_QUIT_STREAK:
        return insight("encouragement", f"{quit_phrase(streak)}. Let's push through this one together!",
                       **evidence)
    recent = similar[:RECENT_FOR_ENCOURAGEMENT]
    wins = sum(o.result == "won" for o in recent)
    if wins >= MIN_SIMILAR_OUTCOMES and wins * 2 >= len(recent):
        return insight("encouragement", f"You beat {wins} of your last {len(recent)} {label}. You've got this!",
                       **evidence)
    if similar[0].result == "lost":
        return insight("encouragement",
                       f"You fell short on your last {kind_label(kind, workout_name, 'challenge')}. "
                       f"This one is yours!", **evidence)
    return None


# Reading the log for one user ------------------------------------------------------------------

def insights_for(log, user_id: str, friend_ids: list[str], crowd: CrowdView | None = None) -> list[dict]:
    """Friends' retries are only read when yours are enough to beat them (BENCHMARKS.md: each
    ChromaDB read costs tens of milliseconds on a large log)."""
    events = [row["metadata"] for row in log.get(of_user(user_id), documents=False)]
    retries_against = Counter(e["from_user_id"] for e in events
                              if e["event_type"] == "challenge_retried" and e["from_user_id"] == user_id)
    if friend_ids and retries_against[user_id] >= MIN_RETRIES_AGAINST_YOU:
        theirs = log.get({"$and": [{"event_type": "challenge_retried"},
                                   {"from_user_id": {"$in": friend_ids}}]}, documents=False)
        retries_against.update(row["metadata"]["from_user_id"] for row in theirs)
    return user_insights(events, user_id, friend_ids, retries_against, crowd)


def encouragement_for(log, user_id: str, workout_name: str) -> dict | None:
    """From the user's latest results on workouts of the same kind as `workout_name`."""
    kind = log.workout_kinds([workout_name])[workout_name]
    same_kind = kind_key(kind, workout_name)
    received = [row["metadata"] for row in log.get({"to_user_id": user_id}, documents=False)]
    similar = [e for e in received if kind_key(e.get("workout_kind"), e["workout_name"]) == same_kind]
    return encouragement(outcomes(similar, user_id), kind, workout_name)


def search(log, user_id: str, text: str, limit: int) -> list[dict]:
    """The user's own events (either side of a friend challenge, or their community ones) most
    similar to `text`, nearest first, among their newest `log.recent` (the bound that keeps a
    search's cost independent of how long their history is)."""
    return [{"event_id": row["id"], "event_type": row["metadata"]["event_type"], "text": row["document"],
             "challenge_id": row["metadata"].get("challenge_id"),
             "community_challenge_id": row["metadata"].get("community_challenge_id"),
             "workout_name": row["metadata"].get("workout_name"),
             "workout_kind": row["metadata"].get("workout_kind"),
             "created_at": datetime.fromtimestamp(row["metadata"]["created_at"], timezone.utc),
             "similarity": round(1 - row["distance"], 3)}
            for row in log.nearest(text, user_id, limit=limit)]
