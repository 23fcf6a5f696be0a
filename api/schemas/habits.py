"""Logging a habit."""

from marshmallow import Schema, fields, validate

from api.schemas.common import Response
from api.schemas.community import CommunityProgress
from api.schemas.fields import LOG_TIME_RULE, Moment, Text, log_time


class HabitLog(Schema):
    habit_name = Text(required=True, validate=[validate.Length(min=1, max=80)])
    value = fields.Float(load_default=1, allow_nan=False, validate=validate.Range(min=0.01, max=10_000),
                         metadata={"description": "How much of the habit (glasses, pages...); default 1."})
    logged_at = Moment(load_default=None, allow_none=True, validate=log_time,
                       metadata={"description": LOG_TIME_RULE})


class HabitLogged(Response):
    habit_log_id = fields.UUID()
    points = fields.Int(metadata={"description": "Points earned, streak multiplier included."})
    community = fields.List(fields.Nested(CommunityProgress),
                            metadata={"description": "Each habit challenge it counted towards."})
