"""Product analytics, for analysts (a token with the role `analyst`): the period of days every
report takes (and the `limit` of the top lists), and each report's answer, whose items are the
rows of its CSV (api.resources.analytics). Nothing here names anyone: `pairs` holds user ids."""

import datetime as dt

from marshmallow import Schema, ValidationError, fields, post_load, validate

from api.schemas.common import Response
from api.schemas.fields import one_of
from core.rules.challenges import QUIT_REASONS

EARLIEST_DAY = dt.date(2000, 1, 1)
DEFAULT_DAYS = 30
MAX_DAYS = 366
QUIT_CATEGORIES = (*QUIT_REASONS, "other")


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def not_before_2000(day: dt.date) -> None:
    """The app did not exist: a day like 0001-01-01 is a client's empty date, not a period."""
    if day < EARLIEST_DAY:
        raise ValidationError("Must not be before 2000-01-01.")


class AnalyticsPeriod(Schema):
    from_day = fields.Date(data_key="from", validate=not_before_2000, metadata={
        "description": f"The first day counted (UTC, included); default {DEFAULT_DAYS - 1} days "
                       f"before `to`, so {DEFAULT_DAYS} days in all. At most {MAX_DAYS} days "
                       "before `to`, and not after it.",
        "example": "2026-11-01"})
    to_day = fields.Date(data_key="to", load_default=utc_today, validate=not_before_2000, metadata={
        "description": "The last day counted (UTC, included); default today.",
        "example": "2026-11-30"})

    @post_load
    def the_days(self, data, **kwargs):
        to_day = data["to_day"]
        from_day = data.get("from_day", to_day - dt.timedelta(days=DEFAULT_DAYS - 1))
        if from_day > to_day:
            raise ValidationError("Must not be after `to` (today by default).", "from")
        if (to_day - from_day).days + 1 > MAX_DAYS:
            raise ValidationError(f"At most {MAX_DAYS} days: must not be more than {MAX_DAYS - 1} days "
                                  "before `to` (today by default).", "from")
        return {**data, "from_day": from_day, "to_day": to_day}


class AnalyticsTopPeriod(AnalyticsPeriod):
    limit = fields.Int(load_default=20, validate=validate.Range(min=1, max=100),
                       metadata={"description": "How many of the top to list."})


def rate(description: str) -> fields.Float:
    return fields.Float(allow_none=True, metadata={"description": description})


def count(description: str) -> fields.Int:
    return fields.Int(metadata={"description": description})


class WorkoutFigures(Response):
    workout_key = fields.Str(metadata={"description": "The workout: its name in lower case with single "
                                                      "spaces, as the crowd's figures group names."})
    workout_name = fields.Str(metadata={"description": "Its spelling sent most often in the period."})
    challenges_sent = count("Challenges sent to beat it (not rematches).")
    completed = count("Of those, completed by the challenged athlete.")
    won = count("Of those completed, beaten (faster or as fast, and at least as much volume).")
    abandoned = count("Of those, quit.")
    completion_rate = fields.Float(metadata={"description": "completed / challenges_sent."})
    win_rate = rate("won / (completed + abandoned); null when none was finished.")
    abandonment_rate = rate("abandoned / (completed + abandoned); null when none was finished.")
    target_duration_minutes = rate(
        "A calibrated target: the median duration of the completed attempts (about half of them "
        "were this fast or faster); null without one.")
    target_total_volume_kg = rate(
        "A calibrated target: the median volume of the completed attempts, in kilograms (about half "
        "of them lifted this much or more); null without one.")


class HourFigures(Response):
    iso_weekday = fields.Int(validate=validate.Range(min=1, max=7),
                             metadata={"description": "1 Monday to 7 Sunday, for the sender."})
    hour = fields.Int(validate=validate.Range(min=0, max=23),
                      metadata={"description": "The hour of the day, in the sender's own time zone."})
    challenges_sent = count("Challenges sent then (not rematches).")


class PairFigures(Response):
    user_a = fields.UUID(metadata={"description": "The smaller id of the two."})
    user_b = fields.UUID()
    challenges = count("Challenges sent between them, either way (not rematches).")
    sent_by_a = count("Of those, sent by user_a.")
    sent_by_b = count("Of those, sent by user_b.")


class QuitFigures(Response):
    week = fields.Date(metadata={"description": "The Monday of the ISO week (UTC) of the quits."})
    category = fields.Str(validate=one_of(QUIT_CATEGORIES), metadata={
        "description": "The preset reason picked, or for the athlete's own words the preset nearest "
                       "in meaning, or `other` (also while those words are not classified yet)."})
    quits = count("Quits in that week in that category (rematches' too).")


class WeekFigures(Response):
    week = fields.Date(metadata={"description": "The Monday of the ISO week (UTC) the challenges were "
                                                "sent in."})
    sent = count("Challenges sent (not rematches, not withdrawn).")
    accepted = count("Of those, taken on (BEAT THIS starts accepted), finished or not.")
    completed = count("Of those, completed.")
    won = count("Of those completed, beaten by the challenged athlete.")
    abandoned = count("Of those, quit.")
    expired = count("Of those, left unanswered until they expired.")
    declined = count("Of those, declined.")


class AnalyticsReport(Response):
    first_day = fields.Date(metadata={"description": "The period's first day counted (UTC): `from`."})
    last_day = fields.Date(metadata={"description": "The period's last day counted (UTC): `to`."})


class WorkoutsReport(AnalyticsReport):
    items = fields.List(fields.Nested(WorkoutFigures), metadata={
        "description": "The most challenged first (then by workout_key)."})


class HoursReport(AnalyticsReport):
    items = fields.List(fields.Nested(HourFigures), metadata={
        "description": "All 168 hours of the week, Monday 0:00 first."})


class PairsReport(AnalyticsReport):
    items = fields.List(fields.Nested(PairFigures), metadata={
        "description": "The most challenges first (then by ids)."})


class QuitReasonsReport(AnalyticsReport):
    items = fields.List(fields.Nested(QuitFigures), metadata={
        "description": "By week, then most quits first; categories without a quit are left out."})


class CompletionReport(AnalyticsReport):
    items = fields.List(fields.Nested(WeekFigures), metadata={
        "description": "Every ISO week of the period, the first and last counting only their days in it."})
