"""Habit logs ("8 glasses of water"): each earns its points and feeds the habit challenges it
counts towards, in one transaction."""

from core.rules.community import record_activity
from core.rules.points import award_activity
from sql import queries

Q = queries("core")


def log_habit(conn, *, user_id: str, habit_log_id: str, habit_name: str, value: float = 1,
              logged_at: str | None = None) -> dict:
    logged = Q.insert_habit_log(conn, id=habit_log_id, user_id=user_id, habit_name=habit_name,
                                value=value, logged_at=logged_at)
    points = award_activity(conn, user_id=user_id, action="habit_logged", source_id=habit_log_id,
                            at=logged["logged_at"])
    community = record_activity(conn, user_id=user_id, source_type="habit", source_id=habit_log_id,
                                logged_at=logged["logged_at"], amounts={"habit": logged["value"]},
                                habit_name=habit_name)
    return {"habit_log_id": habit_log_id, "points": points, "community": community}
