"""The demo data `challenges dev` starts with: every state of the history screen, seeded once."""

from jobs.demo import demo_id, seed_demo
from tests.conftest import SETTINGS


def statuses(conn) -> dict[str, str]:
    rows = conn.execute("SELECT id::text, status FROM workout_challenges").fetchall()
    conn.rollback()
    return {row["id"]: row["status"] for row in rows}


def test_the_demo_shows_every_state_and_seeding_twice_changes_nothing(conn):
    # Given an empty database
    # When the demo is seeded twice
    users = seed_demo(SETTINGS)
    first = statuses(conn)
    seed_demo(SETTINGS)

    # Then the challenges are the same, in every state the history screen has
    assert statuses(conn) == first
    assert sorted(first.values()) == ["abandoned", "accepted", "accepted", "completed", "completed",
                                      "pending"]
    # And Carol's lost challenge has its round 2, Alice took on Carol's push day (BEAT THIS)
    rematch = conn.execute("SELECT retried_from_challenge_id::text, challenge_message FROM workout_challenges"
                           " WHERE id = %s", (demo_id("legs-carol-round-2"),)).fetchone()
    assert rematch == {"retried_from_challenge_id": demo_id(f"legs-to-{users['Carol']}"),
                       "challenge_message": "Round 2! 💪"}
    # And the leaderboard already ranks them
    board = conn.execute("SELECT user_id::text, wins FROM challenge_leaderboard WHERE wins > 0").fetchall()
    assert board == [{"user_id": users["Bob"], "wins": 1}]
