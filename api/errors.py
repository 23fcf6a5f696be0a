"""Every error leaves as application/problem+json (RFC 9457) with a stable machine `code`."""

import logging
from contextlib import contextmanager

import falcon

from core.commands import CommandRejected
from core.connections import UNAVAILABLE

log = logging.getLogger(__name__)

CODES_BY_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                   405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
                   413: "payload_too_large", 414: "uri_too_long", 415: "unsupported_media_type",
                   417: "expectation_failed", 422: "validation_error", 429: "too_many_requests",
                   431: "request_header_fields_too_large", 501: "not_implemented",
                   503: "service_unavailable"}
ERROR_TYPE = "https://errors.workout-challenges.dev/"
# Every `code` a problem can carry: the framework's by status, then the domain's own (the
# worker rules' CommandRejected codes among them). The OpenAPI document lists them as an enum.
ERROR_CODES = (*CODES_BY_STATUS.values(), "error", "internal_error", "idempotency_key_in_flight",
               "idempotency_key_reused", "no_profile", "invalid_state", "not_friends", "self_challenge",
               "not_a_workout", "already_challenged", "already_joined", "challenge_full")

# What each dependency (core.connections.UNAVAILABLE) is called in a 503, and how many
# seconds to wait before trying again.
DEPENDENCIES = {"redis": ("Redis (jobs and the command queue)", 5), "postgres": ("PostgreSQL", 5),
                "chromadb": ("ChromaDB (the event log)", 30)}


class Problem(falcon.HTTPError):
    def __init__(self, status: int, code: str, detail: str, *, errors: dict | None = None,
                 headers: dict | None = None, **extra):
        super().__init__(status=falcon.code_to_http_status(status), title=falcon.code_to_http_status(status)[4:],
                         description=detail, headers=headers)
        self.code, self.errors, self.extra = code, errors, extra

    def to_dict(self, obj_type=dict):
        body = {"type": ERROR_TYPE + self.code, "title": self.title,
                "status": self.status_code, "detail": self.description, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def not_found(detail: str = "Not found.") -> Problem:
    return Problem(404, "not_found", detail)


def validation_error(errors: dict, detail: str = "The request is not valid.") -> Problem:
    return Problem(422, "validation_error", detail, errors=by_path(errors))


def by_path(errors: dict, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages ({"partial_stats": {"total_volume": [...]}}, list items by
    index, a nested value's own messages under `_schema`) as one flat map from each field's dotted
    path to its messages, a shape every client can type."""
    flat = {}
    for name, messages in errors.items():
        path = prefix.rstrip(".") if name == "_schema" and prefix else f"{prefix}{name}"
        if isinstance(messages, dict):
            flat.update(by_path(messages, f"{path}."))
        else:
            flat.setdefault(path, []).extend([messages] if isinstance(messages, str) else messages)
    return flat


def unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def service_unavailable(dependency: str) -> Problem:
    name, retry_after = DEPENDENCIES[dependency]
    return Problem(503, "service_unavailable", f"{name} is unavailable right now; try again shortly.",
                   headers={"Retry-After": str(retry_after)}, dependency=dependency)


def from_job_error(error: dict, job_id: str) -> Problem:
    """A failed job's error as the problem it answers with; one that names an unavailable
    dependency says when to try again, as the API's own 503s do."""
    if error.get("dependency") in DEPENDENCIES:
        unavailable = service_unavailable(error["dependency"])
        return Problem(503, error["code"], error["detail"], headers=unavailable.headers,
                       dependency=error["dependency"], job_id=job_id)
    return Problem(error.get("status", 409), error["code"], error["detail"], job_id=job_id)


@contextmanager
def rules_as_problems():
    """A worker rule's refusal (CommandRejected), met in the API's early check, answered as the
    same problem the job would fail with."""
    try:
        yield
    except CommandRejected as rejection:
        raise Problem(rejection.status, rejection.code, rejection.detail) from None


FRAMEWORK_DETAILS = {404: "There is nothing at this path (ids in paths are UUIDs).",
                     405: "This path does not take that method; see the Allow header."}


def serialize_problem(req, resp, exception: falcon.HTTPError) -> None:
    """Falcon's own errors (unknown route, bad method, malformed JSON) get a code and a type too."""
    body = exception.to_dict()
    status, status_line = exception.status_code, falcon.code_to_http_status(exception.status_code)
    title = body.get("title") or status_line
    body.setdefault("code", CODES_BY_STATUS.get(status, "error"))
    body.setdefault("type", ERROR_TYPE + body["code"])
    body["title"] = status_line[4:]
    body.setdefault("status", status)
    if "detail" not in body:
        described = body.pop("description", None) or (title if title != status_line else None)
        body["detail"] = described or FRAMEWORK_DETAILS.get(status, body["title"])
    resp.content_type = "application/problem+json"
    resp.media = body


def handle_unavailable(dependency: str):
    """The error handler for `dependency` being out of reach: 503 naming it, never 500."""

    def handle(req, resp, exception, params):
        log.warning("%s %s: %s unavailable: %s", req.method, req.path, dependency, exception)
        raise service_unavailable(dependency) from exception

    return handle


def handle_unexpected(req, resp, exception, params):
    """Anything unforeseen is logged and becomes a 500 problem, never a stack trace."""
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise Problem(500, "internal_error", "Something went wrong on our side.") from exception


def add_error_handlers(app: falcon.App) -> None:
    """Falcon picks the handler of the nearest class, so these win over the catch-all."""
    app.add_error_handler(Exception, handle_unexpected)
    for dependency, errors in UNAVAILABLE.items():
        app.add_error_handler(errors, handle_unavailable(dependency))
