"""How logs feed community challenges, end to end on the real worker and PostgreSQL: which logs
count towards which challenge (kind, habit, window), in which unit, exactly once however often a
job is delivered, the scheduler closing ended challenges, and totals that always equal their
progress entries. (tests/api/test_community.py covers cumulative workouts, each milestone and
the completion once, one log jumping several milestones, ranks and ties, and joining twice.)"""

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.rules.community import record_activity
from core.rules.community_rules import MILESTONES, crossed_milestones, percentage, unit_for
from jobs.maintenance import close_ended_community_challenges
from tests.helpers import Api

COMMUNITY = "/community-challenges"


# --- helpers: what a user sees, and the few rows a user's numbers come from ----------------------

@pytest.fixture
def coach(api):
    return api.sign_up("Coach Kim")


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat()


def mine(api, user: str) -> dict:
    """The user's participations (GET /community-challenges/mine), by challenge id."""
    response = api.get(f"{COMMUNITY}/mine", user)
    assert response.status_code == 200, response.text
    return {row["community_challenge_id"]: row for row in response.json["items"]}


def community_notifications(api, user: str) -> list[dict]:
    """The user's community notifications, oldest first."""
    return [n for n in reversed(api.notifications(user)) if n["notification_type"].startswith("community_")]


def milestones_announced(api, user: str, challenge_id: str) -> list[tuple[str, int]]:
    return [(n["notification_type"], n["data"]["milestone"]) for n in community_notifications(api, user)
            if n["community_challenge_id"] == challenge_id]


def ledger(api, user: str) -> list[dict]:
    response = api.get("/points?limit=100", user)
    assert response.status_code == 200, response.text
    return response.json["items"]


def progress_rows(conn, challenge_id: str) -> list[dict]:
    rows = conn.execute(
        "SELECT user_id::text AS user_id, source_type, source_id::text AS source_id, value_achieved "
        "FROM challenge_progress WHERE challenge_id = %s ORDER BY created_at, id", (challenge_id,)).fetchall()
    conn.rollback()
    return rows


def shift_into_past(conn, challenge_id: str, days: int) -> dict:
    """Move the challenge's window (and its participants' joins) `days` days back, keeping
    ends_at = starts_at + duration; the new window, committed."""
    window = conn.execute(
        "UPDATE challenges SET starts_at = starts_at - make_interval(days => %(days)s), "
        "                      ends_at = ends_at - make_interval(days => %(days)s) "
        " WHERE id = %(id)s RETURNING starts_at, ends_at", {"id": challenge_id, "days": days}).fetchone()
    conn.execute("UPDATE challenge_participants SET joined_at = joined_at - make_interval(days => %(days)s) "
                 " WHERE challenge_id = %(id)s", {"id": challenge_id, "days": days})
    conn.commit()
    return window


def totals_against_progress(conn) -> list[dict]:
    """Each participation's total next to the sum of its progress entries."""
    rows = conn.execute(
        "SELECT p.id, p.total, COALESCE(sum(g.value_achieved), 0) AS summed, count(g.id) AS entries "
        "  FROM challenge_participants p LEFT JOIN challenge_progress g ON g.participant_id = p.id "
        " GROUP BY p.id, p.total ORDER BY p.id").fetchall()
    conn.rollback()
    return rows


def wait_for_commands(timeout_ms: int = 15_000) -> None:
    """Until every message on the commands queue, delayed retries included, is acknowledged."""
    from workers.broker import broker

    broker.join("commands", timeout=timeout_ms)


# --- 1. The pure rules ----------------------------------------------------------------------------

def test_a_milestone_is_crossed_at_exactly_its_share_and_not_a_hair_below():
    # Given a target and totals around its 25 % mark
    # When the crossed milestones are worked out from nothing announced yet
    # Then exactly 25 % crosses 25, just below crosses nothing
    assert crossed_milestones(0, 25, 100) == [25]
    assert crossed_milestones(0, 24.99, 100) == []
    # 0.29 of 1.17 is 24.786 %: below
    assert crossed_milestones(0, 0.29, 1.17) == []
    # 0.29 of 1.16 is exactly 25 %, though 0.29 * 100 and 25 * 1.16 are not exact in floats
    assert crossed_milestones(0, 0.29, 1.16) == [25]
    # 0.21 of 0.28 is exactly 75 %; in floats 0.21 / 0.28 * 100 is 74.99999999999999
    assert 0.21 / 0.28 * 100 < 75
    assert crossed_milestones(50, 0.21, 0.28) == [75]
    assert percentage(0.21, 0.28) == 75.0


