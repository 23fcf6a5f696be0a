"""A small history of challenges for the analytics tests (tests/sql/test_analytics_views.py,
tests/api/test_analytics.py), made with the domain's own rules and then moved in time: who sent
what when, what became of it, and the figures each report must show for it.

Ann (Asia/Kolkata, UTC+5:30), Ben (Asia/Tokyo, UTC+9), Cat (a zone this database does not know,
counted as UTC) and Dan (UTC); everyone is friends with Ann, and Ben with Cat. Days are counted
back from today (UTC):

| # | sent (UTC)       | from -> to | workout            | what became of it                          |
|---|------------------|------------|--------------------|--------------------------------------------|
| 1 | today-3 20:45    | Ann -> Ben | "Beast Mode Legs"  | completed and beaten (20 min, 12,000 lb)    |
| 2 | today-3 20:45    | Ann -> Cat | "Beast Mode Legs"  | completed, not beaten (35 min, 9,000 lb);  |
|   |                  |            |                    | Cat's rematch of it quit today-2 (I give up) |
| 3 | today-12 15:00   | Ben -> Ann | "beast  mode legs" | quit today-2 in her own words (SECRET)     |
| 4 | today-12 15:00   | Ben -> Ann | "beast  mode legs" | quit today-10, "Too hard for me 😓"         |
| 5 | today-12 10:10   | Cat -> Ann | "Hill Run"         | declined                                   |
| 6 | today-12 10:10   | Cat -> Ben | "Hill Run"         | left pending past its expiry: expired      |
| 7 | today-1 03:00    | Ann -> Dan | "Beast Mode Legs"  | pending                                    |
| 8 | today-40 09:00   | Dan -> Ann | "Old Workout"      | declined, before the last 30 days          |
"""

import datetime as dt
import uuid
from collections import Counter
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from core.rules.challenges import (
    abandon_challenge, accept_challenge, complete_challenge, create_challenges, decline_challenge, retry_challenge)
from tests.core.rules.factories import friends, new_id, user, workout

SECRET = "my knee hurts SECRET-TEXT"
NAMES = {"ann": "Ann Analytics-Name-A", "ben": "Ben Analytics-Name-B", "cat": "Cat Analytics-Name-C",
         "dan": "Dan Analytics-Name-D"}
ZONES = {"ann": "Asia/Kolkata", "ben": "Asia/Tokyo", "cat": "Mars/Olympus_Mons", "dan": "UTC"}
KG_PER_LB = 0.45359237


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def at(days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    day = utc_today() - dt.timedelta(days=days_ago)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.timezone.utc)


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def send(conn, sender: str, recipients: list[str], workout_log_id: str) -> list[str]:
    ids = [new_id() for _ in recipients]
    create_challenges(conn, user_id=sender, challenge_ids=ids, to_user_ids=recipients, workout_log_id=workout_log_id)
    return ids


def build(conn) -> SimpleNamespace:
    """The history above, committed; its people and challenges."""
    people = {key: user(conn, name) for key, name in NAMES.items()}
    ann, ben, cat, dan = (people[key] for key in ("ann", "ben", "cat", "dan"))
    for a, b in ((ann, ben), (ann, cat), (ann, dan), (ben, cat)):
        friends(conn, a, b)
    legs = workout(conn, ann, minutes=30, volume=10000, unit="lb", name="Beast Mode Legs")
    ben_legs = workout(conn, ben, minutes=30, volume=10000, unit="lb", name="beast  mode legs")
    hill = workout(conn, cat, minutes=40, volume=0, unit="kg", name="Hill Run")
    old = workout(conn, dan, minutes=20, volume=100, unit="kg", name="Old Workout")

    c1, c2 = send(conn, ann, [ben, cat], legs)
    c3, c4 = send(conn, ben, [ann], ben_legs) + send(conn, ben, [ann], ben_legs)
    c5, c6 = send(conn, cat, [ann, ben], hill)
    [c7] = send(conn, ann, [dan], legs)
    [c8] = send(conn, dan, [ann], old)

    for challenge_id, athlete in ((c1, ben), (c2, cat), (c3, ann), (c4, ann)):
        accept_challenge(conn, user_id=athlete, challenge_id=challenge_id)
    complete_challenge(conn, user_id=ben, challenge_id=c1, duration_minutes=20, total_volume=12000, volume_unit="lb")
    complete_challenge(conn, user_id=cat, challenge_id=c2, duration_minutes=35, total_volume=9000, volume_unit="lb")
    abandon_challenge(conn, user_id=ann, challenge_id=c3, quit_reason=SECRET)
    abandon_challenge(conn, user_id=ann, challenge_id=c4, quit_reason="Too hard for me 😓")
    decline_challenge(conn, user_id=ann, challenge_id=c5)
    decline_challenge(conn, user_id=ann, challenge_id=c8)
    [rematch] = retry_challenge(conn, user_id=cat, challenge_id=c2, challenge_ids=[new_id()])["challenge_ids"]
    abandon_challenge(conn, user_id=cat, challenge_id=rematch, quit_reason="I give up 🏳️")

    sent_at = {c1: at(3, 20, 45), c2: at(3, 20, 45), c3: at(12, 15), c4: at(12, 15), c5: at(12, 10, 10),
               c6: at(12, 10, 10), c7: at(1, 3), c8: at(40, 9), rematch: at(2, 12)}
    quit_at = {c3: at(2, 8), c4: at(10, 8), rematch: at(2, 18)}
    for challenge_id, moment in sent_at.items():
        conn.execute("UPDATE workout_challenges SET created_at = %s, expires_at = %s + interval '7 days' "
                     "WHERE id = %s", (moment, moment, challenge_id))
    for challenge_id, moment in quit_at.items():
        conn.execute("UPDATE workout_challenges SET abandoned_at = %s WHERE id = %s", (moment, challenge_id))
    for key, zone in ZONES.items():  # Cat's is stored as a restore onto an older tzdata would leave it
        conn.execute("UPDATE users SET timezone = %s WHERE id = %s", (zone, people[key]))
    conn.commit()
    return SimpleNamespace(**people, ids=[c1, c2, c3, c4, c5, c6, c7, c8], rematch=rematch,
                           sent_at=sent_at, senders={c1: ann, c2: ann, c3: ben, c4: ben, c5: cat, c6: cat,
                                                     c7: ann, c8: dan})


