from api.db import Q
from api.errors import not_found
from api.openapi import Op
from api.schemas import MyProfile, Profile, ProfileUpdate
from api.validation import load_body

PROFILE_UPDATE = ProfileUpdate()


class Me:
    openapi = {
        "get": Op("Your profile, with your points total.", response=MyProfile, errors=(401, 404)),
        "put": Op("Create or update your profile (signing up is the first PUT).",
                  body=ProfileUpdate, mutation=True),
    }

    def __init__(self, db, dispatcher):
        self.db, self.dispatcher = db, dispatcher

    def on_get(self, req, resp):
        with self.db.reading(req.context.caller.id) as conn:
            profile = Q.get_profile(conn, user_id=req.context.caller.id)
            points = Q.points_total(conn, user_id=req.context.caller.id)
        if profile is None:
            raise not_found("You have no profile yet: create it with PUT /api/v1/me.")
        resp.media = {**profile, "points": points}

    def on_put(self, req, resp):
        changes = load_body(req, PROFILE_UPDATE)
        self.dispatcher.submit(req, resp, actor="users.update_profile", payload=changes)


class User:
    openapi = {"get": Op("A user's public profile.", response=Profile, errors=(401, 404))}

    def __init__(self, db):
        self.db = db

    def on_get(self, req, resp, user_id):
        with self.db.reading(req.context.caller.id) as conn:
            profile = Q.get_profile(conn, user_id=str(user_id))
            if profile is None:
                raise not_found("No such user.")
            profile["is_friend"] = Q.are_friends(conn, a=req.context.caller.id, b=str(user_id))
        if str(user_id) != req.context.caller.id:
            del profile["timezone"]
        resp.media = profile
