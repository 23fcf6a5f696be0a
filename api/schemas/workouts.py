"""Logging a workout and listing yours. A workout's bounds and volume units live here: a
challenge's attempt (api.schemas.challenges) is held to the same, and a feed post
(api.schemas.feed) shows the same units."""

from marshmallow import Schema, fields, validate

from api.schemas.common import Response, next_cursor_field
from api.schemas.community import CommunityProgress
from api.schemas.fields import LOG_TIME_RULE, Moment, Text, finite_number, log_time, one_of

MIN_DURATION_MINUTES = 0.01  # stored with two decimals: anything smaller would become 0
MAX_DURATION_MINUTES = 1440
MAX_VOLUME = 1_000_000
VOLUME_UNITS = ("lb", "kg")


class WorkoutLog(Schema):
    workout_name = Text(required=True, validate=validate.Length(min=1, max=120))
    duration_minutes = finite_number(min=MIN_DURATION_MINUTES, max=MAX_DURATION_MINUTES)
    total_volume = finite_number(min=0, max=MAX_VOLUME)
    volume_unit = Text(load_default="lb", validate=validate.OneOf(VOLUME_UNITS))
    notes = Text(load_default=None, allow_none=True, blank_is_default=True,
                 validate=validate.Length(max=1000))
    performed_at = Moment(load_default=None, allow_none=True, validate=log_time,
                          metadata={"description": LOG_TIME_RULE})


class WorkoutLogged(Response):
    workout_log_id = fields.UUID()
    activity_id = fields.UUID(metadata={"description": "Its workout_completed post in your friends' feed."})
    points = fields.Int(metadata={"description": "Points earned, streak multiplier included."})
    community = fields.List(fields.Nested(CommunityProgress),
                            metadata={"description": "Each community challenge it counted towards."})


class WorkoutItem(Response):
    id = fields.UUID()
    workout_name = fields.Str()
    duration_minutes = fields.Float()
    total_volume = fields.Float()
    volume_unit = fields.Str(validate=one_of(VOLUME_UNITS))
    notes = fields.Str(allow_none=True)
    performed_at = fields.DateTime()
    created_at = fields.DateTime()


class WorkoutPage(Response):
    items = fields.List(fields.Nested(WorkoutItem))
    next_cursor = next_cursor_field()
