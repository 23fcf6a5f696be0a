"""Points: the streak multiplier, streaks counted in the user's own time zone, the ledger behind
GET /points and GET /me, and awards that are paid once however often they are delivered.

Workouts and habits go through the API and the real worker; the redelivery tests call the rules
on a test connection, as a redelivered message would."""

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.rules.points import award, award_activity, scaled, streak_multiplier, streak_now
from core.rules.users import update_profile
from core.rules.workouts import log_workout
from tests.api.support import assert_problem


# Helpers ---------------------------------------------------------------------------------------

def athlete(api, name: str, timezone: str | None = None) -> str:
    """A signed-up user, in `timezone` if given (UTC otherwise)."""
    user = api.sign_up(name)
    if timezone:
        response = api.put("/me", user, {"timezone": timezone})
        assert response.status_code == 200, response.text
        assert response.json["result"]["user"]["timezone"] == timezone
    return user


def points(api, user: str, query: str = "") -> dict:
    response = api.get(f"/points{query}", user)
    assert response.status_code == 200, response.text
    return response.json


def awards(api, user: str) -> list[dict]:
    """The user's ledger, oldest first (GET /points lists it newest first)."""
    return list(reversed(points(api, user, "?limit=100")["items"]))


def award_for(api, user: str, source_id: str) -> dict:
    [entry] = [entry for entry in points(api, user, "?limit=100")["items"] if entry["source_id"] == source_id]
    return entry


def workout_paid(api, user: str, performed_at: str | None = None) -> int:
    """Log a workout through the API; the points its job says it earned."""
    body = {"workout_name": "Beast Mode Legs", "duration_minutes": 30, "total_volume": 1000}
    if performed_at:
        body["performed_at"] = performed_at
    response = api.post("/workouts", user, body)
    assert response.status_code == 201, response.text
    return response.json["result"]["points"]


def june(day: int) -> str:
    """Midday UTC on a day of June 2026 (no daylight-saving change anywhere near)."""
    return f"2026-06-{day:02d}T12:00:00Z"


def zone_off_utc_date() -> str:
    """A time zone whose date today is not UTC's date, so 'today' must be the user's own:
    Kiritimati (UTC+14) is already tomorrow from 10:00 UTC, Pago Pago (UTC-11) still yesterday
    until 11:00 UTC."""
    return "Pacific/Kiritimati" if dt.datetime.now(dt.timezone.utc).hour >= 10 else "Pacific/Pago_Pago"


def local_noon(timezone: str, days_ago: int) -> str:
    """Midday, `days_ago` days before the user's local today, with its offset."""
    zone = ZoneInfo(timezone)
    today = dt.datetime.now(zone).date()
    return dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(12), tzinfo=zone).isoformat()


def new_id() -> str:
    return str(uuid.uuid4())


def ledger_rows(conn, **where) -> list[dict]:
    clauses = " AND ".join(f"{column} = %({column})s" for column in where)
    rows = conn.execute(f"SELECT * FROM points_ledger WHERE {clauses}", where).fetchall()
    conn.rollback()
    return rows


# The rules on their own -------------------------------------------------------------------------

@pytest.mark.parametrize(("streak_days", "multiplier"), [
    (0, "1"), (1, "1"), (2, "1"), (3, "1.25"), (6, "1.25"), (7, "1.5"), (30, "1.5")])
def test_the_multiplier_grows_at_three_and_seven_days(streak_days, multiplier):
    # Given a streak of `streak_days` days
    # When its multiplier is looked up
    found = streak_multiplier(streak_days)
    # Then it is x1 below 3 days, x1.25 from 3, x1.5 from 7
    assert found == Decimal(multiplier)


@pytest.mark.parametrize(("base", "multiplier", "expected"), [
    (25, "1", 25), (25, "1.25", 31), (10, "1.25", 13), (25, "1.5", 38), (10, "1.5", 15)])
def test_scaled_points_are_whole_with_halves_rounded_up(base, multiplier, expected):
    # Given base points and a multiplier
    # When they are scaled
    paid = scaled(base, Decimal(multiplier))
    # Then the result is whole points, 31.25 -> 31, 12.5 -> 13, 37.5 -> 38
    assert paid == expected


