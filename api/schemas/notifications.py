"""Notifications: listing them, what each kind says (`data`) and marking them read."""

from marshmallow import fields, validate

from api.schemas.common import Page, Response, next_cursor_field
from api.schemas.fields import AnyOf, one_of
from api.schemas.users import UserSummary
from core.rules.community_rules import MILESTONES

NOTIFICATION_TYPES = ("challenge_received", "challenge_accepted", "challenge_declined", "challenge_completed",
                      "challenge_beaten", "challenge_abandoned", "challenge_retried", "challenge_expired",
                      "community_milestone", "community_completed", "leaderboard_podium")


class NotificationQuery(Page):
    unread = fields.Bool(load_default=False)


class NotificationMarkedRead(Response):
    notification_id = fields.UUID()
    is_read = fields.Bool()
    read_at = fields.DateTime()


class NotificationsMarkedRead(Response):
    marked_read = fields.Int(metadata={"description": "How many were unread."})


class ChallengeNotificationData(Response):
    """What a challenge_* notification says about its challenge."""

    workout_name = fields.Str()
    did_beat = fields.Bool(allow_none=True)
    quit_reason = fields.Str(allow_none=True)


class CommunityNotificationData(Response):
    """What a community_* notification says: the challenge, the milestone and what it paid."""

    challenge_name = fields.Str()
    target = fields.Float()
    unit = fields.Str()
    milestone = fields.Int(validate=one_of(MILESTONES))
    total = fields.Float()
    points = fields.Int()


class PodiumNotificationData(Response):
    """What a leaderboard_podium notification says: the season that closed and where you finished.
    A rank is null where you were not on that podium (top 3 among you and your friends, top 10
    of everyone)."""

    season = fields.Str(metadata={"example": "2026-W48"})
    period = fields.Str(validate=one_of(["week", "month"]))
    wins = fields.Int()
    friends_rank = fields.Int(allow_none=True, validate=validate.Range(min=1, max=3))
    global_rank = fields.Int(allow_none=True, validate=validate.Range(min=1, max=10))


class Notification(Response):
    id = fields.UUID()
    challenge_id = fields.UUID(allow_none=True)
    community_challenge_id = fields.UUID(allow_none=True)
    notification_type = fields.Str(validate=one_of(NOTIFICATION_TYPES))
    data = AnyOf(ChallengeNotificationData, CommunityNotificationData, PodiumNotificationData, metadata={
        "description": "ChallengeNotificationData for challenge_*, CommunityNotificationData for "
                       "community_*, PodiumNotificationData for leaderboard_podium."})
    is_read = fields.Bool()
    read_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    actor = fields.Nested(UserSummary, allow_none=True, metadata={"description": "Who caused it."})


class NotificationPage(Response):
    items = fields.List(fields.Nested(Notification))
    unread_count = fields.Int()
    next_cursor = next_cursor_field()
