"""Friends and friend requests."""

from marshmallow import Schema, fields

from api.schemas.common import Response
from api.schemas.fields import UUIDString, one_of
from api.schemas.users import UserSummary


class FriendRequest(Schema):
    user_id = UUIDString(required=True)


class FriendshipChange(Response):
    friend_id = fields.UUID(metadata={"description": "The other user."})
    status = fields.Str(validate=one_of(["pending", "accepted", "removed"]),
                        metadata={"description": "The friendship after the change."})


class Friend(UserSummary):
    friends_since = fields.DateTime()


class FriendRequestItem(Response):
    id = fields.UUID(metadata={"description": "The other user."})
    display_name = fields.Str()
    avatar_url = fields.Str(allow_none=True)
    direction = fields.Str(validate=one_of(["incoming", "outgoing"]))
    created_at = fields.DateTime()


class Friends(Response):
    friends = fields.List(fields.Nested(Friend))
    requests = fields.List(fields.Nested(FriendRequestItem))
