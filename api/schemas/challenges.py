"""Friend challenges: sending, completing, quitting and retrying one, the jobs' results, a
challenge as listed and in detail (its retry chain), your stats and the quit reasons offered."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import Page, Response, next_cursor_field
from api.schemas.fields import Text, UUIDString, finite_number, one_of, optional
from api.schemas.insights import Insight
from api.schemas.users import UserSummary
from api.schemas.workouts import MAX_DURATION_MINUTES, MAX_VOLUME, MIN_DURATION_MINUTES, VOLUME_UNITS
from core.rules.crowd import SCOPES, TIER_NAMES

MAX_QUIT_REASON = 200
MAX_MESSAGE = 500
CHALLENGE_STATUSES = ("pending", "accepted", "declined", "completed", "expired", "abandoned")
CHALLENGE_RESULTS = ("victory", "failed", "quit", "in_progress", "pending", "declined", "expired")


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


class ChallengeListQuery(Page):
    direction = fields.Str(load_default="all", validate=validate.OneOf(["all", "sent", "received"]))
    filter = fields.Str(load_default="all",
                        validate=validate.OneOf(["all", "won", "lost", "quit", "pending"]))


class WorkoutStats(Response):
    duration_minutes = fields.Float()
    total_volume = fields.Float()
    volume_unit = fields.Str(validate=one_of(VOLUME_UNITS))
    total_volume_kg = fields.Float(metadata={"description": "total_volume in kilograms, what results compare."})


class ChallengesCreated(Response):
    challenge_ids = fields.List(fields.UUID(), metadata={"description": "One per recipient, in order."})
    status = fields.Str(validate=one_of(["pending", "accepted"]),
                        metadata={"description": "pending; accepted for BEAT THIS."})


class ChallengeStatusChange(Response):
    challenge_id = fields.UUID()
    status = fields.Str(validate=one_of(["accepted", "declined", "withdrawn"]))


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


class Comparison(Response):
    """Completed challenges only: positive differences favour the challenged athlete."""

    target = fields.Nested(WorkoutStats)
    attempt = fields.Nested(WorkoutStats)
    time_difference_minutes = fields.Float()
    volume_difference_kg = fields.Float()


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


class Difficulty(Response):
    scope = fields.Str(validate=one_of(SCOPES), metadata={
        "description": "`workout` when enough athletes tried this workout itself, else `kind`: the "
                       "figures of every workout of its kind."})
    kind = fields.Str(allow_none=True, metadata={"description": "The kind, when `scope` is `kind`."})
    athletes = fields.Int(metadata={"description": "Distinct athletes behind the figures: at least "
                                                   "CROWD_MIN_ATHLETES (5)."})
    attempts = fields.Int(metadata={"description": "Settled challenges: completed or abandoned."})
    win_rate = fields.Float(metadata={"description": "Attempts won, 0 to 1."})
    abandonment_rate = fields.Float(metadata={"description": "Attempts abandoned, 0 to 1."})
    avg_retries_to_win = fields.Float(allow_none=True, metadata={
        "description": "Rematches before an athlete's first win, on average (3 or more count as 3); "
                       "null when nobody has won yet."})
    tier = fields.Str(validate=one_of(TIER_NAMES), metadata={
        "description": "brutal: under 20 % win or 60 % quit; tough: under 40 % win or 35 % quit; "
                       "fair: under 70 % win; easy otherwise."})
    text = fields.Str(metadata={"description": "The figures in a line for the athlete."})


class ChallengeDetail(Challenge):
    encouragement = fields.Nested(Insight, allow_none=True, metadata={
        "description": "For you as the challenged athlete of a pending or accepted challenge: a "
                       "line drawn from your results on similar workouts, or null."})
    difficulty = fields.Nested(Difficulty, allow_none=True, metadata={
        "description": "How the crowd fared on this workout (or its kind), or null while fewer "
                       "than CROWD_MIN_ATHLETES athletes stand behind the figures. Totals only: it "
                       "never names anyone."})


class ChallengePage(Response):
    items = fields.List(fields.Nested(Challenge))
    next_cursor = next_cursor_field()


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


class QuitReason(Response):
    label = fields.Str()
    text = fields.Str(allow_none=True, metadata={"description": "What to send as quit_reason; "
                                                                "null for the custom entry."})
    custom = fields.Bool()
    max_length = fields.Int(metadata=optional("The custom entry only."))


class QuitReasons(Response):
    items = fields.List(fields.Nested(QuitReason))
