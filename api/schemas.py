"""marshmallow schemas: every request body and query string is loaded through one of these,
and the OpenAPI document is generated from the same classes."""

import datetime as dt
import zoneinfo

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from workers.community_rules import FIXED_UNITS

MIN_DURATION_MINUTES = 0.01  # stored with two decimals: anything smaller would become 0
MAX_DURATION_MINUTES = 1440
MAX_VOLUME = 1_000_000


def storable(text: str) -> None:
    """Text PostgreSQL can store: UTF-8 without NUL characters (JSON's `\\ud83d` escapes can
    spell half an emoji, which has no UTF-8 form)."""
    if "\x00" in text:
        raise ValidationError("Must not contain NUL characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Must be valid Unicode: an unpaired surrogate escape was sent.") from None


class Text(fields.Str):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        storable(text)
        return text


class UUIDString(fields.UUID):
    """A UUID, validated, kept as its canonical string (what messages and SQL take)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return str(super()._deserialize(value, attr, data, **kwargs))


class Moment(fields.AwareDateTime):
    """A time with its UTC offset that also exists in UTC (so "9999-12-31T23:59:59-14:00",
    which would be in the year 10000, is refused) and is stored in UTC."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(dt.timezone.utc)
        except OverflowError:
            raise ValidationError("Must be a time between the years 1 and 9999 in UTC.") from None


CLOCK_SKEW = dt.timedelta(minutes=5)


def not_in_the_future(moment: dt.datetime) -> None:
    """A log of something done: later than now (give or take a phone's clock) would let it
    count for a challenge before it happened."""
    if moment > dt.datetime.now(dt.timezone.utc) + CLOCK_SKEW:
        raise ValidationError("Must not be in the future.")


def finite_number(**range_args):
    return fields.Float(required=True, allow_nan=False, validate=validate.Range(**range_args))


# Looked up in a set, never on disk: a name is checked before it can reach the file system
# (where "Europe" is a directory and 256 bytes is too long a file name).
TIME_ZONES = frozenset(zoneinfo.available_timezones())


def valid_timezone(name: str) -> None:
    if name not in TIME_ZONES:
        raise ValidationError("Must be an IANA time zone name, e.g. Europe/Berlin.")


class ProfileUpdate(Schema):
    display_name = Text(validate=validate.Length(min=1, max=80))
    avatar_url = fields.Url(allow_none=True, schemes={"http", "https"},
                            validate=[validate.Length(max=2048), storable])
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
    performed_at = Moment(load_default=None, allow_none=True, validate=not_in_the_future)


QUIT_REASONS = ("Too hard for me 😓", "Not feeling it today 😴", "This is impossible 😭",
                "I give up 🏳️", "Maybe next time 😅", "I'm not ready yet 🙈")
MAX_QUIT_REASON = 200
MAX_MESSAGE = 500


class ChallengeCreate(Schema):
    """Either a direct challenge (`to_user_ids` and `workout_log_id`) or BEAT THIS
    (`activity_id` of a friend's workout post)."""

    to_user_ids = fields.List(UUIDString(), validate=validate.Length(min=1, max=20))
    workout_log_id = UUIDString()
    activity_id = UUIDString()
    message = Text(load_default=None, allow_none=True, validate=validate.Length(max=MAX_MESSAGE))

    @validates_schema
    def one_kind(self, data, **kwargs):
        if "activity_id" in data:
            extra = {name: ["Not allowed with activity_id (BEAT THIS)."]
                     for name in ("to_user_ids", "workout_log_id") if name in data}
            if extra:
                raise ValidationError(extra)
            return
        missing = {name: ["Missing data for required field."]
                   for name in ("to_user_ids", "workout_log_id") if name not in data}
        if missing:
            raise ValidationError(missing)

    @validates_schema
    def distinct_recipients(self, data, **kwargs):
        recipients = data.get("to_user_ids") or []
        if len(set(recipients)) != len(recipients):
            raise ValidationError("Each friend may appear only once.", "to_user_ids")