# What each report shows of it for a period (first and last day included), as the API lists it.

def sent_in(history, first: dt.date, last: dt.date) -> list[str]:
    return [c for c in history.ids if first <= history.sent_at[c].date() <= last]


def expected_workouts(history, first: dt.date, last: dt.date) -> list[dict]:
    """For a period holding #1 to #7 (the last 12 days at least), and #8 if it reaches back 40."""
    assert first <= at(12, 0).date() and last >= at(1, 0).date()
    legs = {"workout_key": "beast mode legs", "workout_name": "Beast Mode Legs",  # 3 of 5 spelt so
            "challenges_sent": 5, "completed": 2, "won": 1, "abandoned": 2, "completion_rate": 0.4,
            "win_rate": 0.25, "abandonment_rate": 0.5, "target_duration_minutes": 27.5,  # (20 + 35) / 2
            "target_total_volume_kg": round((12000 + 9000) / 2 * KG_PER_LB, 2)}
    never_taken = {"completed": 0, "won": 0, "abandoned": 0, "completion_rate": 0.0, "win_rate": None,
                   "abandonment_rate": None, "target_duration_minutes": None, "target_total_volume_kg": None}
    hill = {"workout_key": "hill run", "workout_name": "Hill Run", "challenges_sent": 2, **never_taken}
    old = {"workout_key": "old workout", "workout_name": "Old Workout", "challenges_sent": 1, **never_taken}
    return [legs, hill] + ([old] if first <= at(40, 0).date() else [])


def expected_hours(history, first: dt.date, last: dt.date) -> list[dict]:
    zones = {getattr(history, key): ZONES[key] for key in ZONES}
    local = Counter()
    for c in sent_in(history, first, last):
        zone = zones[history.senders[c]]
        moment = history.sent_at[c].astimezone(ZoneInfo(zone if zone != ZONES["cat"] else "UTC"))
        local[(moment.isoweekday(), moment.hour)] += 1
    return [{"iso_weekday": day, "hour": hour, "challenges_sent": local[(day, hour)]}
            for day in range(1, 8) for hour in range(24)]


def expected_pairs(history, first: dt.date, last: dt.date) -> list[dict]:
    counts = {}
    for c in sent_in(history, first, last):
        sender = history.senders[c]
        recipient = {history.ids[0]: history.ben, history.ids[1]: history.cat, history.ids[2]: history.ann,
                     history.ids[3]: history.ann, history.ids[4]: history.ann, history.ids[5]: history.ben,
                     history.ids[6]: history.dan, history.ids[7]: history.ann}[c]
        a, b = sorted((sender, recipient), key=uuid.UUID)
        row = counts.setdefault((a, b), {"user_a": a, "user_b": b, "challenges": 0, "sent_by_a": 0, "sent_by_b": 0})
        row["challenges"] += 1
        row["sent_by_a" if sender == a else "sent_by_b"] += 1
    return sorted(counts.values(), key=lambda row: (-row["challenges"], uuid.UUID(row["user_a"]),
                                                    uuid.UUID(row["user_b"])))


def expected_quits(history, first: dt.date, last: dt.date) -> list[dict]:
    quits = [(at(2, 8).date(), "other"), (at(10, 8).date(), "Too hard for me 😓"), (at(2, 18).date(), "I give up 🏳️")]
    counted = Counter((monday(day), category) for day, category in quits if first <= day <= last)
    return [{"week": week, "category": category, "quits": n}
            for (week, category), n in sorted(counted.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))]


def expected_completion(history, first: dt.date, last: dt.date) -> list[dict]:
    c1, c2, c3, c4, c5, c6, c7, c8 = history.ids
    outcome = {c1: {"accepted", "completed", "won"}, c2: {"accepted", "completed"},
               c3: {"accepted", "abandoned"}, c4: {"accepted", "abandoned"}, c5: {"declined"},
               c6: {"expired"}, c7: set(), c8: {"declined"}}
    weeks, week = [], monday(first)
    while week <= last:
        weeks.append(week)
        week += dt.timedelta(days=7)
    rows = {week: {"week": week, "sent": 0, "accepted": 0, "completed": 0, "won": 0, "abandoned": 0,
                   "expired": 0, "declined": 0} for week in weeks}
    for c in sent_in(history, first, last):
        row = rows[monday(history.sent_at[c].date())]
        row["sent"] += 1
        for name in outcome[c]:
            row[name] += 1
    return [rows[week] for week in weeks]
