"""marshmallow schemas: every request body and query string is loaded through one of these,
and the OpenAPI document is generated from the same classes."""

import datetime as dt
import unicodedata
import zoneinfo

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.errors import DEPENDENCIES, ERROR_CODES
from workers.community_rules import FIXED_UNITS
from workers.seasons import PERIODS, period_of
from workers.workout_kinds import EXAMPLES as WORKOUT_KIND_EXAMPLES

MIN_DURATION_MINUTES = 0.01  # stored with two decimals: anything smaller would become 0
MAX_DURATION_MINUTES = 1440
MAX_VOLUME = 1_000_000
VOLUME_UNITS = ("lb", "kg")
WORKOUT_KINDS = tuple(WORKOUT_KIND_EXAMPLES)


def storable(text: str) -> None:
    """Text PostgreSQL can store: UTF-8 without NUL characters (JSON's `\\ud83d` escapes can
    spell half an emoji, which has no UTF-8 form)."""
    if "\x00" in text:
        raise ValidationError("Must not contain NUL characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Must be valid Unicode: an unpaired surrogate escape was sent.") from None


def invisible(char: str) -> bool:
    """Whitespace, or a character that shows nothing: Unicode's separators (Z*: U+00A0, U+3000,
    U+2028...) and format characters (Cf: U+200B, U+200E, U+2060, U+FEFF...)."""
    return char.isspace() or unicodedata.category(char) in {"Zs", "Zl", "Zp", "Cf"}


def trimmed(text: str) -> str:
    """`text` without invisible characters at either end (those inside, such as an emoji's
    zero-width joiner, are kept)."""
    start, end = 0, len(text)
    while start < end and invisible(text[start]):
        start += 1
    while end > start and invisible(text[end - 1]):
        end -= 1
    return text[start:end]


BLANK = "Must not be blank."