@pytest.mark.parametrize(("today", "yesterday", "expected"), [
    pytest.param(3, 2, (3, 3), id="logged today: today's streak, and another log today keeps it"),
    pytest.param(0, 4, (4, 5), id="last logged yesterday: still alive, today's log extends it"),
    pytest.param(0, 0, (0, 1), id="neither: no streak, a log now starts one"),
])
def test_the_streak_now_and_the_streak_a_log_now_would_count_with(today, yesterday, expected):
    # Given the streak through today and through yesterday
    # When the current streak is worked out
    found = streak_now(today, yesterday)
    # Then it is (current streak, streak a log made now would count with)
    assert found == expected


# Days are the user's own --------------------------------------------------------------------------

@pytest.mark.parametrize(("timezone", "first", "second", "streaks"), [
    pytest.param("America/New_York", "2026-06-10T23:30:00-04:00", "2026-06-11T00:30:00-04:00", [1, 2],
                 id="New York: 23:30 and 00:30 local are two days"),
    pytest.param("UTC", "2026-06-11T03:30:00Z", "2026-06-11T04:30:00Z", [1, 1],
                 id="UTC: the same two instants are one day"),
    pytest.param("Asia/Tokyo", "2026-06-10T23:30:00Z", "2026-06-11T00:30:00Z", [1, 1],
                 id="Tokyo: 08:30 and 09:30 local are one day"),
    pytest.param("UTC", "2026-06-11T08:30:00+09:00", "2026-06-11T09:30:00+09:00", [1, 2],
                 id="UTC: the same two instants as Tokyo's are two days"),
])
def test_streak_days_are_counted_in_the_users_time_zone(api, timezone, first, second, streaks):
    # Given a user in `timezone`
    user = athlete(api, "Dan", timezone)

    # When they log a workout at each of two instants an hour apart, across midnight in one zone
    api.log_workout(user, performed_at=first)
    api.log_workout(user, performed_at=second)

    # Then the second counts as a new streak day only if the user's local date changed
    assert [entry["streak_days"] for entry in awards(api, user)] == streaks


def test_the_day_the_clocks_go_back_is_one_local_day_of_25_hours(api):
    # Given a New York user; clocks went back at 02:00 on Sunday 1 November 2026 (EDT -> EST)
    user = athlete(api, "Dan", "America/New_York")

    # When they log at 00:30 EDT and 23:30 EST that Sunday (04:30 UTC on 1 and 2 November),
    # and at 00:30 EST on Monday
    api.log_workout(user, performed_at="2026-11-01T00:30:00-04:00")
    api.log_workout(user, performed_at="2026-11-01T23:30:00-05:00")
    api.log_workout(user, performed_at="2026-11-02T00:30:00-05:00")

    # Then the first two are the same local day and Monday's extends the streak to 2
    assert [entry["streak_days"] for entry in awards(api, user)] == [1, 1, 2]


def test_changing_time_zone_counts_the_next_log_in_the_new_zone(api):
    # Given a UTC user who logged at 03:30 UTC on 11 June
    user = athlete(api, "Dan")
    api.log_workout(user, performed_at="2026-06-11T03:30:00Z")

    # When they move to New York and log an hour later (00:30 local on 11 June, the first log
    # now falling on 10 June at 23:30 local)
    athlete_moves = api.put("/me", user, {"timezone": "America/New_York"})
    assert athlete_moves.status_code == 200, athlete_moves.text
    api.log_workout(user, performed_at="2026-06-11T04:30:00Z")

    # Then the second log counts two local days in a row
    assert [entry["streak_days"] for entry in awards(api, user)] == [1, 2]


# The multiplier, paid ------------------------------------------------------------------------------

def test_the_third_day_in_a_row_is_paid_a_quarter_more(api):
    # Given a user who worked out on 1 and 2 June
    user = athlete(api, "Dan")
    paid = [workout_paid(api, user, june(1)), workout_paid(api, user, june(2))]

    # When they work out on 3 June
    paid.append(workout_paid(api, user, june(3)))

    # Then the job says 25, 25, 31 and the ledger shows why: 25 x 1.25 at a 3-day streak
    assert paid == [25, 25, 31]
    assert [(e["action"], e["base_points"], e["multiplier"], e["streak_days"], e["points"])
            for e in awards(api, user)] == [
        ("workout_completed", 25, 1.0, 1, 25),
        ("workout_completed", 25, 1.0, 2, 25),
        ("workout_completed", 25, 1.25, 3, 31)]


