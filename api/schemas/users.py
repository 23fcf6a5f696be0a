"""You and other users: your profile and its changes (PUT /me, time zones checked here), the
profiles of others, and UserSummary, how every other area shows a user."""

import zoneinfo

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import Response
from api.schemas.fields import Text, storable

# Names of tzdata that are no place's time: "localtime" is whatever the server's clock is set to,
# "Factory" is "local time unknown" (-00), "posixrules" is a template for POSIX TZ strings.
# Legacy names that are real zones or links (EST5EDT, US/Eastern, Etc/GMT+5) are accepted.
PSEUDO_ZONES = frozenset({"localtime", "Factory", "posixrules"})
# Looked up in a set, never on disk: a name is checked before it can reach the file system
# (where "Europe" is a directory and 256 bytes is too long a file name). A name must also be one
# the database knows, which PUT /me checks next (ReadDatabase.time_zones): PostgreSQL counts
# streaks in it, and its tzdata may be older than Python's.
TIME_ZONES = frozenset(zoneinfo.available_timezones()) - PSEUDO_ZONES
TIME_ZONE_RULE = "Must be an IANA time zone name that names a place, e.g. Europe/Berlin."


def valid_timezone(name: str) -> None:
    if name not in TIME_ZONES:
        raise ValidationError(TIME_ZONE_RULE)


class ProfileUpdate(Schema):
    display_name = Text(validate=validate.Length(min=1, max=80))
    avatar_url = fields.Url(allow_none=True, schemes={"http", "https"},
                            validate=[validate.Length(max=2048), storable])
    timezone = Text(validate=[validate.Length(max=64), valid_timezone])

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Give at least one of display_name, avatar_url, timezone.", "_schema")


class ProfileFields(Response):
    id = fields.UUID()
    display_name = fields.Str()
    avatar_url = fields.Str(allow_none=True)
    timezone = fields.Str()


class ProfileChange(Response):
    user = fields.Nested(ProfileFields, metadata={"description": "Your profile after the change."})


class SkillRating(Response):
    """An athlete's openskill rating (docs/domain.md, "Skill rating")."""

    value = fields.Float(metadata={"description": "mu - 3 sigma: the skill we are nearly sure of; 0 "
                                                  "at the start, what order=rating ranks by."})
    mu = fields.Float(metadata={"description": "The estimate of skill (25 at the start)."})
    sigma = fields.Float(metadata={"description": "How uncertain the estimate is (25/3 at the start; "
                                                  "shrinks with every settled challenge)."})
    rated_challenges = fields.Int(metadata={"description": "Completed or abandoned challenges rated."})


class Profile(Response):
    id = fields.UUID()
    display_name = fields.Str(metadata={"description": "Empty until you set it with PUT /me."})
    avatar_url = fields.Str(allow_none=True)
    timezone = fields.Str(metadata={"description": "IANA name; UTC until you set it."})
    created_at = fields.DateTime()
    rating = fields.Nested(SkillRating)


class MyProfile(Profile):
    points = fields.Int(metadata={"description": "Your points total (GET /points for the ledger)."})


class UserProfile(Response):
    id = fields.UUID()
    display_name = fields.Str()
    avatar_url = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    rating = fields.Nested(SkillRating)
    is_friend = fields.Bool(metadata={"description": "Whether you are friends (false for yourself)."})


class UserSummary(Response):
    id = fields.UUID()
    display_name = fields.Str()
    avatar_url = fields.Str(allow_none=True)