def test_milestones_come_in_order_once_and_100_only_at_the_target():
    # Given a target of 10
    # When one total jumps from nothing past three milestones
    # Then each is crossed, in order
    assert crossed_milestones(0, 8, 10) == [25, 50, 75]
    # And none again once announced, nor below the next one
    assert crossed_milestones(75, 8, 10) == []
    assert crossed_milestones(75, 9.99, 10) == []
    # And 100 only once the target is reached, or passed
    assert crossed_milestones(75, 10, 10) == [100]
    assert crossed_milestones(0, 12, 10) == list(MILESTONES)
    assert crossed_milestones(100, 20, 10) == []


def test_percentage_rounds_down_to_a_tenth_and_stops_at_100():
    # Given totals just short of a tenth, and past the target
    # When the percentage is shown
    # Then it is rounded down (99.96 % is not 100 % yet) and capped at 100
    assert percentage(99.96, 100) == 99.9
    assert percentage(99.99, 100) == 99.9
    assert percentage(2, 3) == 66.6
    assert percentage(100, 100) == 100.0
    assert percentage(150, 100) == 100.0
    assert percentage(0, 100) == 0.0


def test_each_kind_of_challenge_counts_in_its_unit():
    # Given each kind of challenge, with and without the coach's own word
    # When its unit is worked out
    # Then workouts, minutes and kilograms are fixed; a habit's is the coach's word, else the
    # habit's name, else "times"
    assert unit_for("workouts", None, None) == "workouts"
    assert unit_for("duration", None, None) == "minutes"
    assert unit_for("volume", None, None) == "kg"
    assert unit_for("volume", None, "lb") == "kg"
    assert unit_for("habit", "Water", "glasses") == "glasses"
    assert unit_for("habit", "Water", None) == "Water"
    assert unit_for("habit", None, None) == "times"


# --- 2. Duration and volume ----------------------------------------------------------------------

def test_minutes_add_up_in_a_duration_challenge(api, coach):
    # Given Dan in a challenge of 100 minutes
    challenge_id = api.create_community(coach, name="100 Minutes", challenge_type="duration", target_value=100)
    dan = api.sign_up("Dan")
    api.join(dan, challenge_id)

    # When he logs workouts of 30 and 45.5 minutes
    api.log_workout(dan, minutes=30)
    api.log_workout(dan, minutes=45.5)

    # Then he stands at 75.5 minutes of 100, milestone 75, announced 25 then 50 and 75
    row = mine(api, dan)[challenge_id]
    assert (row["total"], row["target"], row["unit"], row["percentage"], row["milestone"], row["status"]) == (
        75.5, 100, "minutes", 75.5, 75, "active")
    announced = community_notifications(api, dan)
    assert [(n["data"]["milestone"], n["data"]["total"]) for n in announced] == [(25, 30), (50, 75.5), (75, 75.5)]


def test_a_workout_logged_in_pounds_counts_in_kilograms(api, conn, coach):
    # Given Dan in a challenge of 10,000 kg
    challenge_id = api.create_community(coach, name="Ten Tonnes", challenge_type="volume", target_value=10000)
    dan = api.sign_up("Dan")
    api.join(dan, challenge_id)

    # When he logs 10,000 lb
    response = api.post("/workouts", dan, {"workout_name": "Beast Mode Legs", "duration_minutes": 30,
                                           "total_volume": 10000, "volume_unit": "lb"})

    # Then 4,535.92 kg count (10,000 x 0.45359237, two decimals): 45.3 %, rounded down
    assert response.status_code == 201, response.text
    workout = response.json["workout_log_id"]
    [fed] = response.json["result"]["community"]
    assert (fed["community_challenge_id"], fed["added"], fed["total"], fed["percentage"], fed["milestones"]) == (
        challenge_id, 4535.92, 4535.92, 45.3, [25])
    row = mine(api, dan)[challenge_id]
    assert (row["total"], row["unit"], row["percentage"], row["milestone"]) == (4535.92, "kg", 45.3, 25)
    assert progress_rows(conn, challenge_id) == [
        {"user_id": dan, "source_type": "workout", "source_id": workout, "value_achieved": 4535.92}]


