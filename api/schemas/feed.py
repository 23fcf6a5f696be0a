"""Your friends' activity feed: workout and challenge-result posts."""

from marshmallow import fields

from api.schemas.common import Response, next_cursor_field
from api.schemas.fields import AnyOf, one_of
from api.schemas.users import UserSummary
from api.schemas.workouts import VOLUME_UNITS

ACTIVITY_TYPES = ("workout_completed", "challenge_victory", "challenge_completed")


class WorkoutPost(Response):
    """A workout_completed post."""

    workout_log_id = fields.UUID()
    workout_name = fields.Str()
    duration_minutes = fields.Float()
    total_volume = fields.Float()
    volume_unit = fields.Str(validate=one_of(VOLUME_UNITS))


class ChallengeResultPost(Response):
    """A challenge_victory or challenge_completed post: the athlete against the target,
    volumes in the unit the athlete logged."""

    workout_name = fields.Str()
    challenger_name = fields.Str()
    challenger_id = fields.UUID()
    challenge_id = fields.UUID()
    did_beat = fields.Bool()
    your_duration = fields.Float()
    your_volume = fields.Float()
    their_duration = fields.Float()
    their_volume = fields.Float()
    volume_unit = fields.Str(validate=one_of(VOLUME_UNITS))
    time_difference = fields.Float()
    volume_difference = fields.Float()


class FeedItem(Response):
    id = fields.UUID()
    user = fields.Nested(UserSummary)
    activity_type = fields.Str(validate=one_of(ACTIVITY_TYPES))
    activity_data = AnyOf(WorkoutPost, ChallengeResultPost, metadata={
        "description": "WorkoutPost for workout_completed, ChallengeResultPost otherwise."})
    workout_log_id = fields.UUID(allow_none=True)
    visibility = fields.Str(validate=one_of(["public", "friends", "private"]))
    created_at = fields.DateTime()
    can_beat_this = fields.Bool(metadata={"description": "A friend's workout you can take on."})


class FeedPage(Response):
    items = fields.List(fields.Nested(FeedItem))
    next_cursor = next_cursor_field()
