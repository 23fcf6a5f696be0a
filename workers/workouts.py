"""Workout logs, each announced in the feed as a `workout_completed` post for friends."""

from psycopg.types.json import Jsonb

from sql import queries
from workers.broker import command

Q = queries("workers")


def log_workout(conn, *, user_id: str, workout_log_id: str, activity_id: str, workout_name: str,
                duration_minutes: float, total_volume: float, volume_unit: str = "lb",
                notes: str | None = None, performed_at: str | None = None) -> dict:
    Q.insert_workout_log(conn, id=workout_log_id, user_id=user_id, workout_name=workout_name,
                         duration_minutes=duration_minutes, total_volume=total_volume,
                         volume_unit=volume_unit, notes=notes, performed_at=performed_at)
    Q.insert_activity(conn, id=activity_id, user_id=user_id, activity_type="workout_completed",
                      workout_log_id=workout_log_id, visibility="friends",
                      activity_data=Jsonb({"workout_log_id": workout_log_id,
                                           "workout_name": workout_name,
                                           "duration_minutes": duration_minutes,
                                           "total_volume": total_volume,
                                           "volume_unit": volume_unit}))
    return {"workout_log_id": workout_log_id, "activity_id": activity_id}


log = command("workouts.log", log_workout)