def test_a_workout_with_no_volume_adds_nothing_to_a_volume_challenge(api, conn, coach):
    # Given Dan in a volume challenge and a workouts challenge
    volume = api.create_community(coach, name="Ten Tonnes", challenge_type="volume", target_value=10000)
    workouts = api.create_community(coach, target_value=10)
    dan = api.sign_up("Dan")
    api.join(dan, volume)
    api.join(dan, workouts)

    # When he logs a workout that moved no weight (a run), and one of 0.01 lb (0.0045 kg, which
    # is 0.00 kg at two decimals)
    run = api.log_workout(dan, minutes=40, volume=0, unit="kg", name="Easy Run")
    feather = api.log_workout(dan, minutes=1, volume=0.01, unit="lb", name="Feather")

    # Then the volume challenge is untouched, without a progress entry; both still count as
    # workouts
    rows = mine(api, dan)
    assert (rows[volume]["total"], rows[volume]["percentage"], rows[volume]["milestone"]) == (0, 0, 0)
    assert progress_rows(conn, volume) == []
    assert rows[workouts]["total"] == 2
    assert [r["source_id"] for r in progress_rows(conn, workouts)] == [run, feather]


def test_a_challenge_counts_the_amount_the_log_was_stored_with(api, conn, coach):
    # (The amount a challenge counts is the one the log was stored with, rounded by PostgreSQL,
    # not the request's number rounded again in Python, which rounds halves differently.)
    # Given Dan in a duration challenge and a habit challenge
    minutes = api.create_community(coach, name="Time", challenge_type="duration", target_value=100)
    water = api.create_community(coach, name="Water", challenge_type="habit", habit_name="water",
                                 target_value=100)
    dan = api.sign_up("Dan")
    api.join(dan, minutes)
    api.join(dan, water)

    # When he logs a workout of 30.125 minutes and 2.675 water (the API takes any number)
    workout = api.log_workout(dan, minutes=30.125, volume=0)
    habit = api.log_habit(dan, habit_name="water", value=2.675)

    # Then each challenge counts what his log shows
    stored = conn.execute(
        "SELECT (SELECT duration_minutes FROM workout_logs WHERE id = %s) AS minutes, "
        "       (SELECT value FROM habit_logs WHERE id = %s) AS water", (workout, habit)).fetchone()
    conn.rollback()
    listed = api.get("/workouts", dan).json["items"]
    assert [w["duration_minutes"] for w in listed] == [stored["minutes"]] == [30.13]
    assert stored["water"] == 2.68
    rows = mine(api, dan)
    assert (rows[minutes]["total"], rows[water]["total"]) == (stored["minutes"], stored["water"])


# --- 3. Habits -----------------------------------------------------------------------------------

def test_a_habit_challenge_counts_its_habit_whatever_the_case_and_spaces(api, conn, coach):
    # Given Dan in a challenge of 10 "Water" (no unit given)
    challenge_id = api.create_community(coach, name="Hydrate", challenge_type="habit", habit_name="Water",
                                        target_value=10)
    dan = api.sign_up("Dan")
    api.join(dan, challenge_id)

    # When he logs "water" once, " WATER " with value 3, and 5,000 "steps"
    api.log_habit(dan, habit_name="water")
    api.log_habit(dan, habit_name=" WATER ", value=3)
    api.log_habit(dan, habit_name="steps", value=5000)

    # Then the water counts by its value, 4 of 10 "Water"; the steps do not
    row = mine(api, dan)[challenge_id]
    assert (row["total"], row["unit"], row["percentage"], row["milestone"]) == (4, "Water", 40, 25)
    assert sorted(r["value_achieved"] for r in progress_rows(conn, challenge_id)) == [1, 3]


def test_a_habit_challenge_without_a_habit_counts_every_habit(api, coach):
    # Given Dan in a habit challenge naming no habit
    challenge_id = api.create_community(coach, name="Good Habits", challenge_type="habit", target_value=20)
    dan = api.sign_up("Dan")
    api.join(dan, challenge_id)

    # When he logs 2 water and 5.5 pages read
    api.log_habit(dan, habit_name="water", value=2)
    api.log_habit(dan, habit_name="reading", value=5.5)

    # Then both count: 7.5 "times" of 20
    row = mine(api, dan)[challenge_id]
    assert (row["total"], row["unit"], row["percentage"]) == (7.5, "times", 37.5)


