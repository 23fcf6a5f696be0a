"""Your points ledger and streak."""

from marshmallow import fields

from api.schemas.common import Response, next_cursor_field
from api.schemas.fields import one_of
from core.rules.community_rules import MILESTONES


class PointsEntry(Response):
    id = fields.UUID()
    action = fields.Str(validate=one_of(
        ["workout_completed", "habit_logged", "challenge_milestone", "challenge_completed"]))
    points = fields.Int()
    base_points = fields.Int()
    multiplier = fields.Float()
    streak_days = fields.Int(allow_none=True)
    source_id = fields.UUID(metadata={"description": "The workout or habit log, or the participation."})
    milestone = fields.Int(allow_none=True, validate=one_of(MILESTONES))
    community_challenge_id = fields.UUID(allow_none=True)
    challenge_name = fields.Str(allow_none=True)
    created_at = fields.DateTime()


class Points(Response):
    total = fields.Int()
    current_streak = fields.Int(metadata={"description": "Consecutive days with a workout or habit, "
                                          "in your time zone, up to today (or yesterday)."})
    multiplier = fields.Float(metadata={"description": "What a workout or habit logged now is multiplied by."})
    items = fields.List(fields.Nested(PointsEntry))
    next_cursor = next_cursor_field()