class Text(fields.Str):
    """Free text: trimmed of invisible characters at both ends (`trimmed`) and storable. Blank
    text, nothing left after trimming, is refused with "Must not be blank.", unless the field is
    made with `blank_is_default=True`: then blank means "not given" and the field's documented
    default (`load_default`) applies, as it does to a missing field."""

    def __init__(self, *args, blank_is_default: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.blank_is_default = blank_is_default
        rule = ("Trimmed of surrounding spaces and invisible characters; blank "
                + ("counts as left out." if blank_is_default else "is refused."))
        described = self.metadata.get("description")
        self.metadata = {**self.metadata, "description": f"{described} {rule}" if described else rule}

    def deserialize(self, value, *args, **kwargs):
        if self.blank_is_default and isinstance(value, str) and not trimmed(value):
            return self.load_default  # as if left out: no validator sees it
        return super().deserialize(value, *args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = trimmed(super()._deserialize(value, attr, data, **kwargs))
        if not text:
            raise ValidationError(BLANK)
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


EARLIEST_LOG = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
LOG_TIME_RULE = ("When it was done: from 2000-01-01T00:00:00Z up to now (a phone's clock may run "
                 "5 minutes fast); default now.")


def log_time(moment: dt.datetime) -> None:
    """When a logged workout or habit was done. Not before 2000: the app did not exist, and a
    time like 0001-01-01 is a client's empty date, not a workout. Not later than now (give or
    take a phone's clock): it would count for a challenge before it happened."""
    if moment < EARLIEST_LOG:
        raise ValidationError("Must not be before 2000-01-01T00:00:00Z.")
    if moment > dt.datetime.now(dt.timezone.utc) + CLOCK_SKEW:
        raise ValidationError("Must not be in the future.")


def finite_number(**range_args):
    return fields.Float(required=True, allow_nan=False, validate=validate.Range(**range_args))


# Names of tzdata that are no place's time: "localtime" is whatever the server's clock is set to,
# "Factory" is "local time unknown" (-00), "posixrules" is a template for POSIX TZ strings.
# Legacy names that are real zones or links (EST5EDT, US/Eastern, Etc/GMT+5) are accepted.
PSEUDO_ZONES = frozenset({"localtime", "Factory", "posixrules"})
# Looked up in a set, never on disk: a name is checked before it can reach the file system
# (where "Europe" is a directory and 256 bytes is too long a file name). A name must also be one
# the database knows, which PUT /me checks next (ReadDatabase.time_zones): PostgreSQL counts
# streaks in it, and its tzdata may be older than Python's.
TIME_ZONES = frozenset(zoneinfo.available_timezones()) - PSEUDO_ZONES
TIME_ZONE_RULE = "Must be an IANA time zone name that names a place, e.g. Europe/Berlin."


def valid_timezone(name: str) -> None:
    if name not in TIME_ZONES:
        raise ValidationError(TIME_ZONE_RULE)


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
    volume_unit = Text(load_default="lb", validate=validate.OneOf(VOLUME_UNITS))
    notes = Text(load_default=None, allow_none=True, blank_is_default=True,
                 validate=validate.Length(max=1000))
    performed_at = Moment(load_default=None, allow_none=True, validate=log_time,
                          metadata={"description": LOG_TIME_RULE})


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
    message = Text(load_default=None, allow_none=True, blank_is_default=True,
                   validate=validate.Length(max=MAX_MESSAGE))

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
    volume_unit = Text(load_default="lb", validate=validate.OneOf(VOLUME_UNITS))


class PartialStats(Schema):
    """What the athlete had done when they quit: zero is a fair answer here."""

    duration_minutes = finite_number(min=0, max=MAX_DURATION_MINUTES)
    total_volume = finite_number(min=0, max=MAX_VOLUME)
    volume_unit = Text(load_default="lb", validate=validate.OneOf(VOLUME_UNITS))


class ChallengeAbandon(Schema):
    quit_reason = Text(required=True, validate=[validate.Length(min=1, max=MAX_QUIT_REASON)],
                       metadata={"description": "One of GET /challenges/quit-reasons, or your own words."})
    partial_stats = fields.Nested(PartialStats, load_default=None, allow_none=True)


class ChallengeRetry(Schema):
    message = Text(load_default=None, allow_none=True, blank_is_default=True,
                   validate=validate.Length(max=MAX_MESSAGE),
                   metadata={"description": 'Defaults to "Round 2! 💪" (3 for a third round, ...).'})


class HabitLog(Schema):
    habit_name = Text(required=True, validate=[validate.Length(min=1, max=80)])
    value = fields.Float(load_default=1, allow_nan=False, validate=validate.Range(min=0.01, max=10_000),
                         metadata={"description": "How much of the habit (glasses, pages...); default 1."})
    logged_at = Moment(load_default=None, allow_none=True, validate=log_time,
                       metadata={"description": LOG_TIME_RULE})


COMMUNITY_TYPES = ("workouts", "duration", "volume", "habit")
MAX_TARGET = 1_000_000_000


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


class Page(Schema):
    cursor = fields.Str(load_default=None, validate=validate.Length(min=1), metadata={
        "description": "The `next_cursor` of the previous page of this same list; leave it out for "
                       "the first. Cursors are opaque and signed: one this list did not give out "
                       "(another list's, a modified one) is a 422 naming `cursor`."})
    limit = fields.Int(load_default=20, validate=validate.Range(min=1, max=100))


class NotificationQuery(Page):
    unread = fields.Bool(load_default=False)


class ChallengeListQuery(Page):
    direction = fields.Str(load_default="all", validate=validate.OneOf(["all", "sent", "received"]))
    filter = fields.Str(load_default="all",
                        validate=validate.OneOf(["all", "won", "lost", "quit", "pending"]))


class CommunityLeaderboardQuery(Schema):
    limit = fields.Int(load_default=10, validate=validate.Range(min=1, max=100))


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


class InsightSearchQuery(Schema):
    q = Text(required=True, validate=[validate.Length(min=1, max=200)])
    limit = fields.Int(load_default=10, validate=validate.Range(min=1, max=50))


# Responses: documentation of what the API returns (never used to load anything). Every field
# of a Response is always present, null when it has no value (`allow_none`), unless its metadata
# says `optional`; api.openapi lists them as required, so a generated client needs no checks.

class Response(Schema):
    pass


class AnyOf(fields.Raw):
    """A value of one of several response schemas (which one, its sibling field says)."""

    def __init__(self, *schemas: type, **kwargs):
        super().__init__(**kwargs)
        self.schemas = schemas


JOB_STATUSES = ("queued", "running", "succeeded", "failed")
CHALLENGE_STATUSES = ("pending", "accepted", "declined", "completed", "expired", "abandoned")
CHALLENGE_RESULTS = ("victory", "failed", "quit", "in_progress", "pending", "declined", "expired")
ACTIVITY_TYPES = ("workout_completed", "challenge_victory", "challenge_completed")
NOTIFICATION_TYPES = ("challenge_received", "challenge_accepted", "challenge_declined", "challenge_completed",
                      "challenge_beaten", "challenge_abandoned", "challenge_retried", "challenge_expired",
                      "community_milestone", "community_completed", "leaderboard_podium")
EVENT_TYPES = ("challenge_created", "challenge_accepted", "challenge_declined", "challenge_completed",
               "challenge_abandoned", "challenge_retried", "challenge_expired", "challenge_withdrawn",
               "community_joined", "community_milestone", "community_completed")
INSIGHT_KINDS = ("retry_pattern", "quit_pattern", "win_rate_by_kind", "persistence", "tough_benchmarks",
                 "favourite_kind", "encouragement")
PARTICIPATION_STATUSES = ("active", "completed", "ended")
MILESTONES = (25, 50, 75, 100)


def one_of(values) -> validate.OneOf:
    return validate.OneOf(list(values))


def optional(description: str) -> dict:
    return {"optional": True, "description": description}


class JobError(Response):
    code = fields.Str(validate=one_of(ERROR_CODES))
    detail = fields.Str()
    dependency = fields.Str(validate=one_of(DEPENDENCIES), metadata=optional(
        "With `service_unavailable`: the service that stayed unavailable."))


class Job(Response):
    """A command and where it stands; `result` is null until it has succeeded."""

    job_id = fields.UUID()
    status = fields.Str(validate=one_of(JOB_STATUSES))
    error = fields.Nested(JobError, allow_none=True, metadata={"description": "When it failed."})
    created_at = fields.DateTime(allow_none=True, metadata={
        "description": "When it was accepted; null once only the recorded outcome is left (after 24 h)."})
    updated_at = fields.DateTime(allow_none=True)


class WorkoutStats(Response):
    duration_minutes = fields.Float()
    total_volume = fields.Float()
    volume_unit = fields.Str(validate=one_of(VOLUME_UNITS))
    total_volume_kg = fields.Float(metadata={"description": "total_volume in kilograms, what results compare."})


class ProfileFields(Response):
    id = fields.UUID()
    display_name = fields.Str()
    avatar_url = fields.Str(allow_none=True)
    timezone = fields.Str()


# Job results, one per kind of mutation: what the command did.

class ProfileChange(Response):
    user = fields.Nested(ProfileFields, metadata={"description": "Your profile after the change."})


class FriendshipChange(Response):
    friend_id = fields.UUID(metadata={"description": "The other user."})
    status = fields.Str(validate=one_of(["pending", "accepted", "removed"]),
                        metadata={"description": "The friendship after the change."})


class CommunityProgress(Response):
    community_challenge_id = fields.UUID()
    added = fields.Float(metadata={"description": "What this log added, in the challenge's unit."})
    total = fields.Float()
    target = fields.Float()
    percentage = fields.Float()
    milestones = fields.List(fields.Int(validate=one_of(MILESTONES)),
                             metadata={"description": "Milestones this log crossed (usually none)."})


class WorkoutLogged(Response):
    workout_log_id = fields.UUID()
    activity_id = fields.UUID(metadata={"description": "Its workout_completed post in your friends' feed."})
    points = fields.Int(metadata={"description": "Points earned, streak multiplier included."})
    community = fields.List(fields.Nested(CommunityProgress),
                            metadata={"description": "Each community challenge it counted towards."})


class HabitLogged(Response):
    habit_log_id = fields.UUID()
    points = fields.Int(metadata={"description": "Points earned, streak multiplier included."})
    community = fields.List(fields.Nested(CommunityProgress),
                            metadata={"description": "Each habit challenge it counted towards."})


class ChallengesCreated(Response):
    challenge_ids = fields.List(fields.UUID(), metadata={"description": "One per recipient, in order."})
    status = fields.Str(validate=one_of(["pending", "accepted"]),
                        metadata={"description": "pending; accepted for BEAT THIS."})


class ChallengeStatusChange(Response):
    challenge_id = fields.UUID()
    status = fields.Str(validate=one_of(["accepted", "declined", "withdrawn"]))


class SkillRating(Response):
    """An athlete's openskill rating (docs/domain.md, "Skill rating")."""

    value = fields.Float(metadata={"description": "mu - 3 sigma: the skill we are nearly sure of; 0 "
                                                  "at the start, what order=rating ranks by."})
    mu = fields.Float(metadata={"description": "The estimate of skill (25 at the start)."})
    sigma = fields.Float(metadata={"description": "How uncertain the estimate is (25/3 at the start; "
                                                  "shrinks with every settled challenge)."})
    rated_challenges = fields.Int(metadata={"description": "Completed or abandoned challenges rated."})


class RatingChange(Response):
    user_id = fields.UUID()
    before = fields.Float(metadata={"description": "The rating's value before this challenge."})
    after = fields.Float(metadata={"description": "Its value after."})
    change = fields.Float(metadata={"description": "after - before."})
    mu = fields.Float(metadata={"description": "The estimate after."})
    sigma = fields.Float(metadata={"description": "The uncertainty after."})


class RatingChanges(Response):
    """What a completed or abandoned challenge did to both athletes' skill ratings."""

    challenger = fields.Nested(RatingChange)
    challenged = fields.Nested(RatingChange)


class ChallengeCompleted(Response):
    challenge_id = fields.UUID()
    status = fields.Str(validate=one_of(["completed"]))
    did_beat = fields.Bool()
    result = fields.Str(validate=one_of(["victory", "failed"]), metadata={"description": "From your side."})
    challenger_stats = fields.Nested(WorkoutStats, metadata={"description": "The target."})
    challenged_stats = fields.Nested(WorkoutStats, metadata={"description": "Your attempt."})
    activity_id = fields.UUID(allow_none=True, metadata={
        "description": "The result's post in your friends' feed (null when AUTO_POST_TO_FEED is off)."})
    rating_change = fields.Nested(RatingChanges)


class ChallengeAbandoned(Response):
    challenge_id = fields.UUID()
    status = fields.Str(validate=one_of(["abandoned"]))
    quit_reason = fields.Str()
    partial_stats = fields.Nested(WorkoutStats, allow_none=True)
    rating_change = fields.Nested(RatingChanges)


class ChallengeRetried(Response):
    challenge_ids = fields.List(fields.UUID(), metadata={"description": "The rematch (one id)."})
    status = fields.Str(validate=one_of(["accepted"]))
    retried_from_challenge_id = fields.UUID()
    round = fields.Int(metadata={"description": "2 for the first rematch, 3 for the next, ..."})


class CommunityJoined(Response):
    community_challenge_id = fields.UUID()
    participant_id = fields.UUID()
    joined_at = fields.DateTime()
    participant_count = fields.Int(metadata={"description": "You included."})


class NotificationMarkedRead(Response):
    notification_id = fields.UUID()
    is_read = fields.Bool()
    read_at = fields.DateTime()


class NotificationsMarkedRead(Response):
    marked_read = fields.Int(metadata={"description": "How many were unread."})


class ProblemDetails(Response):
    """RFC 9457 problem details, as every error is sent (`application/problem+json`)."""

    type = fields.Str(metadata={"description": "A URI naming the kind of error; ends with `code`."})
    title = fields.Str()
    status = fields.Int()
    detail = fields.Str(metadata={"description": "What went wrong, for a person to read."})
    code = fields.Str(validate=one_of(ERROR_CODES), metadata={"description": "Stable, for code to test."})
    errors = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()), metadata=optional(
        "With 422: the messages for each field at fault, by its path (`partial_stats.total_volume`, "
        "`to_user_ids.0`; `_schema` for the body as a whole; `Idempotency-Key` for that header)."))
    job_id = fields.UUID(metadata=optional("When a job failed: the job."))
    dependency = fields.Str(validate=one_of(DEPENDENCIES),
                            metadata=optional("With 503: the service that is unavailable."))