def test_workouts_never_feed_habit_challenges_nor_habits_workout_challenges(api, conn, coach):
    # Given Dan in a habit challenge and in a workouts, a duration and a volume challenge
    habit = api.create_community(coach, name="Good Habits", challenge_type="habit", target_value=20)
    workout_kinds = [api.create_community(coach, name="Count", challenge_type="workouts", target_value=20),
                     api.create_community(coach, name="Time", challenge_type="duration", target_value=600),
                     api.create_community(coach, name="Load", challenge_type="volume", target_value=9000)]
    dan = api.sign_up("Dan")
    for challenge_id in (habit, *workout_kinds):
        api.join(dan, challenge_id)

    # When he logs one habit and one workout
    habit_log = api.log_habit(dan, habit_name="water", value=2)
    workout = api.log_workout(dan, minutes=30, volume=100, unit="kg")

    # Then the habit fed only the habit challenge, the workout only the workout ones
    rows = mine(api, dan)
    assert rows[habit]["total"] == 2
    assert [rows[c]["total"] for c in workout_kinds] == [1, 30, 100]
    assert [r["source_id"] for r in progress_rows(conn, habit)] == [habit_log]
    for challenge_id in workout_kinds:
        assert [r["source_id"] for r in progress_rows(conn, challenge_id)] == [workout]


# --- 4. One log, every matching participation ----------------------------------------------------

def test_one_workout_feeds_all_of_the_users_matching_challenges_and_no_one_elses(api, conn, coach):
    # Given Dan and Eve both in a workouts, a duration and a volume challenge
    count = api.create_community(coach, name="Count", challenge_type="workouts", target_value=4)
    time_ = api.create_community(coach, name="Time", challenge_type="duration", target_value=120)
    load = api.create_community(coach, name="Load", challenge_type="volume", target_value=1000)
    dan, eve = api.sign_up("Dan"), api.sign_up("Eve")
    for user in (dan, eve):
        for challenge_id in (count, time_, load):
            api.join(user, challenge_id)

    # When Dan logs one workout of 30 minutes and 250 kg
    workout = api.log_workout(dan, minutes=30, volume=250, unit="kg")

    # Then all three of his participations grew at once, each to 25 % and announced once
    rows = mine(api, dan)
    assert {c: (rows[c]["total"], rows[c]["percentage"], rows[c]["milestone"]) for c in (count, time_, load)} == {
        count: (1, 25, 25), time_: (30, 25, 25), load: (250, 25, 25)}
    assert sorted((n["community_challenge_id"], n["data"]["milestone"])
                  for n in community_notifications(api, dan)) == sorted(
        [(count, 25), (time_, 25), (load, 25)])
    for challenge_id in (count, time_, load):
        assert [(r["user_id"], r["source_id"]) for r in progress_rows(conn, challenge_id)] == [(dan, workout)]
    # And Eve's are untouched, and she heard nothing; Dan leads each challenge
    eve_rows = mine(api, eve)
    assert [eve_rows[c]["total"] for c in (count, time_, load)] == [0, 0, 0]
    assert community_notifications(api, eve) == []
    assert [(rows[c]["rank"], rows[c]["participants"]) for c in (count, time_, load)] == [(1, 2)] * 3


# --- 5. The window --------------------------------------------------------------------------------

def test_a_workout_performed_before_joining_does_not_count(api, conn, coach):
    # Given a challenge that started 10 days ago, which Dan joins now
    challenge_id = api.create_community(coach, target_value=10, duration_days=30)
    shift_into_past(conn, challenge_id, days=10)
    dan = api.sign_up("Dan")
    api.join(dan, challenge_id)

    # When he logs a workout he did 5 days ago (inside the window, before he joined), then one now
    api.log_workout(dan, performed_at=iso(now() - dt.timedelta(days=5)))
    today = api.log_workout(dan)

    # Then only today's counts
    row = mine(api, dan)[challenge_id]
    assert (row["total"], row["percentage"], row["days_left"]) == (1, 10, 20)
    assert [r["source_id"] for r in progress_rows(conn, challenge_id)] == [today]


