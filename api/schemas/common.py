"""The schemas every area shares: a page of a list (Page, and the `next_cursor` of its answer),
the base of every response schema (Response), a job (Job, JobError) and an error
(ProblemDetails)."""

from marshmallow import Schema, fields, validate

from api.errors import DEPENDENCIES, ERROR_CODES
from api.schemas.fields import one_of, optional


class Page(Schema):
    cursor = fields.Str(load_default=None, validate=validate.Length(min=1), metadata={
        "description": "The `next_cursor` of the previous page of this same list; leave it out for "
                       "the first. Cursors are opaque and signed: one this list did not give out "
                       "(another list's, a modified one) is a 422 naming `cursor`."})
    limit = fields.Int(load_default=20, validate=validate.Range(min=1, max=100))


def next_cursor_field() -> fields.Str:
    """The `next_cursor` of a page of a list: what its next request gives as `cursor` (Page)."""
    return fields.Str(allow_none=True, metadata={
        "description": "The `cursor` of the next page, for this list only (opaque); null on the last page."})


class Response(Schema):
    """What the API returns: documentation only, never used to load anything. Every field of a
    Response is always present, null when it has no value (`allow_none`), unless its metadata
    says `optional`; api.openapi lists the others as required, so a generated client needs no
    checks."""


JOB_STATUSES = ("queued", "running", "succeeded", "failed")


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
