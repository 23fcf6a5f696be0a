from api.db import Q
from api.errors import Problem, not_found
from api.openapi import Op
from api.schemas import FriendRequest, Friends as FriendsSchema
from api.validation import load_body

FRIEND_REQUEST = FriendRequest()


class FriendRequests:
    openapi = {"post": Op("Ask a user to be friends (accepts theirs if they asked first).",
                          body=FriendRequest, mutation=True, errors=(404, 409, 422))}

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
    openapi = {"post": Op("Accept a friend request.", mutation=True, errors=(404, 409))}

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
    openapi = {"delete": Op("Unfriend someone; past challenges stay in history.",
                            mutation=True, errors=(404,))}

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
    openapi = {"get": Op("Your friends and pending friend requests.", response=FriendsSchema)}

    def __init__(self, db):
        self.db = db

    def on_get(self, req, resp):
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            resp.media = {"friends": list(Q.list_friends(conn, user_id=caller)),
                          "requests": list(Q.list_friend_requests(conn, user_id=caller))}
