from api.db import Q
from api.errors import Problem, not_found, validation_error
from api.openapi import Op
from api.schemas.users import TIME_ZONE_RULE, MyProfile, ProfileChange, ProfileUpdate, UserProfile
from api.validation import load_body
from core.rules.ratings import rating_view

PROFILE_UPDATE = ProfileUpdate()


class Me:
    openapi = {
        "get": Op("getMyProfile", "Your profile", response=MyProfile, errors=(404,),
                  description="Your profile, with your points total and skill rating. You exist from your first "
                              "command: until then this is a 404 `no_profile`; afterwards it is your "
                              "profile, with the defaults (empty display_name, no avatar, UTC) until "
                              "PUT /me changes them."),
        "put": Op("updateMyProfile", "Set up or change your profile", body=ProfileUpdate,
                  result=ProfileChange, body_example={"display_name": "Sarah", "timezone": "Europe/Berlin"},
                  description="Only the fields you send change; `avatar_url: null` removes the avatar."),
    }

    def __init__(self, db, dispatcher):
        self.db, self.dispatcher = db, dispatcher

    def on_get(self, req, resp):
        with self.db.reading(req.context.caller.id) as conn:
            profile = Q.get_my_profile(conn, user_id=req.context.caller.id)
            points = Q.points_total(conn, user_id=req.context.caller.id)
        if profile is None:
            raise Problem(404, "no_profile", "You have no profile yet: it starts with your first "
                                             "command (PUT /api/v1/me sets it up).")
        resp.media = {**with_rating(profile), "points": points}

    def on_put(self, req, resp):
        changes = load_body(req, PROFILE_UPDATE)
        if "timezone" in changes and changes["timezone"] not in self.db.time_zones():
            # Python's tzdata knows it, the database's does not (older): every streak counted
            # in it would fail.
            raise validation_error({"timezone": [TIME_ZONE_RULE + " This server does not know that one."]})
        self.dispatcher.submit(req, resp, actor="users.update_profile", payload=changes)


RATING_COLUMNS = ("rating_mu", "rating_sigma", "rated_challenges")


def with_rating(profile: dict) -> dict:
    """The profile row with its rating columns as one `rating`."""
    view = {key: value for key, value in profile.items() if key not in RATING_COLUMNS}
    view["rating"] = rating_view(*(profile[column] for column in RATING_COLUMNS))
    return view


class User:
    openapi = {"get": Op("getUser", "A user's public profile", response=UserProfile, errors=(404,),
                         description="Anyone's public profile with their skill rating, and whether you are "
                                     "friends. A user "
                                     "exists from their first command.")}

    def __init__(self, db):
        self.db = db

    def on_get(self, req, resp, user_id):
        with self.db.reading(req.context.caller.id) as conn:
            profile = Q.get_public_profile(conn, user_id=str(user_id))
            if profile is None:
                raise not_found("No such user.")
            is_friend = Q.are_friends(conn, a=req.context.caller.id, b=str(user_id))
        resp.media = {**with_rating(profile), "is_friend": is_friend}
