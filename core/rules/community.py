"""Community challenges: coaches create them, athletes join them, and every workout or habit
log feeds the participations it matches, in the log's own transaction.

What the gamification seed got wrong cannot happen here: the total is kept on the participation
and grows by each log once (one progress entry per log), a milestone is announced when it is
crossed and never again (the participation remembers the last one announced), the completion
reward is a ledger row tied to the participation, and joining counts under the challenge's row
lock, with a constraint behind it.
"""

from psycopg.types.json import Jsonb

from core.rules.community_rules import check_joinable, crossed_milestones, percentage, unit_for
from core.rules.points import BASE_POINTS, award
from sql import queries

Q = queries("core")


def create_community_challenge(conn, *, user_id: str, community_challenge_id: str, name: str,
                               challenge_type: str, target_value: float, duration_days: int,
                               description: str = "", habit_name: str | None = None,
                               unit: str | None = None, starts_at: str | None = None,
                               points_reward: int = 100, max_participants: int | None = None) -> dict:
    """A new challenge made by a coach (the API checks the role)."""
    challenge = Q.insert_community_challenge(
        conn, id=community_challenge_id, user_id=user_id, name=name, description=description,
        challenge_type=challenge_type, habit_name=habit_name, target_value=target_value,
        unit=unit_for(challenge_type, habit_name, unit), duration_days=duration_days,
        starts_at=starts_at, points_reward=points_reward, max_participants=max_participants)
    return {"community_challenge": challenge}


def join_community_challenge(conn, *, user_id: str, community_challenge_id: str) -> dict:
    challenge = Q.lock_community_challenge(conn, id=community_challenge_id)
    joined = challenge is not None and Q.has_joined(conn, challenge_id=community_challenge_id, user_id=user_id)
    check_joinable(challenge, joined)
    participation = Q.insert_participant(conn, challenge_id=community_challenge_id, user_id=user_id)
    record_event(conn, "community_joined", user_id, challenge_id=community_challenge_id,
                 name=challenge["name"], challenge_type=challenge["challenge_type"],
                 target=challenge["target_value"], unit=challenge["unit"],
                 duration_days=challenge["duration_days"])
    return {"community_challenge_id": community_challenge_id, "participant_id": participation["id"],
            "joined_at": participation["joined_at"], "participant_count": participation["participant_count"]}


def record_event(conn, event_type: str, user_id: str, *, challenge_id: str, name: str, **details) -> None:
    """An outbox event for the event log (and the events stream)."""
    Q.insert_event(conn, event_type=event_type, actor_id=user_id, subject_id=challenge_id,
                   payload=Jsonb({"community_challenge_id": str(challenge_id), "challenge_name": name,
                                  "user_id": user_id, **details}))


def notify(conn, user_id: str, participation: dict, notification_type: str, **details) -> None:
    Q.insert_community_notification(
        conn, user_id=user_id, community_challenge_id=participation["challenge_id"],
        notification_type=notification_type,
        data=Jsonb({"challenge_name": participation["name"], "target": participation["target_value"],
                    "unit": participation["unit"], **details}))


def reach_milestone(conn, user_id: str, participation: dict, milestone: int, total: float) -> None:
    """Announce `milestone` and pay for it; at 100 % the participation is completed and the
    challenge's reward paid, once (both awards are tied to the participation)."""
    Q.record_milestone(conn, participant_id=participation["id"], milestone=milestone)
    challenge_id = str(participation["challenge_id"])
    points = award(conn, user_id=user_id, action="challenge_milestone", source_id=participation["id"],
                   milestone=milestone, points=BASE_POINTS["challenge_milestone"],
                   community_challenge_id=challenge_id)
    notify(conn, user_id, participation, "community_milestone", milestone=milestone, total=total, points=points)
    event = dict(challenge_id=challenge_id, name=participation["name"],
                 challenge_type=participation["challenge_type"], target=participation["target_value"],
                 unit=participation["unit"], total=total, milestone=milestone)
    record_event(conn, "community_milestone", user_id, **event)
    if milestone == 100:
        reward = award(conn, user_id=user_id, action="challenge_completed", source_id=participation["id"],
                       points=participation["points_reward"], community_challenge_id=challenge_id)
        notify(conn, user_id, participation, "community_completed", milestone=milestone, total=total,
               points=reward)
        record_event(conn, "community_completed", user_id, points=reward, **event)


def record_activity(conn, *, user_id: str, source_type: str, source_id: str, logged_at,
                    amounts: dict[str, float], habit_name: str | None = None) -> list[dict]:
    """Feed a log to every active participation it matches (`amounts`: what the log adds to
    each kind of challenge, in the units the log was stored in). What each participation now
    stands at, and the milestones crossed."""
    fed = []
    for participation in Q.participations_fed_by(conn, user_id=user_id, challenge_types=list(amounts),
                                                 habit_name=habit_name, logged_at=logged_at):
        progress = Q.add_progress(
            conn, participant_id=participation["id"], challenge_id=participation["challenge_id"],
            user_id=user_id, source_type=source_type, source_id=source_id,
            value=amounts[participation["challenge_type"]], logged_at=logged_at)
        if progress is None:
            continue
        total, target = progress["total"], participation["target_value"]
        milestones = crossed_milestones(progress["milestone"], total, target)
        for milestone in milestones:
            reach_milestone(conn, user_id, participation, milestone, total)
        fed.append({"community_challenge_id": participation["challenge_id"], "added": progress["added"],
                    "total": total, "target": target, "percentage": percentage(total, target),
                    "milestones": milestones})
    return fed