class Profile(Response):
    id = fields.UUID()
    display_name = fields.Str(metadata={"description": "Empty until you set it with PUT /me."})
    avatar_url = fields.Str(allow_none=True)
    timezone = fields.Str(metadata={"description": "IANA name; UTC until you set it."})
    created_at = fields.DateTime()
    rating = fields.Nested(SkillRating)


class MyProfile(Profile):
    points = fields.Int(metadata={"description": "Your points total (GET /points for the ledger)."})


class UserProfile(Response):
    id = fields.UUID()
    display_name = fields.Str()
    avatar_url = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    rating = fields.Nested(SkillRating)
    is_friend = fields.Bool(metadata={"description": "Whether you are friends (false for yourself)."})


class UserSummary(Response):
    id = fields.UUID()
    display_name = fields.Str()
    avatar_url = fields.Str(allow_none=True)


class Friend(UserSummary):
    friends_since = fields.DateTime()


class FriendRequestItem(Response):
    id = fields.UUID(metadata={"description": "The other user."})
    display_name = fields.Str()
    avatar_url = fields.Str(allow_none=True)
    direction = fields.Str(validate=one_of(["incoming", "outgoing"]))
    created_at = fields.DateTime()


class Friends(Response):
    friends = fields.List(fields.Nested(Friend))
    requests = fields.List(fields.Nested(FriendRequestItem))


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
    next_cursor = fields.Str(allow_none=True, metadata={
        "description": "The `cursor` of the next page, for this list only (opaque); null on the last page."})


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
    next_cursor = fields.Str(allow_none=True, metadata={
        "description": "The `cursor` of the next page, for this list only (opaque); null on the last page."})


