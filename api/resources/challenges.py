"""Friend challenges over HTTP: reads straight from PostgreSQL (as the caller, under RLS), every
change as a command for the workers, with the worker's rules checked early here for a quick
answer."""

import logging
import uuid

from api.db import Q
from api.errors import Problem, not_found, rules_as_problems
from api.openapi import Op
from api.schemas.challenges import (
    MAX_QUIT_REASON, ChallengeAbandon, ChallengeAbandoned, ChallengeComplete,
    ChallengeCompleted, ChallengeCreate, ChallengeDetail, ChallengeListQuery, ChallengePage,
    ChallengeRetried, ChallengeRetry, ChallengesCreated, ChallengeStats, ChallengeStatusChange,
    RetryChain, QuitReasons)
from api.validation import Listing, load_body, load_query
from core.event_log import EventLogUnavailable
from core.insights import encouragement_for
from core.rules.challenge_access import check_access, check_latest_round
from core.rules.challenges import QUIT_REASONS
from core.rules.crowd import difficulty

log = logging.getLogger(__name__)

CREATE, LIST_QUERY = ChallengeCreate(), ChallengeListQuery()
JOINED_COLUMNS = ("from_display_name", "from_avatar_url", "to_display_name", "to_avatar_url", "is_expired",
                  "rating_seq")
RESULT_BY_STATUS = {"pending": "pending", "accepted": "in_progress", "declined": "declined",
                    "expired": "expired", "abandoned": "quit"}


def caller_result(row: dict, sent: bool) -> str:
    """The outcome from the caller's side: a completed challenge you sent is a victory when the
    opponent did not beat it, and failed when they did; one they quit is `quit` for both of you
    (the history's Quit tab, with their reason), and counts in neither `beaten` nor `defended`.
    `row["status"]` is as read through challenges_as_seen: `expired` from `expires_at` on."""
    if row["status"] != "completed":
        return RESULT_BY_STATUS[row["status"]]
    return "victory" if row["did_beat"] != sent else "failed"


def comparison(row: dict) -> dict | None:
    """Target against attempt; positive differences favour the challenged athlete."""
    if row["status"] != "completed":
        return None
    target, attempt = row["challenger_stats"], row["challenged_stats"]
    return {"target": target, "attempt": attempt,
            "time_difference_minutes": round(target["duration_minutes"] - attempt["duration_minutes"], 2),
            "volume_difference_kg": round(attempt["total_volume_kg"] - target["total_volume_kg"], 2)}


def challenge_view(row: dict, caller: str) -> dict:
    """The challenge with `direction`, `result`, `opponent` and `comparison` as the caller
    sees it."""
    sent = str(row["from_user_id"]) == caller
    side = "to" if sent else "from"
    view = {k: v for k, v in row.items() if k not in JOINED_COLUMNS}
    view["direction"] = "sent" if sent else "received"
    view["result"] = caller_result(row, sent)
    view["opponent"] = {"id": row[f"{side}_user_id"], "display_name": row[f"{side}_display_name"],
                        "avatar_url": row[f"{side}_avatar_url"]}
    view["comparison"] = comparison(row)
    return view


def challenge_check(db, caller: str, challenge_id: str, *, status: str | tuple[str, ...],
                    side: str = "to_user_id", also=None):
    """The API's early answer for a command on the challenge (`check_access`, then `also`);
    the worker checks the same again under a row lock."""

    def precheck():
        state = db.read_as(Q.challenge_state_as, caller, id=challenge_id)
        row = state if state and state["status"] else None
        withdrawn = state if state and state["withdrawn_at"] else None
        with rules_as_problems():
            check_access(row, withdrawn, caller, status=status, side=side)
            if also:
                also(row)

    return precheck


def new_challenge_ids(count: int = 1) -> dict:
    return {"challenge_ids": [str(uuid.uuid4()) for _ in range(count)]}


