"""Liveness and readiness."""

from marshmallow import fields

from api.schemas.common import Response
from api.schemas.fields import one_of


class Health(Response):
    status = fields.Str(validate=one_of(["ok"]))


class ReadinessChecks(Response):
    postgres = fields.Str(metadata={"description": "`ok` or `error: <reason>`"})
    redis = fields.Str(metadata={"description": "`ok` or `error: <reason>`"})
    chromadb = fields.Str(metadata={"description": "`ok` or `error: <reason>`"})


class Readiness(Response):
    status = fields.Str(validate=one_of(["ok", "degraded", "unavailable"]))
    checks = fields.Nested(ReadinessChecks)