class Comparison(Response):
    """Completed challenges only: positive differences favour the challenged athlete."""

    target = fields.Nested(WorkoutStats)
    attempt = fields.Nested(WorkoutStats)
    time_difference_minutes = fields.Float()
    volume_difference_kg = fields.Float()


class Insight(Response):
    kind = fields.Str(validate=one_of(INSIGHT_KINDS))
    text = fields.Str()
    evidence = fields.Dict(metadata={"description": "The numbers and challenge ids behind the text; "
                                                    "its keys depend on `kind`."})


class Challenge(Response):
    id = fields.UUID()
    from_user_id = fields.UUID()
    to_user_id = fields.UUID()
    workout_log_id = fields.UUID(allow_none=True)
    activity_id = fields.UUID(allow_none=True, metadata={"description": "The post it was taken from (BEAT THIS)."})
    workout_name = fields.Str()
    workout_data = fields.Nested(WorkoutStats, metadata={"description": "The target."})
    challenge_message = fields.Str(allow_none=True)
    status = fields.Str(validate=one_of(CHALLENGE_STATUSES), metadata={
        "description": "`expired` as soon as a pending challenge passes `expires_at` (then also "
                       "`expired_at`), before the scheduler records it."})
    accepted_at = fields.DateTime(allow_none=True)
    declined_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    abandoned_at = fields.DateTime(allow_none=True)
    expired_at = fields.DateTime(allow_none=True)
    challenger_stats = fields.Nested(WorkoutStats, allow_none=True)
    challenged_stats = fields.Nested(WorkoutStats, allow_none=True)
    did_beat = fields.Bool(allow_none=True)
    quit_reason = fields.Str(allow_none=True)
    partial_stats = fields.Nested(WorkoutStats, allow_none=True)
    is_retry = fields.Bool()
    retried_from_challenge_id = fields.UUID(allow_none=True)
    retry_count = fields.Int()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    expires_at = fields.DateTime()
    direction = fields.Str(validate=one_of(["sent", "received"]))
    result = fields.Str(validate=one_of(CHALLENGE_RESULTS), metadata={
        "description": "From your side. Received: how your attempt went. Sent: `victory` when your "
                       "opponent completed it without beating your workout, `failed` when they beat "
                       "it, `quit` when they quit (with their `quit_reason`); otherwise as received."})
    opponent = fields.Nested(UserSummary)
    comparison = fields.Nested(Comparison, allow_none=True)
    rating_change = fields.Nested(RatingChanges, allow_none=True, metadata={
        "description": "What settling it (completed or abandoned) did to both skill ratings; null before."})


