"""Loading requests through marshmallow, and the opaque cursors of paginated lists."""

import base64
import binascii
import datetime as dt
import uuid

import json
from marshmallow import ValidationError

from api.errors import Problem, validation_error


def load_body(req, schema, *, optional: bool = False) -> dict:
    """The body as JSON whatever Content-Type says (this API speaks nothing else). An
    `optional` body may be left out entirely, which loads as `{}`."""
    raw = req.bounded_stream.read()
    if not raw.strip():
        if optional:
            return _load(schema, {})
        raise Problem(400, "bad_request", "A JSON body is required.")
    try:
        media = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "bad_request", "The body is not valid JSON.") from None
    if not isinstance(media, dict):
        raise validation_error({"_schema": ["The body must be a JSON object."]})
    return _load(schema, media)


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
