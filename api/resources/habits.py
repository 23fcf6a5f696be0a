import uuid

from api.openapi import Op
from api.schemas.habits import HabitLog, HabitLogged
from api.validation import load_body

HABIT_LOG = HabitLog()


class Habits:
    openapi = {"post": Op("logHabit", "Log a habit", body=HabitLog, result=HabitLogged,
                          ids=("habit_log_id",), creates=True,
                          body_example={"habit_name": "water", "value": 8},
                          description="`value` of it (default 1); it earns points and counts "
                                      "towards your habit challenges.")}

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher

    def on_post(self, req, resp):
        habit = load_body(req, HABIT_LOG)
        self.dispatcher.submit(req, resp, actor="habits.log", payload=habit,
                               ids={"habit_log_id": str(uuid.uuid4())}, creates=True)
