"""The demo data `challenges dev` starts with: every state of the history screen, seeded once."""

from core.embeddings import MiniLMEmbedding
from core.event_log import EventLog, index_pending
from jobs.demo import demo_id, seed_demo
from tests.conftest import SETTINGS
from tests.core.rules.factories import published


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
    assert sorted(first.values()) == ["abandoned", "abandoned", "accepted", "accepted", "completed",
                                      "completed", "pending", "pending"]
    # And Carol's lost challenge has its round 2, Alice took on Carol's push day (BEAT THIS)
    rematch = conn.execute("SELECT retried_from_challenge_id::text, challenge_message FROM workout_challenges"
                           " WHERE id = %s", (demo_id("legs-carol-round-2"),)).fetchone()
    assert rematch == {"retried_from_challenge_id": demo_id(f"legs-to-{users['Carol']}"),
                       "challenge_message": "Round 2! 💪"}
    # And the leaderboard already ranks them
    board = conn.execute("SELECT user_id::text, wins FROM leaderboard_counters WHERE season = 'all' AND wins > 0").fetchall()
    assert board == [{"user_id": users["Bob"], "wins": 1}]


def test_the_demo_gives_dan_insights_and_encouragement(api, conn):
    # Given the demo, its events indexed as the worker does
    users = seed_demo(SETTINGS)
    published(conn)
    index_pending(conn, EventLog(SETTINGS.chroma_url, SETTINGS.chroma_collection, MiniLMEmbedding),
                  batch_size=100)

    # When Dan, who quit Beast Mode Legs and Squat Sunday part-way, asks for his insights and
    # opens Carol's pending Leg Day Destroyer
    insights = api.get("/insights", users["Dan"]).json["items"]
    leg_day = api.get(f"/challenges/{demo_id('leg-day-to-dan')}", users["Dan"]).json

    # Then both say what docs/event-log.md and the walk-through show
    assert [i["text"] for i in insights] == [
        "You've quit the last 2 leg challenges at the halfway point.",
        "Friends challenge you to leg workouts most: 3 of the 3 challenges you received."]
    assert leg_day["encouragement"]["text"] == ("You've quit the last 2 leg challenges at the halfway "
                                                "point. Let's push through this one together!")


def test_the_demo_has_community_challenges_with_progress_seeded_once(api, conn):
    # Given the demo, seeded twice
    users = seed_demo(SETTINGS)
    seed_demo(SETTINGS)

    # When Bob, Alice and Dan look at their community challenges
    mine = {name: {p["name"]: p for p in api.get("/community-challenges/mine", users[name]).json["items"]}
            for name in ("Alice", "Bob", "Dan")}

    # Then Bob leads the workouts challenge at half-way, Alice finished the Weekend Warrior,
    # Dan is on his way with water
    bob = mine["Bob"]["8 Workouts in 30 Days"]
    assert (bob["total"], bob["percentage"], bob["rank"], bob["participants"]) == (4, 50, 1, 3)
    weekend = mine["Alice"]["Weekend Warrior"]
    assert (weekend["status"], weekend["total"], weekend["unit"]) == ("completed", 130, "minutes")
    water = mine["Dan"]["Hydration Habit"]
    assert (water["total"], water["unit"], water["percentage"]) == (8, "glasses", 13.3)
    # And the coach's four challenges are open, and the ledger paid each award once
    assert len(api.get("/community-challenges", users["Coach Kim"]).json["items"]) == 4
    completions = conn.execute("SELECT count(*) AS n FROM points_ledger WHERE action = 'challenge_completed'")
    assert completions.fetchone()["n"] == 1
