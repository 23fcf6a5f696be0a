import uuid

from api.db import Q
from api.openapi import Op
from api.schemas.common import Page
from api.schemas.workouts import WorkoutLog, WorkoutLogged, WorkoutPage
from api.validation import Listing, load_body, load_query

WORKOUT_LOG, PAGE = WorkoutLog(), Page()


WORKOUTS = Listing("workouts", ordering="performed_at")


class Workouts:
    openapi = {
        "post": Op("logWorkout", "Log a workout", body=WorkoutLog, result=WorkoutLogged,
                   ids=("workout_log_id", "activity_id"), creates=True,
                   body_example={"workout_name": "Beast Mode Legs", "duration_minutes": 35,
                                 "total_volume": 10000, "volume_unit": "lb"},
                   description="It is posted to your friends' feed as workout_completed, earns "
                               "points (times your streak multiplier) and counts towards the "
                               "community challenges you joined."),
        "get": Op("listWorkouts", "Your workout logs", query=Page, response=WorkoutPage,
                  description="Newest first (by performed_at)."),
    }

    def __init__(self, db, dispatcher, cursors):
        self.db, self.dispatcher, self.cursors = db, dispatcher, cursors

    def on_post(self, req, resp):
        workout = load_body(req, WORKOUT_LOG)
        ids = {"workout_log_id": str(uuid.uuid4()), "activity_id": str(uuid.uuid4())}
        self.dispatcher.submit(req, resp, actor="workouts.log", payload=workout, ids=ids, creates=True)

    def on_get(self, req, resp):
        query = load_query(req, PAGE)
        cursor_at, cursor_id = self.cursors.decode(WORKOUTS, query["cursor"])
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            rows = list(Q.list_workouts(conn, user_id=caller, cursor_at=cursor_at,
                                        cursor_id=cursor_id, limit=query["limit"]))
        resp.media = self.cursors.page(WORKOUTS, rows, query["limit"])