class ChallengeComplete(Schema):
    duration_minutes = finite_number(min=MIN_DURATION_MINUTES, max=MAX_DURATION_MINUTES)
    total_volume = finite_number(min=0, max=MAX_VOLUME)
    volume_unit = Text(load_default="lb", validate=validate.OneOf(["lb", "kg"]))


class PartialStats(Schema):
    """What the athlete had done when they quit: zero is a fair answer here."""

    duration_minutes = finite_number(min=0, max=MAX_DURATION_MINUTES)
    total_volume = finite_number(min=0, max=MAX_VOLUME)
    volume_unit = Text(load_default="lb", validate=validate.OneOf(["lb", "kg"]))


def not_blank(text: str) -> None:
    if not text.strip():
        raise ValidationError("Must not be blank.")


class ChallengeAbandon(Schema):
    quit_reason = Text(required=True, validate=[validate.Length(min=1, max=MAX_QUIT_REASON), not_blank],
                       metadata={"description": "One of GET /challenges/quit-reasons, or your own words."})
    partial_stats = fields.Nested(PartialStats, load_default=None, allow_none=True)


class ChallengeRetry(Schema):
    message = Text(load_default=None, allow_none=True, validate=validate.Length(max=MAX_MESSAGE),
                   metadata={"description": 'Defaults to "Round 2! 💪" (3 for a third round, ...).'})


class HabitLog(Schema):
    habit_name = Text(required=True, validate=[validate.Length(min=1, max=80), not_blank])
    value = fields.Float(load_default=1, allow_nan=False, validate=validate.Range(min=0.01, max=10_000),
                         metadata={"description": "How much of the habit (glasses, pages...); default 1."})
    logged_at = Moment(load_default=None, allow_none=True, validate=not_in_the_future)


COMMUNITY_TYPES = ("workouts", "duration", "volume", "habit")
MAX_TARGET = 1_000_000_000


class CommunityChallengeCreate(Schema):
    name = Text(required=True, validate=[validate.Length(min=1, max=120), not_blank])
    description = Text(load_default="", validate=validate.Length(max=2000))
    challenge_type = fields.Str(required=True, validate=validate.OneOf(COMMUNITY_TYPES),
                                metadata={"description": "workouts: +1 per workout; duration: its "
                                          "minutes; volume: its kilograms; habit: +value per habit log."})
    habit_name = Text(load_default=None, allow_none=True,
                      validate=[validate.Length(min=1, max=80), not_blank],
                      metadata={"description": "habit only: count just this habit (any habit if absent)."})
    target_value = fields.Float(required=True, allow_nan=False,
                                validate=validate.Range(min=0.01, max=MAX_TARGET))
    unit = Text(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=30), not_blank],
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


class Page(Schema):
    cursor = fields.Str(load_default=None)
    limit = fields.Int(load_default=20, validate=validate.Range(min=1, max=100))


class NotificationQuery(Page):
    unread = fields.Bool(load_default=False)


class ChallengeListQuery(Page):
    direction = fields.Str(load_default="all", validate=validate.OneOf(["all", "sent", "received"]))
    filter = fields.Str(load_default="all",
                        validate=validate.OneOf(["all", "won", "lost", "quit", "pending"]))


class CommunityLeaderboardQuery(Schema):
    limit = fields.Int(load_default=10, validate=validate.Range(min=1, max=100))


class LeaderboardQuery(Schema):
    scope = fields.Str(load_default="global", validate=validate.OneOf(["global", "friends"]))
    limit = fields.Int(load_default=20, validate=validate.Range(min=1, max=100))


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
    habit_log_id = fields.UUID()
    community_challenge_id = fields.UUID()


class ProblemDetails(Schema):
    type = fields.Str()
    title = fields.Str()
    status = fields.Int()
    detail = fields.Str()
    code = fields.Str()
    errors = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()))
    job_id = fields.UUID()
    dependency = fields.Str(validate=validate.OneOf(["postgres", "redis", "chromadb"]),
                            metadata={"description": "With 503: the service that is unavailable."})


class Profile(Schema):
    id = fields.UUID()
    display_name = fields.Str()
    avatar_url = fields.Str(allow_none=True)
    timezone = fields.Str()
    created_at = fields.DateTime()


