"""Leaderboard seasons as plain values: which week and month a moment is in (UTC), where a
season begins and ends, and which have ended."""

import datetime as dt

import pytest

from core.rules.seasons import ended_seasons, period_of, season_end, season_of, season_start

UTC = dt.timezone.utc
SUNDAY_NIGHT = dt.datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC)
MONDAY_MIDNIGHT = dt.datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def test_a_week_ends_at_midnight_between_sunday_and_monday_utc():
    # Given the last second of Sunday 29 November 2026 and the first of the Monday after
    # When each is placed in its week and month
    # Then the week changes at midnight UTC and the month does not
    assert (season_of("week", SUNDAY_NIGHT), season_of("week", MONDAY_MIDNIGHT)) == ("2026-W48", "2026-W49")
    assert season_of("month", SUNDAY_NIGHT) == season_of("month", MONDAY_MIDNIGHT) == "2026-11"
    # and a time given in another zone counts in UTC: Monday 00:30 in Berlin is still Sunday
    berlin = dt.timezone(dt.timedelta(hours=1))
    assert season_of("week", dt.datetime(2026, 11, 30, 0, 30, tzinfo=berlin)) == "2026-W48"


def test_iso_weeks_belong_to_their_iso_year():
    # Given 1 January 2027 (a Friday) and 31 December 2024 (a Tuesday)
    # Then they are in week 53 of 2026 and week 1 of 2025
    assert season_of("week", dt.datetime(2027, 1, 1, 12, tzinfo=UTC)) == "2026-W53"
    assert season_of("week", dt.datetime(2024, 12, 31, 12, tzinfo=UTC)) == "2025-W01"


@pytest.mark.parametrize("season,start,end", [
    ("2026-W49", dt.datetime(2026, 11, 30, tzinfo=UTC), dt.datetime(2026, 12, 7, tzinfo=UTC)),
    ("2026-12", dt.datetime(2026, 12, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC)),
    ("2027-02", dt.datetime(2027, 2, 1, tzinfo=UTC), dt.datetime(2027, 3, 1, tzinfo=UTC)),
])
def test_a_season_runs_from_its_start_to_the_next_ones(season, start, end):
    assert (season_start(season), season_end(season)) == (start, end)


@pytest.mark.parametrize("season,period", [
    ("all", "all"), ("2026-W49", "week"), ("2026-W53", "week"), ("2026-11", "month"),
    ("2025-W53", None), ("2026-13", None), ("2026-00", None), ("2026-W00", None), ("26-W01", None),
    ("2026-w49", None), ("2026-1", None),
])
def test_only_real_weeks_and_months_are_seasons(season, period):
    assert period_of(season) == period


def test_the_seasons_ended_are_the_last_two_weeks_and_months_oldest_first():
    # Given the first moment of week 49, and five minutes into December
    # Then the ended ones are the two weeks before and the two months before, oldest first
    assert ended_seasons(MONDAY_MIDNIGHT) == ["2026-09", "2026-10", "2026-W47", "2026-W48"]
    assert ended_seasons(dt.datetime(2026, 12, 1, 0, 5, tzinfo=UTC)) == [
        "2026-10", "2026-11", "2026-W47", "2026-W48"]
