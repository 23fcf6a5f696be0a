"""Community challenges over HTTP: coaches create them, anyone joins an open one, and each
athlete sees their progress and rank; joining is a command the worker checks again under the
challenge's row lock."""

import uuid

from api.db import Q
from api.errors import Problem, not_found, rules_as_problems
from api.openapi import Op
from api.schemas.common import Page
from api.schemas.community import (
    CommunityChallenge, CommunityChallengeCreate, CommunityChallengeCreated, CommunityChallengePage,
    CommunityJoined, CommunityLeaderboard, CommunityLeaderboardQuery, Participations)
from api.validation import Listing, load_body, load_query
from core.rules.community_rules import check_joinable, percentage

CREATE, PAGE, LEADERBOARD_QUERY = CommunityChallengeCreate(), Page(), CommunityLeaderboardQuery()
CREATOR_ROLES = {"coach", "admin"}
HIDDEN_COLUMNS = ("has_ended", "closed_at")


def challenge_view(row: dict) -> dict:
    return {key: value for key, value in row.items() if key not in HIDDEN_COLUMNS}


def participation_view(row: dict) -> dict:
    return {**row, "percentage": percentage(row["total"], row["target"])}


COMMUNITY_CHALLENGES = Listing("community-challenges", ordering="created_at")


class CommunityChallenges:
    openapi = {
        "post": Op("createCommunityChallenge", "Create a community challenge",
                   body=CommunityChallengeCreate, result=CommunityChallengeCreated,
                   ids=("community_challenge_id",), creates=True, errors=(403,),
                   body_example={"name": "30 workouts in 30 days", "challenge_type": "workouts",
                                 "target_value": 30, "duration_days": 30, "points_reward": 500},
                   description="For a token with role coach or admin."),
        "get": Op("listCommunityChallenges", "Open community challenges", query=Page,
                  response=CommunityChallengePage,
                  description="Those not yet over, newest first, with the number of participants, "
                              "days left and whether you have joined."),
    }

    def __init__(self, db, dispatcher, cursors):
        self.db, self.dispatcher, self.cursors = db, dispatcher, cursors

    def on_post(self, req, resp):
        if req.context.caller.role not in CREATOR_ROLES:
            raise Problem(403, "forbidden", "Only a coach or an admin can create community challenges.")
        body = load_body(req, CREATE)
        self.dispatcher.submit(req, resp, actor="community.create", payload=body,
                               ids={"community_challenge_id": str(uuid.uuid4())}, creates=True)

    def on_get(self, req, resp):
        query = load_query(req, PAGE)
        cursor_at, cursor_id = self.cursors.decode(COMMUNITY_CHALLENGES, query["cursor"])
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            rows = list(Q.list_community_challenges(conn, user_id=caller, cursor_at=cursor_at,
                                                    cursor_id=cursor_id, limit=query["limit"]))
        listed = self.cursors.page(COMMUNITY_CHALLENGES, rows, query["limit"])
        resp.media = {**listed, "items": [challenge_view(row) for row in listed["items"]]}


class CommunityChallengeItem:
    openapi = {"get": Op("getCommunityChallenge", "A community challenge", response=CommunityChallenge,
                         description="Open or over.")}

    def __init__(self, db):
        self.db = db

    def on_get(self, req, resp, challenge_id):
        with self.db.reading(req.context.caller.id) as conn:
            row = Q.get_community_challenge(conn, id=str(challenge_id), user_id=req.context.caller.id)
        if row is None:
            raise not_found("No such community challenge.")
        resp.media = challenge_view(row)


class CommunityJoin:
    openapi = {"post": Op("joinCommunityChallenge", "Join a community challenge", result=CommunityJoined,
                          description="An open one; your workouts and habits count towards it "
                                      "from now on.")}

    def __init__(self, db, dispatcher):
        self.db, self.dispatcher = db, dispatcher

    def on_post(self, req, resp, challenge_id):
        caller, challenge_id = req.context.caller.id, str(challenge_id)

        def precheck():
            with self.db.reading(caller) as conn:
                challenge = Q.get_community_challenge(conn, id=challenge_id, user_id=caller)
            with rules_as_problems():
                check_joinable(challenge, bool(challenge and challenge["joined"]))

        self.dispatcher.submit(req, resp, actor="community.join",
                               payload={"community_challenge_id": challenge_id}, precheck=precheck)


class MyCommunityChallenges:
    openapi = {"get": Op("listMyCommunityChallenges", "Your community challenges",
                         response=Participations,
                         description="Each one you joined: your total against the target, "
                                     "percentage, rank of all participants, days left, reward and "
                                     "status; active ones first.")}

    def __init__(self, db):
        self.db = db

    def on_get(self, req, resp):
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            rows = list(Q.my_participations(conn, user_id=caller))
        resp.media = {"items": [participation_view(row) for row in rows]}


class CommunityChallengeLeaderboard:
    openapi = {"get": Op("getCommunityLeaderboard", "A community challenge's leaderboard",
                         query=CommunityLeaderboardQuery, response=CommunityLeaderboard,
                         description="The top participants, and your own row wherever it ranks "
                                     "(null if you have not joined).")}

    def __init__(self, db):
        self.db = db

    def on_get(self, req, resp, challenge_id):
        query = load_query(req, LEADERBOARD_QUERY)
        caller, challenge_id = req.context.caller.id, str(challenge_id)
        with self.db.reading(caller) as conn:
            challenge = Q.get_community_challenge(conn, id=challenge_id, user_id=caller)
            if challenge is None:
                raise not_found("No such community challenge.")
            rows = list(Q.community_leaderboard(conn, id=challenge_id, user_id=caller, limit=query["limit"]))
        ranks = [self._rank(row, challenge["target_value"], caller) for row in rows]
        resp.media = {"community_challenge_id": challenge_id, "target": challenge["target_value"],
                      "unit": challenge["unit"], "participants": challenge["participant_count"],
                      "items": [rank for row, rank in zip(rows, ranks) if row["in_top"]],
                      "me": next((rank for rank in ranks if rank["is_you"]), None)}

    @staticmethod
    def _rank(row: dict, target: float, caller: str) -> dict:
        return {"rank": row["rank"], "total": row["total"], "percentage": percentage(row["total"], target),
                "status": row["status"], "is_you": str(row["user_id"]) == caller,
                "user": {"id": row["user_id"], "display_name": row["display_name"],
                         "avatar_url": row["avatar_url"]}}
