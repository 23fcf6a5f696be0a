"""`X-Request-ID`: every request has one, the client's when it sent a usable one, and every
response carries it back, errors included. The API's log lines, its access log line and the
command a request queues carry it too, so an operator given the header finds the worker's lines
about that command."""

import re
import uuid

from core.logs import bind_log_context, clear_log_context, start_log_context

HEADER = "X-Request-ID"
# What a client may choose: an id from its own tracing, never arbitrary bytes into the logs.
USABLE_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
# For gunicorn's access log, written after the response, from the WSGI environ.
ROUTE_KEY = "challenges.route"
USER_KEY = "challenges.user_id"


def request_id_for(sent: str | None) -> str:
    """The id the client sent if it is 1 to 128 visible ASCII characters, else a new UUID."""
    return sent if sent and USABLE_REQUEST_ID.fullmatch(sent) else str(uuid.uuid4())


class RequestIds:
    """Falcon middleware. Registered after AuthMiddleware: its `process_request` still runs
    before any resource or authentication (Falcon runs every `process_request` first), and its
    `process_resource` then finds the caller authentication settled on."""

    def process_request(self, req, resp):
        req.context.request_id = request_id_for(req.get_header(HEADER))
        start_log_context(request_id=req.context.request_id)

    def process_resource(self, req, resp, resource, params):
        caller = getattr(req.context, "caller", None)
        if caller is not None:
            bind_log_context(user_id=caller.id)
            req.env[USER_KEY] = caller.id

    def process_response(self, req, resp, resource, req_succeeded):
        # A request refused by an earlier middleware's process_request never got its id: now.
        request_id = req.context.get("request_id") or request_id_for(req.get_header(HEADER))
        resp.set_header(HEADER, request_id)
        if req.uri_template:
            req.env[ROUTE_KEY] = req.uri_template
        clear_log_context()