class ChallengeCreate:
    openapi = {"post": Op("createChallenge", "Challenge friends, or BEAT THIS", body=ChallengeCreate,
                          result=ChallengesCreated, ids=("challenge_ids",), creates=True, errors=(403, 404),
                          body_example={"to_user_ids": ["0b6f1e5c-4b8e-4d3a-9a55-0c7c2f3b9d11"],
                                        "workout_log_id": "5d2a9c4e-1f3b-4e8a-8c6d-7b9e0a1c2d3f",
                                        "message": "Beat this! 💪"},
                          description="Challenge 1 to 20 friends to beat one of your logged "
                                      "workouts (`to_user_ids`, `workout_log_id`), or BEAT THIS: "
                                      "take on a friend's workout post (`activity_id`); that "
                                      "challenge starts accepted.")}

    def __init__(self, db, dispatcher):
        self.db, self.dispatcher = db, dispatcher

    def on_post(self, req, resp):
        body = load_body(req, CREATE)
        if "activity_id" in body:
            self._beat_this(req, resp, body)
        else:
            self._direct(req, resp, body)

    def _direct(self, req, resp, body):
        caller = req.context.caller.id

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

        self.dispatcher.submit(req, resp, actor="challenges.create", payload=body,
                               ids=new_challenge_ids(len(body["to_user_ids"])),
                               precheck=precheck, creates=True)

    def _beat_this(self, req, resp, body):
        caller = req.context.caller.id

        def precheck():
            with self.db.reading(caller) as conn:
                post = Q.get_post(conn, id=body["activity_id"], user_id=caller)
            if post is None:
                raise not_found("No such post in your feed.")
            if str(post["user_id"]) == caller:
                raise Problem(422, "self_challenge", "You cannot challenge your own workout.",
                              errors={"activity_id": ["Must be a friend's post."]})
            if post["activity_type"] != "workout_completed" or post["workout_log_id"] is None:
                raise Problem(422, "not_a_workout", "Only workout posts can be beaten.",
                              errors={"activity_id": ["Must be a workout_completed post."]})
            if not post["by_friend"]:
                raise Problem(403, "not_friends", "You can only take on your friends' workouts.")
            if post["taken"]:
                raise Problem(409, "already_challenged",
                              "You already took on this workout; retry that challenge instead.")

        payload = {"activity_id": body["activity_id"], "message": body["message"]}
        self.dispatcher.submit(req, resp, actor="challenges.beat_this", payload=payload,
                               ids=new_challenge_ids(), precheck=precheck, creates=True)


class ChallengeCommand:
    """`POST /challenges/<verb>/{id}`: one command by one side of the challenge, allowed from
    the given statuses."""

    def __init__(self, db, dispatcher, *, verb: str, op: Op, status, also=None):
        self.db, self.dispatcher = db, dispatcher
        self.actor, self.status, self.creates = f"challenges.{verb}", status, op.creates
        self.also = also
        self.schema, self.body_optional = op.body and op.body(), op.body_optional
        self.openapi = {"post": op}

    def on_post(self, req, resp, challenge_id):
        caller, challenge_id = req.context.caller.id, str(challenge_id)
        payload = {"challenge_id": challenge_id}
        if self.schema:
            payload.update(load_body(req, self.schema, optional=self.body_optional))
        self.dispatcher.submit(req, resp, actor=self.actor, payload=payload,
                               ids=new_challenge_ids() if self.creates else None,
                               precheck=challenge_check(self.db, caller, challenge_id,
                                                        status=self.status, also=self.also),
                               creates=self.creates)


def command_routes(db, dispatcher) -> list[tuple[str, ChallengeCommand]]:
    commands = [
        dict(verb="accept", status="pending", op=Op(
            "acceptChallenge", "Accept a challenge", result=ChallengeStatusChange, errors=(403,),
            description="A pending challenge sent to you.")),
        dict(verb="decline", status="pending", op=Op(
            "declineChallenge", "Decline a challenge", result=ChallengeStatusChange, errors=(403,),
            description="A pending challenge sent to you.")),
        dict(verb="complete", status="accepted", op=Op(
            "completeChallenge", "Report your attempt", body=ChallengeComplete,
            result=ChallengeCompleted, errors=(403,),
            body_example={"duration_minutes": 28, "total_volume": 12500, "volume_unit": "lb"},
            description="Your attempt at an accepted challenge: you beat it with a time no longer "
                        "and a volume no smaller than the target. The result is posted to your "
                        "feed and the challenger is told.")),
        dict(verb="abandon", status="accepted", op=Op(
            "abandonChallenge", "Quit a challenge", body=ChallengeAbandon,
            result=ChallengeAbandoned, errors=(403,),
            body_example={"quit_reason": "Too hard for me 😓",
                          "partial_stats": {"duration_minutes": 20, "total_volume": 4000}},
            description="An accepted challenge, with a reason the challenger will see.")),
        dict(verb="retry", status=("completed", "abandoned"),
             also=check_latest_round, op=Op(
                 "retryChallenge", "Rematch", body=ChallengeRetry, body_optional=True,
                 result=ChallengeRetried, ids=("challenge_ids",), creates=True, errors=(403,),
                 body_example={"message": "Round 2! 💪"},
                 description="A new accepted challenge against the same target, linked to this "
                             "round (the latest of its chain). The body is optional.")),
    ]
    return [(f"/challenges/{spec['verb']}/{{challenge_id:uuid}}", ChallengeCommand(db, dispatcher, **spec))
            for spec in commands]


