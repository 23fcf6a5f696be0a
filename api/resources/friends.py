from api.db import Q
from api.errors import Problem, not_found
from api.openapi import Op
from api.schemas.friends import FriendRequest, Friends as FriendsSchema, FriendshipChange
from api.validation import load_body

FRIEND_REQUEST = FriendRequest()


class FriendRequests:
    openapi = {"post": Op("sendFriendRequest", "Ask a user to be friends", body=FriendRequest,
                          result=FriendshipChange, creates=True, errors=(404,),
                          body_example={"user_id": "0b6f1e5c-4b8e-4d3a-9a55-0c7c2f3b9d11"},
                          description="Accepts theirs instead if they asked you first.")}

    def __init__(self, db, dispatcher):
        self.db, self.dispatcher = db, dispatcher

    def on_post(self, req, resp):
        caller = req.context.caller.id
        friend_id = load_body(req, FRIEND_REQUEST)["user_id"]

        def precheck():
            if friend_id == caller:
                raise Problem(422, "validation_error", "You cannot befriend yourself.",
                              errors={"user_id": ["Must be another user."]})
            with self.db.reading(caller) as conn:
                if not Q.user_exists(conn, user_id=friend_id):
                    raise not_found("No such user.")

        self.dispatcher.submit(req, resp, actor="friends.request", payload={"friend_id": friend_id},
                               precheck=precheck, creates=True)


class FriendRequestAccept:
    openapi = {"post": Op("acceptFriendRequest", "Accept a friend request", result=FriendshipChange,
                          description="`user_id` is the user who asked.")}

    def __init__(self, db, dispatcher):
        self.db, self.dispatcher = db, dispatcher

    def on_post(self, req, resp, user_id):
        caller, requester = req.context.caller.id, str(user_id)

        def precheck():
            with self.db.reading(caller) as conn:
                friendship = Q.get_friendship(conn, a=caller, b=requester)
            if friendship is None or str(friendship["requester_id"]) != requester:
                raise not_found("No friend request from this user.")
            if friendship["status"] == "accepted":
                raise Problem(409, "invalid_state", "You are already friends.")

        self.dispatcher.submit(req, resp, actor="friends.accept", payload={"requester_id": requester},
                               precheck=precheck)


class Friend:
    openapi = {"delete": Op("removeFriend", "Unfriend someone", result=FriendshipChange,
                            description="Past challenges stay in your history.")}

    def __init__(self, db, dispatcher):
        self.db, self.dispatcher = db, dispatcher

    def on_delete(self, req, resp, user_id):
        caller, friend = req.context.caller.id, str(user_id)

        def precheck():
            with self.db.reading(caller) as conn:
                if Q.get_friendship(conn, a=caller, b=friend) is None:
                    raise not_found("You are not friends with this user.")

        self.dispatcher.submit(req, resp, actor="friends.remove", payload={"friend_id": friend},
                               precheck=precheck)


class Friends:
    openapi = {"get": Op("listFriends", "Your friends and friend requests", response=FriendsSchema,
                         description="Your friends, and the requests you sent or received that "
                                     "are still pending.")}

    def __init__(self, db):
        self.db = db

    def on_get(self, req, resp):
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            resp.media = {"friends": list(Q.list_friends(conn, user_id=caller)),
                          "requests": list(Q.list_friend_requests(conn, user_id=caller))}
