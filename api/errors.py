"""Every error leaves as application/problem+json (RFC 9457) with a stable machine `code`."""

import logging
from contextlib import contextmanager

import falcon

from workers.commands import CommandRejected

log = logging.getLogger(__name__)

CODES_BY_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                   405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
                   413: "payload_too_large", 415: "unsupported_media_type",
                   422: "validation_error", 429: "too_many_requests"}


class Problem(falcon.HTTPError):
    def __init__(self, status: int, code: str, detail: str, *, errors: dict | None = None,
                 headers: dict | None = None, **extra):
        super().__init__(status=falcon.code_to_http_status(status), title=falcon.code_to_http_status(status)[4:],
                         description=detail, headers=headers)
        self.code, self.errors, self.extra = code, errors, extra

    def to_dict(self, obj_type=dict):
        body = {"type": f"https://errors.workout-challenges.dev/{self.code}", "title": self.title,
                "status": self.status_code, "detail": self.description, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def not_found(detail: str = "Not found.") -> Problem:
    return Problem(404, "not_found", detail)


def validation_error(errors: dict, detail: str = "The request is not valid.") -> Problem:
    return Problem(422, "validation_error", detail, errors=errors)


def unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def from_job_error(error: dict, job_id: str) -> Problem:
    return Problem(error.get("status", 409), error["code"], error["detail"], job_id=job_id)


@contextmanager
def rules_as_problems():
    """A worker rule's refusal (CommandRejected), met in the API's early check, answered as the
    same problem the job would fail with."""
    try:
        yield
    except CommandRejected as rejection:
        raise Problem(rejection.status, rejection.code, rejection.detail) from None


def serialize_problem(req, resp, exception: falcon.HTTPError) -> None:
    """Falcon's own errors (unknown route, bad method, malformed JSON) get a code too."""
    body = exception.to_dict()
    body.setdefault("status", exception.status_code)
    body.setdefault("code", CODES_BY_STATUS.get(exception.status_code, "error"))
    body.setdefault("detail", body.pop("description", None) or body.get("title"))
    resp.content_type = "application/problem+json"
    resp.media = body


def handle_unexpected(req, resp, exception, params):
    """Anything unforeseen is logged and becomes a 500 problem, never a stack trace."""
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise Problem(500, "internal_error", "Something went wrong on our side.") from exception