def test_the_seventh_day_in_a_row_is_paid_half_again(api):
    # Given a user
    user = athlete(api, "Dan")

    # When they work out on seven days in a row
    paid = [workout_paid(api, user, june(day)) for day in range(1, 8)]

    # Then days 3 to 6 are paid 31 and the 7th 38 (25 x 1.5, rounded up)
    assert paid == [25, 25, 31, 31, 31, 31, 38]
    assert [e["streak_days"] for e in awards(api, user)] == [1, 2, 3, 4, 5, 6, 7]
    assert points(api, user)["total"] == sum(paid)


def test_a_missed_day_resets_the_streak_and_the_multiplier(api):
    # Given a user with a 3-day streak (1 to 3 June)
    user = athlete(api, "Dan")
    for day in (1, 2, 3):
        workout_paid(api, user, june(day))

    # When they skip 4 June and work out on 5 and 6 June
    paid = [workout_paid(api, user, june(5)), workout_paid(api, user, june(6))]

    # Then the streak starts again at 1 and they are paid the base 25
    assert paid == [25, 25]
    assert [e["streak_days"] for e in awards(api, user)] == [1, 2, 3, 1, 2]


def test_several_logs_on_one_day_are_one_streak_day(api):
    # Given a user who worked out twice on 1 June
    user = athlete(api, "Dan")
    workout_paid(api, user, june(1))
    workout_paid(api, user, "2026-06-01T18:00:00Z")

    # When they work out on 2 June
    paid = workout_paid(api, user, june(2))

    # Then that is a 2-day streak, not 3: no multiplier yet
    assert paid == 25
    assert [e["streak_days"] for e in awards(api, user)] == [1, 1, 2]


def test_a_habit_bridges_workouts_into_one_streak(api):
    # Given a user who worked out on 1 June and logged water on 2 June
    user = athlete(api, "Dan")
    workout_paid(api, user, june(1))
    habit = api.log_habit(user, habit_name="water", logged_at=june(2))

    # When they work out on 3 June
    paid = workout_paid(api, user, june(3))

    # Then the habit kept the streak going: day 3, paid 31; the habit itself was paid 10 on day 2
    assert paid == 31
    assert [(e["action"], e["streak_days"], e["points"]) for e in awards(api, user)] == [
        ("workout_completed", 1, 25), ("habit_logged", 2, 10), ("workout_completed", 3, 31)]
    assert award_for(api, user, habit)["base_points"] == 10


def test_a_habit_on_a_streaks_third_day_is_paid_13(api):
    # Given a user who worked out on 1 and 2 June
    user = athlete(api, "Dan")
    workout_paid(api, user, june(1))
    workout_paid(api, user, june(2))

    # When they log a habit on 3 June
    habit = api.log_habit(user, habit_name="water", logged_at=june(3))

    # Then it is paid 10 x 1.25 = 12.5, rounded up to 13
    entry = award_for(api, user, habit)
    assert (entry["action"], entry["base_points"], entry["multiplier"], entry["streak_days"],
            entry["points"]) == ("habit_logged", 10, 1.25, 3, 13)


# GET /points ------------------------------------------------------------------------------------------

def test_the_total_is_the_sum_of_the_ledger_listed_newest_first(api):
    # Given a user who logged, in this order, workouts on 1, 2 and 3 June and a habit on 3 June
    user = athlete(api, "Dan")
    sources = [api.log_workout(user, performed_at=june(day)) for day in (1, 2, 3)]
    sources.append(api.log_habit(user, logged_at=june(3)))

    # When they look at their points
    body = points(api, user)

    # Then the ledger lists the last award first, and the total is 25 + 25 + 31 + 13
    assert [e["source_id"] for e in body["items"]] == list(reversed(sources))
    assert body["total"] == sum(e["points"] for e in body["items"]) == 94
    assert body["next_cursor"] is None


