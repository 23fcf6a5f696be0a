"""The friend-challenge leaderboard: its query (scope, period, season, order) and its rows."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import Response
from api.schemas.fields import one_of
from api.schemas.users import UserSummary
from core.rules.seasons import PERIODS, period_of


def season_key(value: str) -> None:
    if value == "all" or period_of(value) is None:
        raise ValidationError("Must be an ISO week (YYYY-Www, e.g. 2026-W49) or a month (YYYY-MM).")


class LeaderboardQuery(Schema):
    scope = fields.Str(load_default="global", validate=validate.OneOf(["global", "friends"]))
    limit = fields.Int(load_default=20, validate=validate.Range(min=1, max=100))
    period = fields.Str(validate=validate.OneOf(PERIODS), metadata={
        "description": "`week` (this ISO week, UTC), `month` (this calendar month, UTC) or `all` "
                       "(the default; with `season`, the season's own period)."})
    season = fields.Str(validate=[validate.Regexp(r"^\d{4}-(W\d{2}|\d{2})$"), season_key], metadata={
        "description": "A week (`2026-W49`) or month (`2026-11`) up to the current one; a past "
                       "season shows its final board.", "example": "2026-W48"})

    order = fields.Str(load_default="wins", validate=validate.OneOf(["wins", "rating"]), metadata={
        "description": "`wins` (wins, then win rate, then fewer quits) or `rating` (skill rating; "
                       "a rating is all-time, so only with period=all)."})

    @validates_schema
    def rating_is_all_time(self, data, **kwargs):
        if data.get("order") == "rating" and (data.get("period", "all") != "all" or "season" in data):
            raise ValidationError("order=rating ranks all time: use it without period or season.", "order")

    @validates_schema
    def season_in_period(self, data, **kwargs):
        if "season" in data and data.get("period", period_of(data["season"])) != period_of(data["season"]):
            raise ValidationError(f"Must be a season of period={data['period']}.", "season")


class LeaderboardRow(Response):
    rank = fields.Int()
    user = fields.Nested(UserSummary)
    wins = fields.Int()
    losses = fields.Int()
    quits = fields.Int()
    win_rate = fields.Float()
    retries = fields.Int()
    retries_won = fields.Int()
    challenges_sent = fields.Int()
    rating = fields.Float(metadata={"description": "The skill rating's value (SkillRating.value)."})


class Leaderboard(Response):
    scope = fields.Str(validate=one_of(["global", "friends"]))
    period = fields.Str(validate=one_of(PERIODS))
    season = fields.Str(metadata={"description": "`all`, or the week (`2026-W49`) or month (`2026-12`) shown."})
    order = fields.Str(validate=one_of(["wins", "rating"]))
    final = fields.Bool(metadata={"description": "True for every week or month that has ended (a few "
                                                 "minutes after its last second): no result counts in "
                                                 "it any more. False for the current season and all time."})
    items = fields.List(fields.Nested(LeaderboardRow))
    me = fields.Nested(LeaderboardRow)