def test_a_challenge_starting_tomorrow_can_be_joined_but_todays_workout_does_not_count(api, conn, coach):
    # Given a 30-day challenge starting tomorrow
    challenge_id = api.create_community(coach, target_value=10, duration_days=30,
                                        starts_at=iso(now() + dt.timedelta(days=1)))

    # When Dan joins it and logs a workout now
    dan = api.sign_up("Dan")
    api.join(dan, challenge_id)
    api.log_workout(dan)

    # Then he is in, with nothing counted yet, 31 days left
    row = mine(api, dan)[challenge_id]
    assert (row["total"], row["milestone"], row["status"], row["participants"], row["days_left"]) == (
        0, 0, "active", 1, 31)
    assert progress_rows(conn, challenge_id) == []
    assert community_notifications(api, dan) == []


def test_a_workout_performed_after_the_window_does_not_count(api, conn, coach):
    # Given Dan in a 30-day challenge whose window ended a day ago (the scheduler has not closed
    # it yet)
    challenge_id = api.create_community(coach, target_value=10, duration_days=30)
    dan = api.sign_up("Dan")
    api.join(dan, challenge_id)
    window = shift_into_past(conn, challenge_id, days=31)

    # When he logs a workout now, and one dated exactly at the end of the window
    api.log_workout(dan)
    api.log_workout(dan, performed_at=iso(window["ends_at"]))

    # Then neither counts
    row = mine(api, dan)[challenge_id]
    assert (row["total"], row["days_left"]) == (0, 0)
    assert progress_rows(conn, challenge_id) == []

    # And a workout he did inside the window, logged late, still does (the window is what counts)
    inside = api.log_workout(dan, performed_at=iso(window["ends_at"] - dt.timedelta(seconds=1)))
    assert mine(api, dan)[challenge_id]["total"] == 1
    assert [r["source_id"] for r in progress_rows(conn, challenge_id)] == [inside]


# --- 6. Exactly once under redelivery -------------------------------------------------------------

def test_the_same_log_recorded_twice_counts_once(api, conn, coach):
    # Given Dan in a workouts, a duration and a volume challenge, each a quarter away
    count = api.create_community(coach, name="Count", challenge_type="workouts", target_value=4)
    time_ = api.create_community(coach, name="Time", challenge_type="duration", target_value=120)
    load = api.create_community(coach, name="Load", challenge_type="volume", target_value=400)
    dan = api.sign_up("Dan")
    for challenge_id in (count, time_, load):
        api.join(dan, challenge_id)
    log = dict(user_id=dan, source_type="workout", source_id=new_id(), logged_at=now(),
               amounts={"workouts": 1, "duration": 30, "volume": 100})

    # When the same log is recorded once...
    with conn.transaction():
        first = record_activity(conn, **log)
    after_first = (mine(api, dan), community_notifications(api, dan), ledger(api, dan))

    # ...and again (a redelivery)
    with conn.transaction():
        again = record_activity(conn, **log)

    # Then the first fed all three to 25 %; the second fed nothing and changed nothing
    assert sorted((str(f["community_challenge_id"]), f["added"], f["milestones"]) for f in first) == sorted(
        [(count, 1, [25]), (time_, 30, [25]), (load, 100, [25])])
    assert again == []
    assert (mine(api, dan), community_notifications(api, dan), ledger(api, dan)) == after_first
    assert [after_first[0][c]["total"] for c in (count, time_, load)] == [1, 30, 100]
    assert len(after_first[1]) == 3
    assert sorted((e["action"], e["milestone"]) for e in after_first[2]) == [("challenge_milestone", 25)] * 3


