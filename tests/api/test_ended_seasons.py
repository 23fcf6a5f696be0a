"""Every season that has ended is final (issue 25): the weeks and months before the scheduler
started closing seasons, and any it never closed, say `final: true` and show what happened in
them; the season in progress and all time never do; a week that does not exist is refused."""

import datetime as dt

import pytest

from core.rules.seasons import CLOSE_GRACE, is_final, season_end, season_of
from tests.api.support import assert_problem, auth
from tests.api.test_stats_and_leaderboard import board, play

UTC = dt.timezone.utc


def played_at(conn, challenge_id: str, at: dt.datetime) -> None:
    """The challenge as if it had been sent and settled at `at` (its trigger moves its counts to
    the seasons of that time)."""
    conn.execute("UPDATE workout_challenges SET created_at = %(at)s, completed_at = %(at)s + interval '1 hour'"
                 " WHERE id = %(id)s", {"at": at, "id": challenge_id})
    conn.commit()


def wins(answer: dict) -> dict[str, int]:
    return {r["user"]["display_name"]: r["wins"] for r in answer["items"] if r["wins"]}


@pytest.fixture
def old_seasons(api, conn, cast):
    """Sarah beat John's challenges in 2026-W47 (twice), in December 2025 and in 2020-W53 (the
    ISO week from Monday 28 December 2020 to Sunday 3 January 2021); the scheduler closed none."""
    when = [dt.datetime(2026, 11, 17, 12, tzinfo=UTC), dt.datetime(2026, 11, 18, 12, tzinfo=UTC),
            dt.datetime(2025, 12, 10, 12, tzinfo=UTC), dt.datetime(2020, 12, 30, 12, tzinfo=UTC)]
    for at in when:
        played_at(conn, play(api, cast.john, cast.sarah, cast.workout, "win"), at)
    return cast


@pytest.mark.parametrize("query,season,period,sarah_wins", [
    ({"period": "week", "season": "2026-W47"}, "2026-W47", "week", 2),
    ({"season": "2026-W47"}, "2026-W47", "week", 2),
    ({"period": "month", "season": "2025-12"}, "2025-12", "month", 1),
    ({"season": "2020-W53"}, "2020-W53", "week", 1),
    ({"season": "2020-12"}, "2020-12", "month", 1),
])
def test_an_old_season_the_scheduler_never_closed_is_final_with_what_happened_in_it(
        api, old_seasons, query, season, period, sarah_wins):
    # Given Sarah's wins in seasons that ended long ago, none of them closed by the scheduler
    # When she reads one of those seasons' boards
    answer = board(api, old_seasons.sarah, **query)

    # Then it is final, and shows the wins she had in it
    assert (answer["season"], answer["period"], answer["final"]) == (season, period, True)
    assert wins(answer) == {"Sarah": sarah_wins}
    assert answer["me"]["wins"] == sarah_wins


def test_a_season_with_nothing_in_it_that_ended_is_final_too(api, cast):
    # Given nobody played in March 2024
    # When Sarah reads its board
    answer = board(api, cast.sarah, season="2024-03")

    # Then it is final, and empty
    assert (answer["final"], answer["items"], answer["me"]["wins"]) == (True, [], 0)


@pytest.mark.parametrize("period", ["all", "week", "month"])
def test_the_season_in_progress_and_all_time_are_not_final(api, old_seasons, period):
    # Given Sarah's old wins
    # When she reads the current board of a period, and the current season named explicitly
    now = dt.datetime.now(UTC)
    current = board(api, old_seasons.sarah, period=period)
    named = board(api, old_seasons.sarah, season=season_of(period, now)) if period != "all" else current

    # Then neither is final
    assert current["final"] is False and named["final"] is False


def test_a_season_is_final_a_few_minutes_after_it_ends():
    # Given the week 2026-W48, which ends at midnight between Sunday 29 and Monday 30 November
    end = season_end("2026-W48")
    assert end == dt.datetime(2026, 11, 30, tzinfo=UTC)

    # When asked at its end, and when the grace for results committed just after midnight is over
    # Then it is final only then (the scheduler closes it at the same time); all time never is
    assert not is_final("2026-W48", end)
    assert not is_final("2026-W48", end + CLOSE_GRACE - dt.timedelta(seconds=1))
    assert is_final("2026-W48", end + CLOSE_GRACE)
    assert not is_final("all", end + dt.timedelta(days=10_000))


@pytest.mark.parametrize("season", ["2021-W53", "2026-W54", "2019-W53"])
def test_a_week_that_does_not_exist_is_refused_naming_season(api, season):
    # Given Lisa (2021 and 2019 have 52 ISO weeks, 2020 and 2026 have 53)
    lisa = api.sign_up("Lisa")

    # When she asks for a week 53 of a year without one
    response = api.client.simulate_get("/api/v1/challenges/leaderboard", query_string=f"season={season}",
                                       headers=auth(lisa))

    # Then 422 naming `season`
    assert_problem(response, 422, "validation_error", "season")
