"""Field types and validators the schemas of several areas share: free text (Text, storable),
ids (UUIDString), times (Moment, log_time) and numbers (finite_number) for loading requests;
AnyOf, one_of and optional for documenting responses."""

import datetime as dt
import unicodedata

from marshmallow import ValidationError, fields, validate


def storable(text: str) -> None:
    """Text PostgreSQL can store: UTF-8 without NUL characters (JSON's `\\ud83d` escapes can
    spell half an emoji, which has no UTF-8 form)."""
    if "\x00" in text:
        raise ValidationError("Must not contain NUL characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Must be valid Unicode: an unpaired surrogate escape was sent.") from None


def invisible(char: str) -> bool:
    """Whitespace, or a character that shows nothing: Unicode's separators (Z*: U+00A0, U+3000,
    U+2028...) and format characters (Cf: U+200B, U+200E, U+2060, U+FEFF...)."""
    return char.isspace() or unicodedata.category(char) in {"Zs", "Zl", "Zp", "Cf"}


def trimmed(text: str) -> str:
    """`text` without invisible characters at either end (those inside, such as an emoji's
    zero-width joiner, are kept)."""
    start, end = 0, len(text)
    while start < end and invisible(text[start]):
        start += 1
    while end > start and invisible(text[end - 1]):
        end -= 1
    return text[start:end]


BLANK = "Must not be blank."


class Text(fields.Str):
    """Free text: trimmed of invisible characters at both ends (`trimmed`) and storable. Blank
    text, nothing left after trimming, is refused with "Must not be blank.", unless the field is
    made with `blank_is_default=True`: then blank means "not given" and the field's documented
    default (`load_default`) applies, as it does to a missing field."""

    def __init__(self, *args, blank_is_default: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.blank_is_default = blank_is_default
        rule = ("Trimmed of surrounding spaces and invisible characters; blank "
                + ("counts as left out." if blank_is_default else "is refused."))
        described = self.metadata.get("description")
        self.metadata = {**self.metadata, "description": f"{described} {rule}" if described else rule}

    def deserialize(self, value, *args, **kwargs):
        if self.blank_is_default and isinstance(value, str) and not trimmed(value):
            return self.load_default  # as if left out: no validator sees it
        return super().deserialize(value, *args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = trimmed(super()._deserialize(value, attr, data, **kwargs))
        if not text:
            raise ValidationError(BLANK)
        storable(text)
        return text


class UUIDString(fields.UUID):
    """A UUID, validated, kept as its canonical string (what messages and SQL take)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return str(super()._deserialize(value, attr, data, **kwargs))


class Moment(fields.AwareDateTime):
    """A time with its UTC offset that also exists in UTC (so "9999-12-31T23:59:59-14:00",
    which would be in the year 10000, is refused) and is stored in UTC."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(dt.timezone.utc)
        except OverflowError:
            raise ValidationError("Must be a time between the years 1 and 9999 in UTC.") from None


CLOCK_SKEW = dt.timedelta(minutes=5)
EARLIEST_LOG = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
LOG_TIME_RULE = ("When it was done: from 2000-01-01T00:00:00Z up to now (a phone's clock may run "
                 "5 minutes fast); default now.")


def log_time(moment: dt.datetime) -> None:
    """When a logged workout or habit was done. Not before 2000: the app did not exist, and a
    time like 0001-01-01 is a client's empty date, not a workout. Not later than now (give or
    take a phone's clock): it would count for a challenge before it happened."""
    if moment < EARLIEST_LOG:
        raise ValidationError("Must not be before 2000-01-01T00:00:00Z.")
    if moment > dt.datetime.now(dt.timezone.utc) + CLOCK_SKEW:
        raise ValidationError("Must not be in the future.")


def finite_number(**range_args):
    """A required number in a range; NaN and infinities, which some JSON parsers accept, are
    refused."""
    return fields.Float(required=True, allow_nan=False, validate=validate.Range(**range_args))


class AnyOf(fields.Raw):
    """A value of one of several response schemas (which one, its sibling field says)."""

    def __init__(self, *schemas: type, **kwargs):
        super().__init__(**kwargs)
        self.schemas = schemas


def one_of(values) -> validate.OneOf:
    """The choices of a response field (the document's `enum`), from any sequence of them."""
    return validate.OneOf(list(values))


def optional(description: str) -> dict:
    """Metadata of a response field that is only sometimes present: api.openapi leaves it out of
    `required` (see common.Response)."""
    return {"optional": True, "description": description}
