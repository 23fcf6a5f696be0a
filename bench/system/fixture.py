"""The system benchmark's fixture: the users and challenges the API and the worker act on,
written in seconds with the workers' own rules instead of thousands of jobs, and the request
bytes built from them."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from bench.harness.loadgen import build_request

API = "/api/v1"
COMPLETE_BODY = json.dumps({"duration_minutes": 28, "total_volume": 12500}).encode()
CHALLENGERS = 64


@dataclass
class Fixture:
    pending: list[tuple[str, str]]   # (recipient's token, challenge id) for accept
    accepted: list[tuple[str, str]]  # (recipient's token, challenge id) for complete


def seed(database_url: str, pending: int, accepted: int) -> Fixture:
    """CHALLENGERS challengers and one friend per challenge, made with the workers' own rules in
    one transaction: the rows the API would have produced, in seconds instead of thousands of
    jobs. One recipient per challenge keeps every accept a different caller, as in real traffic;
    consecutive challenges have different challengers, so the jobs the worker runs side by side
    settle games of different athletes (a settlement locks both athletes' ratings: with one
    challenger for all, every job would wait for the one before)."""
    import psycopg
    from psycopg.rows import dict_row

    from core.db import configure_connection
    from core.rules.challenges import MAX_RECIPIENTS, accept_challenge, create_challenges
    from core.rules.friends import accept_friendship, request_friendship
    from core.rules.users import update_profile
    from core.rules.workouts import log_workout
    from core.settings import Settings
    from jobs.tokens import issue_token

    challengers = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(CHALLENGERS)]  # (user, workout)
    recipients = [str(uuid.uuid4()) for _ in range(pending + accepted)]
    challenge_of = {}
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        configure_connection(conn)
        with conn.transaction():
            for number, (challenger, workout) in enumerate(challengers):
                update_profile(conn, user_id=challenger, display_name=f"Bench Challenger {number}")
                log_workout(conn, user_id=challenger, workout_log_id=workout, activity_id=str(uuid.uuid4()),
                            workout_name="Beast Mode Legs", duration_minutes=35, total_volume=10000)
            for number, recipient in enumerate(recipients):
                challenger, _ = challengers[number % CHALLENGERS]
                update_profile(conn, user_id=recipient, display_name=f"Athlete {number}")
                request_friendship(conn, user_id=challenger, friend_id=recipient)
                accept_friendship(conn, user_id=recipient, requester_id=challenger)
            for number, (challenger, workout) in enumerate(challengers):
                theirs = recipients[number::CHALLENGERS]
                for start in range(0, len(theirs), MAX_RECIPIENTS):
                    group = theirs[start:start + MAX_RECIPIENTS]
                    ids = [str(uuid.uuid4()) for _ in group]
                    create_challenges(conn, user_id=challenger, challenge_ids=ids, to_user_ids=group,
                                      workout_log_id=workout)
                    challenge_of.update(zip(group, ids))
            for recipient in recipients[pending:]:
                accept_challenge(conn, user_id=recipient, challenge_id=challenge_of[recipient])
    settings = Settings.from_env()
    pairs = [(issue_token(settings, user), challenge_of[user]) for user in recipients]
    return Fixture(pending=pairs[:pending], accepted=pairs[pending:])


def settle_events(database_url: str) -> int:
    """Mark every event so far published and indexed: the fixture's own events stand for history
    already in the event log. Left as they are, the scheduler's sweep would hand them to the
    indexer, a thousand every 30 s, in the middle of a measurement, and the outbox's partial
    indexes (unpublished, unindexed) would hold thousands of rows they never hold in service."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        settled = conn.execute("UPDATE events SET published_at = COALESCE(published_at, now()), "
                               "indexed_at = COALESCE(indexed_at, now()) "
                               "WHERE published_at IS NULL OR indexed_at IS NULL").rowcount
        conn.execute("VACUUM ANALYZE events")
    return settled


def accept_requests(port: int, pairs: list[tuple[str, str]]) -> list[bytes]:
    """No `Prefer` header: the API answers 202 as soon as the job is enqueued."""
    return [build_request("POST", f"{API}/challenges/accept/{challenge}", port,
                          {"Authorization": f"Bearer {token}"}) for token, challenge in pairs]


def complete_requests(port: int, pairs: list[tuple[str, str]]) -> list[bytes]:
    return [build_request("POST", f"{API}/challenges/complete/{challenge}", port,
                          {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                          COMPLETE_BODY) for token, challenge in pairs]


def challenge_in(request: bytes) -> str:
    """The challenge id at the end of a request's path."""
    return request.split(b" ", 2)[1].rsplit(b"/", 1)[1].decode()