class MyProfile(Profile):
    points = fields.Int(metadata={"description": "Your points total (GET /points for the ledger)."})


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
    can_beat_this = fields.Bool(metadata={"description": "A friend's workout you can take on."})


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
    comparison = fields.Nested("Comparison", allow_none=True)
    encouragement = fields.Nested("Insight", allow_none=True, metadata={
        "description": "For you as the challenged athlete of a pending or accepted challenge: a "
                       "line drawn from your results on similar workouts, or null."})


class Comparison(Schema):
    """Completed challenges only: positive differences favour the challenged athlete."""

    target = fields.Dict()
    attempt = fields.Dict()
    time_difference_minutes = fields.Float()
    volume_difference_kg = fields.Float()


class ChallengePage(Schema):
    items = fields.List(fields.Nested(Challenge))
    next_cursor = fields.Str(allow_none=True)


class ChainLink(Challenge):
    depth = fields.Int(metadata={"description": "0 for the original, 1 for its first retry, ..."})


class RetryChain(Schema):
    root_challenge_id = fields.UUID()
    items = fields.List(fields.Nested(ChainLink))


class RetryStats(Schema):
    total_retries = fields.Int()
    retries_won = fields.Int()
    retry_win_rate = fields.Float(allow_none=True)
    most_retried_workout = fields.Str(allow_none=True)
    avg_retries_to_win = fields.Float(allow_none=True)


class AbandonmentStats(Schema):
    total_abandoned = fields.Int()
    most_common_quit_reason = fields.Str(allow_none=True)
    abandonment_rate = fields.Float(allow_none=True)


class ChallengeStats(Schema):
    won = fields.Int()
    lost = fields.Int()
    quit = fields.Int()
    in_progress = fields.Int()
    win_rate = fields.Float()
    beaten = fields.Int()
    defended = fields.Int()
    retry = fields.Nested(RetryStats)
    abandonment = fields.Nested(AbandonmentStats)


class LeaderboardRow(Schema):
    rank = fields.Int()
    user = fields.Nested(UserSummary)
    wins = fields.Int()
    losses = fields.Int()
    quits = fields.Int()
    win_rate = fields.Float()
    retries = fields.Int()
    retries_won = fields.Int()
    challenges_sent = fields.Int()


class Leaderboard(Schema):
    scope = fields.Str()
    refreshed_at = fields.DateTime()
    items = fields.List(fields.Nested(LeaderboardRow))
    me = fields.Nested(LeaderboardRow)


class QuitReason(Schema):
    label = fields.Str()
    text = fields.Str(allow_none=True, metadata={"description": "What to send as quit_reason; "
                                                                "null for the custom entry."})
    custom = fields.Bool()
    max_length = fields.Int()


class QuitReasons(Schema):
    items = fields.List(fields.Nested(QuitReason))


class Notification(Schema):
    id = fields.UUID()
    challenge_id = fields.UUID(allow_none=True)
    community_challenge_id = fields.UUID(allow_none=True)
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


