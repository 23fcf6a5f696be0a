"""Workout logs: each is announced in the feed as a `workout_completed` post for friends, earns
its points and feeds the community challenges it counts towards, all in one transaction."""

from psycopg.types.json import Jsonb

from core.rules.community import record_activity
from core.rules.community_rules import workout_amounts
from core.rules.points import award_activity
from sql import queries

Q = queries("core")


def log_workout(conn, *, user_id: str, workout_log_id: str, activity_id: str, workout_name: str,
                duration_minutes: float, total_volume: float, volume_unit: str = "lb",
                notes: str | None = None, performed_at: str | None = None) -> dict:
    logged = Q.insert_workout_log(conn, id=workout_log_id, user_id=user_id, workout_name=workout_name,
                                  duration_minutes=duration_minutes, total_volume=total_volume,
                                  volume_unit=volume_unit, notes=notes, performed_at=performed_at)
    Q.insert_activity(conn, id=activity_id, user_id=user_id, activity_type="workout_completed",
                      workout_log_id=workout_log_id, visibility="friends",
                      activity_data=Jsonb({"workout_log_id": workout_log_id,
                                           "workout_name": workout_name,
                                           "duration_minutes": duration_minutes,
                                           "total_volume": total_volume,
                                           "volume_unit": volume_unit}))
    points = award_activity(conn, user_id=user_id, action="workout_completed", source_id=workout_log_id,
                            at=logged["performed_at"])
    community = record_activity(conn, user_id=user_id, source_type="workout", source_id=workout_log_id,
                                logged_at=logged["performed_at"],
                                amounts=workout_amounts(logged["duration_minutes"], logged["total_volume_kg"]))
    return {"workout_log_id": workout_log_id, "activity_id": activity_id, "points": points,
            "community": community}