def test_a_workout_job_delivered_twice_by_the_broker_is_carried_out_once(api, conn, coach):
    from workers.broker import broker
    from core.commands import build_message

    # Given Dan in a challenge of 4 workouts, and one workout job
    challenge_id = api.create_community(coach, target_value=4)
    dan = api.sign_up("Dan")
    api.join(dan, challenge_id)
    job_id, workout = new_id(), new_id()
    message = build_message("workouts.log", job_id, {
        "user_id": dan, "workout_log_id": workout, "activity_id": new_id(), "workout_name": "Legs",
        "duration_minutes": 30, "total_volume": 100, "volume_unit": "kg"})

    # When the broker delivers the same message twice at once, and once more after it was done
    broker.enqueue(message)
    broker.enqueue(message)
    wait_for_commands()
    first = (mine(api, dan)[challenge_id], community_notifications(api, dan), ledger(api, dan))
    broker.enqueue(message)
    wait_for_commands()

    # Then one workout is logged, paid once, counted once, announced once
    counts = conn.execute(
        "SELECT (SELECT count(*) FROM workout_logs WHERE id = %(w)s) AS logs, "
        "       (SELECT count(*) FROM activity_feed WHERE workout_log_id = %(w)s) AS posts, "
        "       (SELECT count(*) FROM points_ledger WHERE source_id = %(w)s) AS awards, "
        "       (SELECT count(*) FROM challenge_progress WHERE source_id = %(w)s) AS entries, "
        "       (SELECT count(*) FROM processed_commands WHERE job_id = %(j)s AND status = 'succeeded') AS done",
        {"w": workout, "j": job_id}).fetchone()
    conn.rollback()
    assert counts == {"logs": 1, "posts": 1, "awards": 1, "entries": 1, "done": 1}
    row = mine(api, dan)[challenge_id]
    assert (row["total"], row["percentage"], row["milestone"]) == (1, 25, 25)
    assert milestones_announced(api, dan, challenge_id) == [("community_milestone", 25)]
    assert [e["action"] for e in ledger(api, dan)] == ["challenge_milestone", "workout_completed"]
    assert (mine(api, dan)[challenge_id], community_notifications(api, dan), ledger(api, dan)) == first
    # And the job tells its outcome
    job = api.get(f"/jobs/{job_id}", dan)
    assert job.status_code == 200, job.text
    assert job.json["status"] == "succeeded"


# --- 7. The scheduler closes ended challenges ----------------------------------------------------

def test_the_scheduler_closes_an_ended_challenge_and_ends_whoever_had_not_finished(api, conn, coach):
    # Given Ann completed a challenge of 2 workouts and Ben stands at 50 %
    challenge_id = api.create_community(coach, target_value=2, duration_days=30, points_reward=50)
    ann, ben = api.sign_up("Ann"), api.sign_up("Ben")
    api.join(ann, challenge_id)
    api.join(ben, challenge_id)
    api.log_workout(ann)
    api.log_workout(ann)
    api.log_workout(ben)
    # And its window ended yesterday
    window = shift_into_past(conn, challenge_id, days=31)

    # When the scheduler's job runs
    closed = close_ended_community_challenges(conn)

    # Then it closed this one challenge: no longer listed as open, and shown as inactive
    assert closed == 1
    listed = api.get(COMMUNITY, ben)
    assert listed.status_code == 200, listed.text
    assert listed.json["items"] == []
    item = api.get(f"{COMMUNITY}/{challenge_id}", ben)
    assert item.status_code == 200, item.text
    assert (item.json["is_active"], item.json["days_left"]) == (False, 0)
    # And Ann is completed, Ben has ended at 50 %, both with 0 days left and their ranks
    ann_row, ben_row = mine(api, ann)[challenge_id], mine(api, ben)[challenge_id]
    assert (ann_row["status"], ann_row["total"], ann_row["percentage"], ann_row["milestone"],
            ann_row["days_left"], ann_row["rank"], ann_row["points_reward"]) == ("completed", 2, 100, 100, 0, 1, 50)
    assert (ben_row["status"], ben_row["total"], ben_row["percentage"], ben_row["milestone"],
            ben_row["days_left"], ben_row["rank"], ben_row["participants"]) == ("ended", 1, 50, 50, 0, 2, 2)

    # When Ben then logs a workout now, and one dated inside the old window
    before = (progress_rows(conn, challenge_id), community_notifications(api, ben))
    api.log_workout(ben)
    api.log_workout(ben, performed_at=iso(window["ends_at"] - dt.timedelta(hours=1)))

    # Then neither adds anything
    assert mine(api, ben)[challenge_id]["total"] == 1
    assert (progress_rows(conn, challenge_id), community_notifications(api, ben)) == before
    # And running the job again closes nothing more
    assert close_ended_community_challenges(conn) == 0
    assert mine(api, ann)[challenge_id]["status"] == "completed"


# --- 8. Totals are their progress entries --------------------------------------------------------

