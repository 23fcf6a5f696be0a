import uuid

from api.db import Q
from api.errors import Problem, not_found
from api.openapi import Op
from api.schemas import Challenge, ChallengeComplete as CompleteSchema, ChallengeCreate as CreateSchema
from api.validation import load_body

CREATE, COMPLETE = CreateSchema(), CompleteSchema()
RESULT_BY_STATUS = {"pending": "pending", "accepted": "in_progress", "declined": "declined",
                    "expired": "expired", "abandoned": "quit"}


def challenge_view(row: dict, caller: str) -> dict:
    """The challenge with `direction`, `result` and `opponent` as the caller sees it.
    `result` tells how the challenged athlete's attempt went, whichever side asks."""
    sent = str(row["from_user_id"]) == caller
    side = "to" if sent else "from"
    view = {k: v for k, v in row.items() if not k.startswith(("from_display", "from_avatar",
                                                              "to_display", "to_avatar"))}
    view["direction"] = "sent" if sent else "received"
    view["result"] = (("victory" if row["did_beat"] else "failed") if row["status"] == "completed"
                      else RESULT_BY_STATUS[row["status"]])
    view["opponent"] = {"id": row[f"{side}_user_id"], "display_name": row[f"{side}_display_name"],
                        "avatar_url": row[f"{side}_avatar_url"]}
    return view


def participant_check(db, caller: str, challenge_id: str, *, status: str):
    """The API's early answer for commands of the challenged user on a challenge in `status`;
    the worker checks the same again under a row lock."""

    def precheck():
        with db.reading(caller) as conn:
            row = Q.get_challenge(conn, id=challenge_id)
        if row is None:
            raise not_found("No such challenge.")
        if str(row["to_user_id"]) != caller:
            raise Problem(403, "forbidden", "Only the challenged user can do this.")
        if row["status"] != status:
            raise Problem(409, "invalid_state", f"The challenge is {row['status']}, not {status}.")

    return precheck


class ChallengeCreate:
    openapi = {"post": Op("Challenge 1 to 20 friends to beat one of your logged workouts.",
                          body=CreateSchema, mutation=True, errors=(403, 404, 422))}

    def __init__(self, db, dispatcher):
        self.db, self.dispatcher = db, dispatcher

    def on_post(self, req, resp):
        caller = req.context.caller.id
        body = load_body(req, CREATE)

        def precheck():
            if caller in body["to_user_ids"]:
                raise Problem(422, "self_challenge", "You cannot challenge yourself.",
                              errors={"to_user_ids": ["Must not contain your own id."]})
            with self.db.reading(caller) as conn:
                if Q.get_workout(conn, id=body["workout_log_id"]) is None:
                    raise not_found("No such workout log of yours.")
                friends = Q.count_friends_among(conn, user_id=caller, ids=body["to_user_ids"])
            if friends != len(body["to_user_ids"]):
                raise Problem(403, "not_friends", "You can only challenge your friends.")

        ids = {"challenge_ids": [str(uuid.uuid4()) for _ in body["to_user_ids"]]}
        self.dispatcher.submit(req, resp, actor="challenges.create", payload=body, ids=ids,
                               precheck=precheck, creates=True)


class ChallengeAccept:
    openapi = {"post": Op("Accept a pending challenge sent to you.", mutation=True,
                          errors=(403, 404, 409))}

    def __init__(self, db, dispatcher):
        self.db, self.dispatcher = db, dispatcher

    def on_post(self, req, resp, challenge_id):
        caller, challenge_id = req.context.caller.id, str(challenge_id)
        self.dispatcher.submit(req, resp, actor="challenges.accept",
                               payload={"challenge_id": challenge_id},
                               precheck=participant_check(self.db, caller, challenge_id, status="pending"))


class ChallengeComplete:
    openapi = {"post": Op("Report your attempt at an accepted challenge; the worker decides "
                          "whether you beat it.", body=CompleteSchema, mutation=True,
                          errors=(403, 404, 409, 422))}

    def __init__(self, db, dispatcher):
        self.db, self.dispatcher = db, dispatcher

    def on_post(self, req, resp, challenge_id):
        caller, challenge_id = req.context.caller.id, str(challenge_id)
        attempt = load_body(req, COMPLETE)
        self.dispatcher.submit(req, resp, actor="challenges.complete",
                               payload={"challenge_id": challenge_id, **attempt},
                               precheck=participant_check(self.db, caller, challenge_id, status="accepted"))


class ChallengeItem:
    openapi = {"get": Op("A challenge you take part in.", response=Challenge, errors=(404,))}

    def __init__(self, db):
        self.db = db

    def on_get(self, req, resp, challenge_id):
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            row = Q.get_challenge(conn, id=str(challenge_id))
        if row is None:
            raise not_found("No such challenge.")
        resp.media = challenge_view(row, caller)
