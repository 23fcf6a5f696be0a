"""Loading requests through marshmallow, and the opaque cursors of paginated lists."""

import base64
import binascii
import datetime as dt
import uuid

import json
import time
from marshmallow import ValidationError

from api.errors import Problem, validation_error

MAX_JSON_DEPTH = 16


def load_body(req, schema, *, optional: bool = False) -> dict:
    """The body as JSON whatever Content-Type says (this API speaks nothing else). An
    `optional` body may be left out entirely, which loads as `{}`. Its size was bounded before
    it was read (BodySizeLimit)."""
    raw = req.bounded_stream.read()
    if not raw.strip():
        if optional:
            return _load(schema, {})
        raise Problem(400, "bad_request", "A JSON body is required.")
    media = parse_json(raw)
    if not isinstance(media, dict):
        raise validation_error({"_schema": ["The body must be a JSON object."]})
    return _load(schema, media)


def parse_json(raw: bytes):
    """JSON no deeper than MAX_JSON_DEPTH: our bodies are at most three levels deep, and a deep
    one is only ever an attempt to exhaust the parser."""
    try:
        media = json.loads(raw)
    except RecursionError:
        raise too_deep() from None
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "bad_request", "The body is not valid JSON.") from None
    if nesting_depth(media) > MAX_JSON_DEPTH:
        raise too_deep()
    return media


def too_deep() -> Problem:
    return Problem(400, "bad_request", f"The body nests JSON deeper than {MAX_JSON_DEPTH} levels.")


def nesting_depth(value) -> int:
    """How many arrays and objects deep `value` goes (a scalar is 0), without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in children)
    return deepest


def load_query(req, schema) -> dict:
    return _load(schema, dict(req.params))


def _load(schema, data: dict) -> dict:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise validation_error(error.normalized_messages()) from None


def encode_cursor(at: dt.datetime, row_id) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[dt.datetime | None, str | None]:
    if cursor is None:
        return None, None
    try:
        at, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return dt.datetime.fromisoformat(at), str(uuid.UUID(row_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise validation_error({"cursor": ["Not a cursor this API gave out."]}) from None


def page(rows: list[dict], limit: int, at_column: str) -> dict:
    """Items plus the cursor of the next page (None on the last page)."""
    next_cursor = encode_cursor(rows[-1][at_column], rows[-1]["id"]) if len(rows) == limit else None
    return {"items": rows, "next_cursor": next_cursor}


class BodySizeLimit:
    """Middleware: a body declared larger than the limit is refused (413) before a byte of it is
    read. A body with no declared length reads as empty (Falcon bounds it by Content-Length).

    After the answer, the server reads and drops the rest of the body (discard_unread_body, from
    gunicorn's post_request), as nginx's lingering close does: a server that closes a socket
    with unread data resets it, and a client still sending its body would see the reset, never
    the 413."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes

    def process_request(self, req, resp):
        if (req.content_length or 0) > self.max_bytes:
            req.env[UNREAD_BODY_KEY] = req.content_length
            raise Problem(413, "payload_too_large",
                          f"The body may be at most {self.max_bytes} bytes; this one declares "
                          f"{req.content_length}.")


# The WSGI environ's note of a refused body's declared length, for gunicorn's post_request.
UNREAD_BODY_KEY = "challenges.unread_body"
# What is dropped after a 413 at most: a body up to 8 MiB that arrives within 2 s is read to its
# end and the connection kept; a larger or slower one is cut off (gunicorn then closes).
DISCARD_MAX_BYTES = 8 * 1024 * 1024
DISCARD_SECONDS = 2.0
DISCARD_CHUNK_BYTES = 64 * 1024


def discard_unread_body(body, sock, declared: int, clock=time.monotonic) -> int:
    """Reads and drops the answered request's `body` (gunicorn's reader of `sock`, so gunicorn
    knows it was consumed) up to DISCARD_MAX_BYTES and DISCARD_SECONDS; how many bytes."""
    deadline, discarded, blocking = clock() + DISCARD_SECONDS, 0, sock.gettimeout()
    try:
        while discarded <= min(declared, DISCARD_MAX_BYTES) and clock() < deadline:
            sock.settimeout(max(0.01, deadline - clock()))
            chunk = body.read(DISCARD_CHUNK_BYTES)
            if not chunk:
                break
            discarded += len(chunk)
    except OSError:  # the client went away, or stopped sending for the rest of the time
        pass
    finally:
        sock.settimeout(blocking)
    return discarded