class InsightSearchQuery(Schema):
    q = Text(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    limit = fields.Int(load_default=10, validate=validate.Range(min=1, max=50))


class Insight(Schema):
    kind = fields.Str(validate=validate.OneOf(
        ["retry_pattern", "quit_pattern", "win_rate_by_kind", "persistence", "tough_benchmarks",
         "favourite_kind", "encouragement"]))
    text = fields.Str()
    evidence = fields.Dict(metadata={"description": "The numbers and challenge ids behind the text."})


class Insights(Schema):
    items = fields.List(fields.Nested(Insight))


class EventMatch(Schema):
    event_id = fields.UUID()
    event_type = fields.Str()
    text = fields.Str(metadata={"description": "The event as the log's sentence."})
    challenge_id = fields.UUID(allow_none=True, metadata={"description": "For friend-challenge events."})
    community_challenge_id = fields.UUID(allow_none=True, metadata={"description": "For community events."})
    workout_name = fields.Str(allow_none=True)
    workout_kind = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    similarity = fields.Float(metadata={"description": "Cosine similarity to the query, 1 at best."})


class EventMatches(Schema):
    items = fields.List(fields.Nested(EventMatch))


class CommunityChallenge(Schema):
    id = fields.UUID()
    name = fields.Str()
    description = fields.Str()
    challenge_type = fields.Str(validate=validate.OneOf(COMMUNITY_TYPES))
    habit_name = fields.Str(allow_none=True)
    target_value = fields.Float()
    unit = fields.Str()
    duration_days = fields.Int()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    days_left = fields.Int(metadata={"description": "Whole days until ends_at, rounded up."})
    points_reward = fields.Int()
    max_participants = fields.Int(allow_none=True)
    participant_count = fields.Int()
    is_active = fields.Bool()
    joined = fields.Bool(metadata={"description": "Whether you take part."})
    created_by = fields.UUID(allow_none=True)
    created_at = fields.DateTime()


class CommunityChallengePage(Schema):
    items = fields.List(fields.Nested(CommunityChallenge))
    next_cursor = fields.Str(allow_none=True)


class Participation(Schema):
    community_challenge_id = fields.UUID()
    name = fields.Str()
    challenge_type = fields.Str()
    total = fields.Float()
    target = fields.Float()
    unit = fields.Str()
    percentage = fields.Float(metadata={"description": "total / target, capped at 100."})
    milestone = fields.Int(metadata={"description": "The highest milestone reached: 0, 25, 50, 75 or 100."})
    rank = fields.Int(metadata={"description": "By total; ties go to whoever got there first."})
    participants = fields.Int()
    days_left = fields.Int()
    points_reward = fields.Int()
    status = fields.Str(validate=validate.OneOf(["active", "completed", "ended"]))
    joined_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    ends_at = fields.DateTime()


class Participations(Schema):
    items = fields.List(fields.Nested(Participation))


class CommunityRank(Schema):
    rank = fields.Int()
    user = fields.Nested(UserSummary)
    total = fields.Float()
    percentage = fields.Float()
    status = fields.Str()
    is_you = fields.Bool()


class CommunityLeaderboard(Schema):
    community_challenge_id = fields.UUID()
    target = fields.Float()
    unit = fields.Str()
    participants = fields.Int()
    items = fields.List(fields.Nested(CommunityRank))
    me = fields.Nested(CommunityRank, allow_none=True,
                       metadata={"description": "Your own row wherever it ranks; null if you have not joined."})


class PointsEntry(Schema):
    id = fields.UUID()
    action = fields.Str(validate=validate.OneOf(
        ["workout_completed", "habit_logged", "challenge_milestone", "challenge_completed"]))
    points = fields.Int()
    base_points = fields.Int()
    multiplier = fields.Float()
    streak_days = fields.Int(allow_none=True)
    source_id = fields.UUID(metadata={"description": "The workout or habit log, or the participation."})
    milestone = fields.Int(allow_none=True)
    community_challenge_id = fields.UUID(allow_none=True)
    challenge_name = fields.Str(allow_none=True)
    created_at = fields.DateTime()


class Points(Schema):
    total = fields.Int()
    current_streak = fields.Int(metadata={"description": "Consecutive days with a workout or habit, "
                                          "in your time zone, up to today (or yesterday)."})
    multiplier = fields.Float(metadata={"description": "What a workout or habit logged now is multiplied by."})
    items = fields.List(fields.Nested(PointsEntry))
    next_cursor = fields.Str(allow_none=True)


class Health(Schema):
    status = fields.Str(required=True, validate=validate.OneOf(["ok"]))


class ReadinessChecks(Schema):
    postgres = fields.Str(required=True, metadata={"description": "`ok` or `error: <reason>`"})
    redis = fields.Str(required=True, metadata={"description": "`ok` or `error: <reason>`"})
    chromadb = fields.Str(required=True, metadata={"description": "`ok` or `error: <reason>`"})


class Readiness(Schema):
    status = fields.Str(required=True, validate=validate.OneOf(["ok", "degraded", "unavailable"]))
    checks = fields.Nested(ReadinessChecks, required=True)

