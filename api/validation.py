"""Loading requests through marshmallow, and the opaque cursors of paginated lists."""

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
import struct
import time
import uuid
from dataclasses import dataclass

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


# Cursors ---------------------------------------------------------------------------------------
#
# A cursor is the position after a page's last row, (ordering timestamp, row id), packed as 24
# bytes (microseconds since the epoch, then the UUID) and followed by the first 16 bytes of an
# HMAC-SHA256 over the list's name, its ordering and those 24 bytes: 40 bytes, sent as 54
# characters of unpadded URL-safe base64. Only this API can make one, and each list takes only
# its own: another list's cursor, a modified one or anything else is a 422 naming `cursor`.
#
# The key is derived from JWT_SECRET (HMAC-SHA256 of a fixed label), so every API process of a
# deployment shares it and it survives restarts; rotating JWT_SECRET invalidates outstanding
# cursors (a client starts again from the first page). Under RS256 the secret is not used for
# tokens but still keys cursors, so it must be set to a random value there too (docs/api.md).

CURSOR_KEY_LABEL = b"challenges api cursor key v1"
CURSOR_TAG_BYTES = 16
CURSOR_POSITION = struct.Struct(">q16s")  # microseconds since the epoch, row id
CURSOR_CHARS = re.compile(r"[A-Za-z0-9_-]+")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Listing:
    """A paginated list: its name and the timestamp column it is ordered by, newest first (ties
    broken by id). Its cursors are signed for both."""
    name: str
    ordering: str

    def signed_part(self) -> bytes:
        return f"{self.name}\n{self.ordering} desc, id desc\n".encode()


class Cursors:
    """Gives out and checks the cursors of every paginated list (see above)."""

    def __init__(self, key: bytes):
        self.key = key

    @classmethod
    def for_settings(cls, settings) -> "Cursors":
        return cls(hmac.new(settings.jwt_secret.encode(), CURSOR_KEY_LABEL, hashlib.sha256).digest())

    def _tag(self, listing: Listing, position: bytes) -> bytes:
        return hmac.new(self.key, listing.signed_part() + position, hashlib.sha256).digest()[:CURSOR_TAG_BYTES]

    def encode(self, listing: Listing, at: dt.datetime, row_id) -> str:
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.timezone.utc)
        position = CURSOR_POSITION.pack((at - EPOCH) // MICROSECOND, uuid.UUID(str(row_id)).bytes)
        return base64.urlsafe_b64encode(position + self._tag(listing, position)).decode().rstrip("=")

    def decode(self, listing: Listing, cursor: str | None) -> tuple[dt.datetime | None, str | None]:
        """The position `cursor` names in `listing`, (None, None) without one; a 422 naming
        `cursor` unless this list gave it out."""
        if cursor is None:
            return None, None
        size = CURSOR_POSITION.size + CURSOR_TAG_BYTES
        if len(cursor) != -(-size * 4 // 3) or not CURSOR_CHARS.fullmatch(cursor):
            raise foreign_cursor()
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (ValueError, binascii.Error):
            raise foreign_cursor() from None
        position, tag = raw[:CURSOR_POSITION.size], raw[CURSOR_POSITION.size:]
        # The signature, and the one spelling of those bytes (base64's spare bits unset).
        if (len(raw) != size or not hmac.compare_digest(tag, self._tag(listing, position))
                or base64.urlsafe_b64encode(raw).decode().rstrip("=") != cursor):
            raise foreign_cursor()
        micros, row_id = CURSOR_POSITION.unpack(position)
        try:
            return EPOCH + micros * MICROSECOND, str(uuid.UUID(bytes=row_id))
        except OverflowError:
            raise foreign_cursor() from None

    def page(self, listing: Listing, rows: list[dict], limit: int) -> dict:
        """Items plus the cursor of the next page (None on the last page)."""
        last = rows[-1] if rows and len(rows) == limit else None
        next_cursor = self.encode(listing, last[listing.ordering], last["id"]) if last else None
        return {"items": rows, "next_cursor": next_cursor}


def foreign_cursor() -> Problem:
    return validation_error({"cursor": ["Not a cursor this list gave out: send its own `next_cursor`, "
                                        "or leave `cursor` out for the first page."]})


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