def test_pages_of_two_give_every_award_exactly_once(api):
    # Given a user with five awards
    user = athlete(api, "Dan")
    for day in (1, 2, 3):
        api.log_workout(user, performed_at=june(day))
    api.log_habit(user, logged_at=june(3))
    api.log_habit(user, logged_at=june(4))
    everything = points(api, user, "?limit=100")["items"]

    # When they read the ledger two at a time, following next_cursor
    pages, cursor = [], None
    while True:
        page = points(api, user, "?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    # Then the pages hold 2, 2 and 1 awards: all five, once each, in the same order as one page
    assert [len(items) for items in pages] == [2, 2, 1]
    assert [e["id"] for items in pages for e in items] == [e["id"] for e in everything]
    assert len(everything) == 5


def test_each_user_sees_only_their_own_points(api):
    # Given Ann with a workout and Ben with a habit
    ann, ben = athlete(api, "Ann"), athlete(api, "Ben")
    ann_workout = api.log_workout(ann, performed_at=june(1))
    ben_habit = api.log_habit(ben, logged_at=june(1))

    # When each looks at their points
    ann_points, ben_points = points(api, ann), points(api, ben)

    # Then each sees their own award only
    assert ([e["source_id"] for e in ann_points["items"]], ann_points["total"]) == ([ann_workout], 25)
    assert ([e["source_id"] for e in ben_points["items"]], ben_points["total"]) == ([ben_habit], 10)


@pytest.mark.parametrize(("days", "paid_today", "multiplier"), [(2, 25, 1.0), (3, 31, 1.25), (6, 31, 1.25)])
def test_a_streak_through_today_shows_its_days_and_multiplier(api, days, paid_today, multiplier):
    # Given a user whose local date is not UTC's, who logged on each of the `days - 1` days
    # before today (their days)
    timezone = zone_off_utc_date()
    user = athlete(api, "Dan", timezone)
    for days_ago in range(days - 1, 0, -1):
        api.log_workout(user, performed_at=local_noon(timezone, days_ago))

    # When they log a workout now
    paid = workout_paid(api, user)

    # Then it is paid at the streak's multiplier, the current streak counts today, and the
    # multiplier shown is the one another log today would get
    body = points(api, user)
    assert paid == paid_today
    assert (body["current_streak"], body["multiplier"]) == (days, multiplier)


def test_a_streak_that_reached_yesterday_is_alive_and_advertises_what_today_pays(api):
    # Given a user whose local date is not UTC's, who logged the day before yesterday and
    # yesterday (their days), and not yet today
    timezone = zone_off_utc_date()
    user = athlete(api, "Dan", timezone)
    api.log_workout(user, performed_at=local_noon(timezone, 2))
    api.log_workout(user, performed_at=local_noon(timezone, 1))

    # When they look at their points
    before = points(api, user)

    # Then the streak still counts 2 days, and the multiplier is the one a log today would get
    assert (before["current_streak"], before["multiplier"]) == (2, 1.25)
    # And a workout now is paid at that multiplier, extending the streak to 3
    assert workout_paid(api, user) == 31
    assert points(api, user)["current_streak"] == 3


def test_a_streak_that_ended_before_yesterday_is_over(api):
    # Given a user whose local date is not UTC's, who logged on three days in a row ending the
    # day before yesterday (their days)
    timezone = zone_off_utc_date()
    user = athlete(api, "Dan", timezone)
    for days_ago in (4, 3, 2):
        api.log_workout(user, performed_at=local_noon(timezone, days_ago))

    # When they look at their points
    body = points(api, user)

    # Then there is no current streak and a log now would be paid x1
    assert (body["current_streak"], body["multiplier"]) == (0, 1.0)
    assert body["total"] == 25 + 25 + 31


def test_a_new_user_has_no_points_no_streak_and_no_multiplier(api):
    # Given a user who just signed up
    user = athlete(api, "Dan")

    # When they look at their points
    body = points(api, user)

    # Then everything is empty
    assert body == {"total": 0, "current_streak": 0, "multiplier": 1.0, "items": [], "next_cursor": None}


@pytest.mark.parametrize(("query", "field"), [
    ("?limit=0", "limit"), ("?limit=101", "limit"), ("?limit=many", "limit"),
    ("?cursor=garbage", "cursor"), ("?cursor=bm90fGF8dXVpZA==", "cursor"),
])
def test_a_bad_page_request_is_refused_naming_the_field(api, query, field):
    # Given a user with an award
    user = athlete(api, "Dan")
    api.log_workout(user)

    # When they ask for a page with a bad limit or a cursor the API never gave out
    response = api.get(f"/points{query}", user)

    # Then it is a 422 problem naming that field
    assert_problem(response, 422, "validation_error", field)


# GET /me and other profiles ------------------------------------------------------------------------------

def test_my_profile_shows_my_points_and_nobody_elses_profile_shows_theirs(api):
    # Given Ann with a 3-day streak of workouts and a habit, and Ben
    ann, ben = athlete(api, "Ann"), athlete(api, "Ben")
    for day in (1, 2, 3):
        api.log_workout(ann, performed_at=june(day))
    api.log_habit(ann, logged_at=june(3))

    # When Ann looks at her profile and Ben at Ann's
    mine = api.get("/me", ann)
    hers = api.get(f"/users/{ann}", ben)

    # Then Ann's profile shows the total of her ledger; the one Ben sees has no points at all
    assert mine.status_code == 200, mine.text
    assert mine.json["points"] == points(api, ann)["total"] == 94
    assert hers.status_code == 200, hers.text
    assert hers.json["display_name"] == "Ann"
    assert "points" not in hers.json


# Paid once, however often it is delivered --------------------------------------------------------------------

@pytest.fixture
def dan(conn):
    user_id = new_id()
    with conn.transaction():
        update_profile(conn, user_id=user_id, display_name="Dan", timezone="America/New_York")
    return user_id


def test_an_award_delivered_twice_is_written_once(conn, dan):
    # Given a workout award paid once
    source = new_id()
    with conn.transaction():
        first = award(conn, user_id=dan, action="workout_completed", source_id=source, points=25)

    # When the same award is delivered again
    with conn.transaction():
        again = award(conn, user_id=dan, action="workout_completed", source_id=source, points=25)

    # Then the second pays nothing and the ledger holds one row
    assert (first, again) == (25, 0)
    assert [row["points"] for row in ledger_rows(conn, source_id=source)] == [25]


def test_each_milestone_of_a_participation_is_paid_once(conn, dan):
    # Given a participation whose 25 % milestone was paid
    participation = new_id()
    with conn.transaction():
        first = award(conn, user_id=dan, action="challenge_milestone", source_id=participation,
                      points=20, milestone=25)

    # When 25 % is delivered again, then 50 % for the first time
    with conn.transaction():
        again = award(conn, user_id=dan, action="challenge_milestone", source_id=participation,
                      points=20, milestone=25)
        fifty = award(conn, user_id=dan, action="challenge_milestone", source_id=participation,
                      points=20, milestone=50)

    # Then 25 % was paid once and 50 % once
    assert (first, again, fifty) == (20, 0, 20)
    assert sorted(row["milestone"] for row in ledger_rows(conn, source_id=participation)) == [25, 50]


def test_a_redelivered_workout_award_pays_nothing_more(conn, dan):
    # Given a workout logged (and paid) on the third day of a streak
    workout = new_id()
    with conn.transaction():
        for day in (1, 2):
            log_workout(conn, user_id=dan, workout_log_id=new_id(), activity_id=new_id(),
                        workout_name="Legs", duration_minutes=30, total_volume=100, performed_at=june(day))
        logged = log_workout(conn, user_id=dan, workout_log_id=workout, activity_id=new_id(),
                             workout_name="Legs", duration_minutes=30, total_volume=100,
                             performed_at=june(3))

    # When its award is made again (a redelivery), after a back-dated workout on 31 May made
    # that day's streak 4
    with conn.transaction():
        log_workout(conn, user_id=dan, workout_log_id=new_id(), activity_id=new_id(),
                    workout_name="Legs", duration_minutes=30, total_volume=100,
                    performed_at="2026-05-31T12:00:00Z")
        again = award_activity(conn, user_id=dan, action="workout_completed", source_id=workout,
                               at=dt.datetime(2026, 6, 3, 12, tzinfo=dt.timezone.utc))

    # Then nothing more is paid: one row, as first written
    assert (logged["points"], again) == (31, 0)
    assert [(row["points"], row["streak_days"]) for row in ledger_rows(conn, source_id=workout)] == [(31, 3)]
