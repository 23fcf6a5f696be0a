"""Insights into your history and search over your own events; Insight is also a challenge's
encouragement (api.schemas.challenges)."""

from marshmallow import Schema, fields, validate

from api.schemas.common import Response
from api.schemas.fields import Text, one_of
from core.workout_kinds import EXAMPLES as WORKOUT_KIND_EXAMPLES

WORKOUT_KINDS = tuple(WORKOUT_KIND_EXAMPLES)
EVENT_TYPES = ("challenge_created", "challenge_accepted", "challenge_declined", "challenge_completed",
               "challenge_abandoned", "challenge_retried", "challenge_expired", "challenge_withdrawn",
               "community_joined", "community_milestone", "community_completed")
INSIGHT_KINDS = ("retry_pattern", "quit_pattern", "win_rate_by_kind", "persistence", "tough_benchmarks",
                 "favourite_kind", "encouragement", "crowd_retries_by_kind", "crowd_abandonment_by_kind",
                 "crowd_retry_round", "calibration")


class InsightSearchQuery(Schema):
    q = Text(required=True, validate=[validate.Length(min=1, max=200)])
    limit = fields.Int(load_default=10, validate=validate.Range(min=1, max=50))


class Insight(Response):
    kind = fields.Str(validate=one_of(INSIGHT_KINDS))
    text = fields.Str()
    evidence = fields.Dict(metadata={"description": "The numbers and challenge ids behind the text; "
                                                    "its keys depend on `kind`."})


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
