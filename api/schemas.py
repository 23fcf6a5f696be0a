"""marshmallow schemas: every request body and query string is loaded through one of these,
and the OpenAPI document is generated from the same classes."""

import zoneinfo

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

MIN_DURATION_MINUTES = 0.01  # stored with two decimals: anything smaller would become 0
MAX_DURATION_MINUTES = 1440
MAX_VOLUME = 1_000_000


class Text(fields.Str):
    """A string PostgreSQL can store: no NUL characters."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Must not contain NUL characters.")
        return text


class UUIDString(fields.UUID):
    """A UUID, validated, kept as its canonical string (what messages and SQL take)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return str(super()._deserialize(value, attr, data, **kwargs))


def finite_number(**range_args):
    return fields.Float(required=True, allow_nan=False, validate=validate.Range(**range_args))


def valid_timezone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError("Must be an IANA time zone name, e.g. Europe/Berlin.") from None


class ProfileUpdate(Schema):
    display_name = Text(validate=validate.Length(min=1, max=80))
    avatar_url = fields.Url(allow_none=True, schemes={"http", "https"}, validate=validate.Length(max=2048))
    timezone = Text(validate=[validate.Length(max=64), valid_timezone])

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Give at least one of display_name, avatar_url, timezone.", "_schema")


class FriendRequest(Schema):
    user_id = UUIDString(required=True)


class WorkoutLog(Schema):
    workout_name = Text(required=True, validate=validate.Length(min=1, max=120))
    duration_minutes = finite_number(min=MIN_DURATION_MINUTES, max=MAX_DURATION_MINUTES)
    total_volume = finite_number(min=0, max=MAX_VOLUME)
    volume_unit = Text(load_default="lb", validate=validate.OneOf(["lb", "kg"]))
    notes = Text(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    performed_at = fields.AwareDateTime(load_default=None, allow_none=True)


class ChallengeCreate(Schema):
    to_user_ids = fields.List(UUIDString(), required=True, validate=validate.Length(min=1, max=20))
    workout_log_id = UUIDString(required=True)
    message = Text(load_default=None, allow_none=True, validate=validate.Length(max=500))

    @validates_schema
    def distinct_recipients(self, data, **kwargs):
        recipients = data.get("to_user_ids") or []
        if len(set(recipients)) != len(recipients):
            raise ValidationError("Each friend may appear only once.", "to_user_ids")


class ChallengeComplete(Schema):
    duration_minutes = finite_number(min=MIN_DURATION_MINUTES, max=MAX_DURATION_MINUTES)
    total_volume = finite_number(min=0, max=MAX_VOLUME)
    volume_unit = Text(load_default="lb", validate=validate.OneOf(["lb", "kg"]))


class Page(Schema):
    cursor = fields.Str(load_default=None)
    limit = fields.Int(load_default=20, validate=validate.Range(min=1, max=100))


class NotificationQuery(Page):
    unread = fields.Bool(load_default=False)


# Responses (documentation of what the API returns; not used to load anything).

class Job(Schema):
    job_id = fields.UUID()
    status = fields.Str(validate=validate.OneOf(["queued", "running", "succeeded", "failed"]))
    result = fields.Dict(allow_none=True)
    error = fields.Dict(allow_none=True)
    created_at = fields.Str()
    updated_at = fields.Str()
    challenge_ids = fields.List(fields.UUID())
    workout_log_id = fields.UUID()
    activity_id = fields.UUID()


class ProblemDetails(Schema):
    type = fields.Str()
    title = fields.Str()
    status = fields.Int()
    detail = fields.Str()
    code = fields.Str()
    errors = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()))
    job_id = fields.UUID()


class Profile(Schema):
    id = fields.UUID()
    display_name = fields.Str()
    avatar_url = fields.Str(allow_none=True)
    timezone = fields.Str()
    created_at = fields.DateTime()


class UserSummary(Schema):
    id = fields.UUID()
    display_name = fields.Str()
    avatar_url = fields.Str(allow_none=True)


class Friend(UserSummary):
    friends_since = fields.DateTime()


class FriendRequestItem(Schema):
    id = fields.UUID()
    display_name = fields.Str()
    avatar_url = fields.Str(allow_none=True)
    direction = fields.Str(validate=validate.OneOf(["incoming", "outgoing"]))
    created_at = fields.DateTime()


class Friends(Schema):
    friends = fields.List(fields.Nested(Friend))
    requests = fields.List(fields.Nested(FriendRequestItem))


class WorkoutItem(WorkoutLog):
    id = fields.UUID()
    created_at = fields.DateTime()


class WorkoutPage(Schema):
    items = fields.List(fields.Nested(WorkoutItem))
    next_cursor = fields.Str(allow_none=True)


class FeedItem(Schema):
    id = fields.UUID()
    user = fields.Nested(UserSummary)
    activity_type = fields.Str()
    activity_data = fields.Dict()
    workout_log_id = fields.UUID(allow_none=True)
    visibility = fields.Str()
    created_at = fields.DateTime()


class FeedPage(Schema):
    items = fields.List(fields.Nested(FeedItem))
    next_cursor = fields.Str(allow_none=True)


class Challenge(Schema):
    id = fields.UUID()
    from_user_id = fields.UUID()
    to_user_id = fields.UUID()
    workout_log_id = fields.UUID(allow_none=True)
    activity_id = fields.UUID(allow_none=True)
    workout_name = fields.Str()
    workout_data = fields.Dict()
    challenge_message = fields.Str(allow_none=True)
    status = fields.Str()
    accepted_at = fields.DateTime(allow_none=True)
    declined_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    abandoned_at = fields.DateTime(allow_none=True)
    expired_at = fields.DateTime(allow_none=True)
    challenger_stats = fields.Dict(allow_none=True)
    challenged_stats = fields.Dict(allow_none=True)
    did_beat = fields.Bool(allow_none=True)
    quit_reason = fields.Str(allow_none=True)
    partial_stats = fields.Dict(allow_none=True)
    is_retry = fields.Bool()
    retried_from_challenge_id = fields.UUID(allow_none=True)
    retry_count = fields.Int()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    expires_at = fields.DateTime()
    direction = fields.Str(validate=validate.OneOf(["sent", "received"]))
    result = fields.Str(validate=validate.OneOf(
        ["victory", "failed", "quit", "in_progress", "pending", "declined", "expired"]))
    opponent = fields.Nested(UserSummary)


class Notification(Schema):
    id = fields.UUID()
    challenge_id = fields.UUID(allow_none=True)
    notification_type = fields.Str()
    data = fields.Dict()
    is_read = fields.Bool()
    read_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    actor = fields.Nested(UserSummary, allow_none=True)


class NotificationPage(Schema):
    items = fields.List(fields.Nested(Notification))
    unread_count = fields.Int()
    next_cursor = fields.Str(allow_none=True)


class Health(Schema):
    status = fields.Str()
    checks = fields.Dict(keys=fields.Str(), values=fields.Str())