class ChallengeDetail(Challenge):
    encouragement = fields.Nested(Insight, allow_none=True, metadata={
        "description": "For you as the challenged athlete of a pending or accepted challenge: a "
                       "line drawn from your results on similar workouts, or null."})


class ChallengePage(Response):
    items = fields.List(fields.Nested(Challenge))
    next_cursor = fields.Str(allow_none=True, metadata={
        "description": "The `cursor` of the next page, for this list only (opaque); null on the last page."})


class ChainLink(Challenge):
    depth = fields.Int(metadata={"description": "0 for the original, 1 for its first retry, ..."})


class RetryChain(Response):
    root_challenge_id = fields.UUID()
    items = fields.List(fields.Nested(ChainLink))


class RetryStats(Response):
    total_retries = fields.Int()
    retries_won = fields.Int()
    retry_win_rate = fields.Float(allow_none=True)
    most_retried_workout = fields.Str(allow_none=True)
    avg_retries_to_win = fields.Float(allow_none=True)


class AbandonmentStats(Response):
    total_abandoned = fields.Int()
    most_common_quit_reason = fields.Str(allow_none=True)
    abandonment_rate = fields.Float(allow_none=True)


class ChallengeStats(Response):
    won = fields.Int()
    lost = fields.Int()
    quit = fields.Int()
    in_progress = fields.Int()
    win_rate = fields.Float()
    beaten = fields.Int()
    defended = fields.Int()
    retry = fields.Nested(RetryStats)
    abandonment = fields.Nested(AbandonmentStats)


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