def test_totals_always_equal_the_sum_of_their_progress_entries(api, conn, coach):
    # Given Dan and Eve in a workouts, a duration, a volume, a "Water" and an any-habit challenge
    challenges = {
        "count": api.create_community(coach, name="Count", challenge_type="workouts", target_value=5),
        "time": api.create_community(coach, name="Time", challenge_type="duration", target_value=100),
        "load": api.create_community(coach, name="Load", challenge_type="volume", target_value=5000),
        "water": api.create_community(coach, name="Water", challenge_type="habit", habit_name="Water",
                                      target_value=10),
        "any": api.create_community(coach, name="Habits", challenge_type="habit", target_value=10),
    }
    dan, eve = api.sign_up("Dan"), api.sign_up("Eve")
    for user in (dan, eve):
        for challenge_id in challenges.values():
            api.join(user, challenge_id)

    # When they log a mixed series: lb and kg, no volume, habits matching or not, a log dated
    # before joining, and a log recorded twice
    api.log_workout(dan, minutes=30, volume=10000, unit="lb")
    api.log_workout(dan, minutes=45.5, volume=0, unit="kg")
    api.log_workout(dan, minutes=20, volume=100, unit="kg")
    api.log_workout(dan, minutes=10, volume=100, performed_at=iso(now() - dt.timedelta(days=2)))
    api.log_habit(dan, habit_name="water", value=3)
    api.log_habit(dan, habit_name="steps", value=2.5)
    api.log_habit(dan, habit_name=" Water", value=1.25)
    api.log_workout(eve, minutes=15.25, volume=33.3, unit="lb")
    api.log_habit(eve, habit_name="reading", value=4)
    log = dict(user_id=eve, source_type="habit", source_id=new_id(), logged_at=now(), amounts={"habit": 7},
               habit_name="WATER")
    for _ in range(2):
        with conn.transaction():
            record_activity(conn, **log)

    # Then every total is exactly the sum of its progress entries
    rows = totals_against_progress(conn)
    assert len(rows) == 10
    assert [(r["total"], r["summed"]) for r in rows] == [(r["summed"], r["summed"]) for r in rows]
    # And the totals are what was logged, in each challenge's unit
    dan_rows, eve_rows = mine(api, dan), mine(api, eve)
    assert {k: dan_rows[c]["total"] for k, c in challenges.items()} == {
        "count": 3, "time": 95.5, "load": 4635.92, "water": 4.25, "any": 6.75}
    # 33.3 lb = 15.1046... kg, counted as 15.1
    assert {k: eve_rows[c]["total"] for k, c in challenges.items()} == {
        "count": 1, "time": 15.25, "load": 15.1, "water": 7, "any": 11}
    assert eve_rows[challenges["any"]]["status"] == "completed"


# --- 9. Concurrent logs ----------------------------------------------------------------------------

def test_concurrent_workouts_by_one_user_add_up_exactly_and_announce_each_milestone_once(api, app, conn, coach):
    # Given Dan in a challenge of 8 workouts and one of 480 minutes
    count = api.create_community(coach, name="Count", challenge_type="workouts", target_value=8,
                                 points_reward=80)
    time_ = api.create_community(coach, name="Time", challenge_type="duration", target_value=480)
    dan = api.sign_up("Dan")
    api.join(dan, count)
    api.join(dan, time_)
    body = {"workout_name": "Circuit", "duration_minutes": 30, "total_volume": 0, "volume_unit": "kg"}

    # When he logs 8 workouts at once, from 8 clients
    def log(_):
        return Api(app).post("/workouts", dan, body, wait=10)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(log, range(8)))

    # Then all 8 were logged and count: 8 of 8 (completed), 240 of 480 minutes
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    rows = mine(api, dan)
    assert (rows[count]["total"], rows[count]["percentage"], rows[count]["status"]) == (8, 100, "completed")
    assert (rows[time_]["total"], rows[time_]["percentage"], rows[time_]["milestone"]) == (240, 50, 50)
    # And each milestone was announced once, in order, and the completion once
    assert milestones_announced(api, dan, count) == [
        ("community_milestone", 25), ("community_milestone", 50), ("community_milestone", 75),
        ("community_milestone", 100), ("community_completed", 100)]
    assert milestones_announced(api, dan, time_) == [("community_milestone", 25), ("community_milestone", 50)]
    awards = sorted((e["action"], e["milestone"] or 0) for e in ledger(api, dan))
    assert awards == sorted([("workout_completed", 0)] * 8 + [("challenge_completed", 0)]
                            + [("challenge_milestone", m) for m in (25, 50, 75, 100, 25, 50)])
    assert all((r["total"], r["entries"]) in {(8, 8), (240, 8)} for r in totals_against_progress(conn))