class ChallengeItem:
    openapi = {"get": Op("getChallenge", "A challenge", response=ChallengeDetail,
                         description="One you take part in; when it is pending or accepted and "
                                     "you are the one challenged, with `encouragement` from your "
                                     "results on similar workouts; with the crowd's `difficulty` "
                                     "once enough athletes stand behind it."),
               "delete": Op("withdrawChallenge", "Withdraw a challenge", result=ChallengeStatusChange,
                            errors=(403,), description="A pending challenge you sent.")}

    def __init__(self, db, dispatcher, event_log, crowd_min_athletes):
        self.db, self.dispatcher, self.event_log = db, dispatcher, event_log
        self.crowd_min_athletes = crowd_min_athletes

    def on_get(self, req, resp, challenge_id):
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            row = Q.get_challenge(conn, id=str(challenge_id))
            crowd = row and Q.crowd_of_workout(conn, workout_name=row["workout_name"])
        if row is None:
            raise not_found("No such challenge.")
        resp.media = {**challenge_view(row, caller), "encouragement": self.encouragement(row, caller),
                      "difficulty": difficulty(crowd["workout"], crowd["kind"], self.crowd_min_athletes)}

    def encouragement(self, row: dict, caller: str) -> dict | None:
        """None when there is nothing to encourage, or while the event log is unavailable (the
        challenge itself is still served)."""
        if str(row["to_user_id"]) != caller or row["status"] not in ("pending", "accepted"):
            return None
        try:
            return encouragement_for(self.event_log, caller, row["workout_name"])
        except EventLogUnavailable as error:
            log.warning("no encouragement for challenge %s: %s", row["id"], error)
            return None

    def on_delete(self, req, resp, challenge_id):
        caller, challenge_id = req.context.caller.id, str(challenge_id)
        self.dispatcher.submit(req, resp, actor="challenges.delete",
                               payload={"challenge_id": challenge_id},
                               precheck=challenge_check(self.db, caller, challenge_id,
                                                        status="pending", side="from_user_id"))


CHALLENGES = Listing("challenges/list", ordering="created_at")


class ChallengeList:
    openapi = {"get": Op("listChallenges", "Your challenge history",
                         query=ChallengeListQuery, response=ChallengePage,
                         description="Newest first: the five tabs of the history screen "
                                     "(`filter`), sent, received or both (`direction`). `won` and "
                                     "`lost` are from your side.")}

    def __init__(self, db, cursors):
        self.db, self.cursors = db, cursors

    def on_get(self, req, resp):
        query = load_query(req, LIST_QUERY)
        cursor_at, cursor_id = self.cursors.decode(CHALLENGES, query["cursor"])
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            rows = list(Q.list_challenges(conn, user_id=caller, direction=query["direction"],
                                          filter=query["filter"], cursor_at=cursor_at,
                                          cursor_id=cursor_id, limit=query["limit"]))
        result = self.cursors.page(CHALLENGES, rows, query["limit"])
        result["items"] = [challenge_view(row, caller) for row in rows]
        resp.media = result


class ChallengeChain:
    openapi = {"get": Op("getRetryChain", "A challenge's retry chain", response=RetryChain,
                         description="The whole chain the challenge belongs to, original first.")}

    def __init__(self, db):
        self.db = db

    def on_get(self, req, resp, challenge_id):
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            rows = list(Q.retry_chain(conn, id=str(challenge_id)))
        if not rows:
            raise not_found("No such challenge.")
        resp.media = {"root_challenge_id": rows[0]["id"],
                      "items": [challenge_view(row, caller) for row in rows]}


class ChallengeStatsResource:
    openapi = {"get": Op("getChallengeStats", "Your challenge stats",
                         response=ChallengeStats,
                         description="Your numbers for the profile screen: results as the "
                                     "challenged and as the challenger, retries and quitting.")}

    def __init__(self, db):
        self.db = db

    def on_get(self, req, resp):
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            stats = Q.challenge_stats(conn, user_id=caller)
            retry = Q.retry_stats(conn, user_id=caller)
            abandonment = Q.abandonment_stats(conn, user_id=caller)
        resp.media = {**stats, "retry": retry, "abandonment": abandonment}


class QuitReasonsResource:
    openapi = {"get": Op("listQuitReasons", "The quit dialog's choices",
                         description="The quick replies of the quit dialog, in order, and the "
                                     "custom entry.",
                         response=QuitReasons, offline=True)}
    items = [{"label": reason, "text": reason, "custom": False} for reason in QUIT_REASONS] + [
        {"label": "Custom reason...", "text": None, "custom": True, "max_length": MAX_QUIT_REASON}]

    def on_get(self, req, resp):
        resp.media = {"items": self.items}