class QuitReason(Response):
    label = fields.Str()
    text = fields.Str(allow_none=True, metadata={"description": "What to send as quit_reason; "
                                                                "null for the custom entry."})
    custom = fields.Bool()
    max_length = fields.Int(metadata=optional("The custom entry only."))


class QuitReasons(Response):
    items = fields.List(fields.Nested(QuitReason))


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
    next_cursor = fields.Str(allow_none=True, metadata={
        "description": "The `cursor` of the next page, for this list only (opaque); null on the last page."})


class Insights(Response):
    items = fields.List(fields.Nested(Insight))


class EventMatch(Response):
    event_id = fields.UUID()
    event_type = fields.Str(validate=one_of(EVENT_TYPES))
    text = fields.Str(metadata={"description": "The event as the log's sentence."})
    challenge_id = fields.UUID(allow_none=True, metadata={"description": "For friend-challenge events."})
    community_challenge_id = fields.UUID(allow_none=True, metadata={"description": "For community events."})
    workout_name = fields.Str(allow_none=True)
    workout_kind = fields.Str(allow_none=True, validate=one_of(WORKOUT_KINDS))
    created_at = fields.DateTime()
    similarity = fields.Float(metadata={"description": "Cosine similarity to the query, 1 at best."})


class EventMatches(Response):
    items = fields.List(fields.Nested(EventMatch))


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
    next_cursor = fields.Str(allow_none=True, metadata={
        "description": "The `cursor` of the next page, for this list only (opaque); null on the last page."})


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
    next_cursor = fields.Str(allow_none=True, metadata={
        "description": "The `cursor` of the next page, for this list only (opaque); null on the last page."})


class Health(Response):
    status = fields.Str(validate=one_of(["ok"]))


class ReadinessChecks(Response):
    postgres = fields.Str(metadata={"description": "`ok` or `error: <reason>`"})
    redis = fields.Str(metadata={"description": "`ok` or `error: <reason>`"})
    chromadb = fields.Str(metadata={"description": "`ok` or `error: <reason>`"})


class Readiness(Response):
    status = fields.Str(validate=one_of(["ok", "degraded", "unavailable"]))
    checks = fields.Nested(ReadinessChecks)
