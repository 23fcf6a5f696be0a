"""Community challenges: creating and joining one, its leaderboard, your participations, and
CommunityProgress, what a logged workout or habit added to each (api.schemas.workouts, .habits)."""

import datetime as dt

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import Response, next_cursor_field
from api.schemas.fields import Moment, Text, one_of
from api.schemas.users import UserSummary
from core.rules.community_rules import FIXED_UNITS, MILESTONES

COMMUNITY_TYPES = ("workouts", "duration", "volume", "habit")
MAX_TARGET = 1_000_000_000
PARTICIPATION_STATUSES = ("active", "completed", "ended")


class CommunityChallengeCreate(Schema):
    name = Text(required=True, validate=[validate.Length(min=1, max=120)])
    description = Text(load_default="", blank_is_default=True, validate=validate.Length(max=2000))
    challenge_type = fields.Str(required=True, validate=validate.OneOf(COMMUNITY_TYPES),
                                metadata={"description": "workouts: +1 per workout; duration: its "
                                          "minutes; volume: its kilograms; habit: +value per habit log."})
    habit_name = Text(load_default=None, allow_none=True,
                      validate=[validate.Length(min=1, max=80)],
                      metadata={"description": "habit only: count just this habit (any habit if absent)."})
    target_value = fields.Float(required=True, allow_nan=False,
                                validate=validate.Range(min=0.01, max=MAX_TARGET))
    unit = Text(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=30)],
                metadata={"description": "Fixed for workouts (workouts), duration (minutes) and volume "
                          "(kg); a habit challenge's own word, default the habit's name."})
    duration_days = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=365))
    starts_at = Moment(load_default=None, allow_none=True,
                       metadata={"description": "Default now; up to a year ahead."})
    points_reward = fields.Int(load_default=100, strict=True, validate=validate.Range(min=0, max=100_000))
    max_participants = fields.Int(load_default=None, allow_none=True, strict=True,
                                  validate=validate.Range(min=1, max=1_000_000))

    @validates_schema
    def habit_name_for_habits(self, data, **kwargs):
        if data.get("habit_name") is not None and data.get("challenge_type") != "habit":
            raise ValidationError("Only a habit challenge names a habit.", "habit_name")

    @validates_schema
    def unit_fits_type(self, data, **kwargs):
        fixed = FIXED_UNITS.get(data.get("challenge_type"))
        if fixed and data.get("unit") not in (None, fixed):
            raise ValidationError(f"A {data['challenge_type']} challenge counts in {fixed}.", "unit")

    @validates_schema
    def window_ahead(self, data, **kwargs):
        starts_at = data.get("starts_at")
        if starts_at is None or "duration_days" not in data:
            return
        now = dt.datetime.now(dt.timezone.utc)
        if starts_at > now + dt.timedelta(days=365):
            raise ValidationError("Must be within a year from now.", "starts_at")
        if starts_at + dt.timedelta(days=data["duration_days"]) <= now:
            raise ValidationError("The challenge would already be over.", "starts_at")


class CommunityLeaderboardQuery(Schema):
    limit = fields.Int(load_default=10, validate=validate.Range(min=1, max=100))


class CommunityProgress(Response):
    community_challenge_id = fields.UUID()
    added = fields.Float(metadata={"description": "What this log added, in the challenge's unit."})
    total = fields.Float()
    target = fields.Float()
    percentage = fields.Float()
    milestones = fields.List(fields.Int(validate=one_of(MILESTONES)),
                             metadata={"description": "Milestones this log crossed (usually none)."})


class CommunityJoined(Response):
    community_challenge_id = fields.UUID()
    participant_id = fields.UUID()
    joined_at = fields.DateTime()
    participant_count = fields.Int(metadata={"description": "You included."})


class CommunityChallengeFields(Response):
    """A community challenge as stored."""

    id = fields.UUID()
    name = fields.Str()
    description = fields.Str()
    challenge_type = fields.Str(validate=one_of(COMMUNITY_TYPES))
    habit_name = fields.Str(allow_none=True)
    target_value = fields.Float()
    unit = fields.Str()
    duration_days = fields.Int()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    points_reward = fields.Int()
    max_participants = fields.Int(allow_none=True)
    participant_count = fields.Int()
    is_active = fields.Bool()
    created_by = fields.UUID(allow_none=True)
    created_at = fields.DateTime()


class CommunityChallenge(CommunityChallengeFields):
    """A community challenge as you see it."""

    days_left = fields.Int(metadata={"description": "Whole days until ends_at, rounded up."})
    joined = fields.Bool(metadata={"description": "Whether you take part."})


class CreatedCommunityChallenge(CommunityChallengeFields):
    closed_at = fields.DateTime(allow_none=True, metadata={"description": "Set when the scheduler closes it."})


class CommunityChallengeCreated(Response):
    community_challenge = fields.Nested(CreatedCommunityChallenge)


class CommunityChallengePage(Response):
    items = fields.List(fields.Nested(CommunityChallenge))
    next_cursor = next_cursor_field()


class Participation(Response):
    community_challenge_id = fields.UUID()
    name = fields.Str()
    challenge_type = fields.Str(validate=one_of(COMMUNITY_TYPES))
    total = fields.Float()
    target = fields.Float()
    unit = fields.Str()
    percentage = fields.Float(metadata={"description": "total / target, capped at 100."})
    milestone = fields.Int(validate=one_of((0,) + MILESTONES),
                           metadata={"description": "The highest milestone reached."})
    rank = fields.Int(metadata={"description": "By total; ties go to whoever got there first."})
    participants = fields.Int()
    days_left = fields.Int()
    points_reward = fields.Int()
    status = fields.Str(validate=one_of(PARTICIPATION_STATUSES))
    joined_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    ends_at = fields.DateTime()


class Participations(Response):
    items = fields.List(fields.Nested(Participation))


class CommunityRank(Response):
    rank = fields.Int()
    user = fields.Nested(UserSummary)
    total = fields.Float()
    percentage = fields.Float()
    status = fields.Str(validate=one_of(PARTICIPATION_STATUSES))
    is_you = fields.Bool()


class CommunityLeaderboard(Response):
    community_challenge_id = fields.UUID()
    target = fields.Float()
    unit = fields.Str()
    participants = fields.Int()
    items = fields.List(fields.Nested(CommunityRank))
    me = fields.Nested(CommunityRank, allow_none=True,
                       metadata={"description": "Your own row wherever it ranks; null if you have not joined."})
