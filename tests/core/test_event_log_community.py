"""Community events in the ChromaDB event log: joining, each milestone and the completion go
through the outbox like every other event and become one sentence each, found by the athlete's
own search and by nobody else's."""

from tests.core.test_event_log import event_log, wait_until_indexed


def community_documents(log, challenge_id: str) -> list[tuple[str, dict]]:
    """(sentence, metadata) of everything logged for the community challenge, oldest first."""
    got = log.collection.get(where={"community_challenge_id": challenge_id}, include=["documents", "metadatas"])
    return sorted(zip(got["documents"], got["metadatas"]), key=lambda doc: doc[1]["created_at"])


def test_joining_milestones_and_completion_are_logged_once_each(api, conn):
    # Given Dan in a coach's challenge of 2 workouts worth 120 points
    coach, dan = api.sign_up("Coach Kim"), api.sign_up("Dan")
    challenge_id = api.create_community(coach, name="Double Up", target_value=2, points_reward=120)
    api.join(dan, challenge_id)

    # When he logs two workouts and the worker has indexed what they did
    api.log_workout(dan)
    api.log_workout(dan)
    wait_until_indexed(conn)

    # Then the log holds one sentence per event, in order, with the athlete and the milestone
    logged = community_documents(event_log(), challenge_id)
    assert [document for document, _ in logged] == [
        "Dan joined the community challenge 'Double Up' (2 workouts in 30 days)",
        "Dan reached 25% of 'Double Up' (1 of 2 workouts)",
        "Dan reached 50% of 'Double Up' (1 of 2 workouts)",
        "Dan reached 75% of 'Double Up' (2 of 2 workouts)",
        "Dan reached 100% of 'Double Up' (2 of 2 workouts)",
        "Dan completed the community challenge 'Double Up' (2 of 2 workouts) and earned 120 points",
    ]
    assert [(meta["event_type"], meta["milestone"], meta["user_id"]) for _, meta in logged] == [
        ("community_joined", 0, dan), ("community_milestone", 25, dan), ("community_milestone", 50, dan),
        ("community_milestone", 75, dan), ("community_milestone", 100, dan), ("community_completed", 100, dan)]


def test_an_athlete_finds_their_community_events_and_others_do_not(api, conn):
    # Given Dan completed a challenge and Eve, who took part in nothing, is also a user
    coach, dan, eve = api.sign_up("Coach Kim"), api.sign_up("Dan"), api.sign_up("Eve")
    challenge_id = api.create_community(coach, name="Hydration Hero", challenge_type="habit",
                                        habit_name="water", target_value=1, unit="glasses")
    api.join(dan, challenge_id)
    api.log_habit(dan, habit_name="water")
    wait_until_indexed(conn)

    # When each searches for a completed hydration challenge
    dans = api.get("/insights/search?q=completed+Hydration+Hero", dan)
    eves = api.get("/insights/search?q=completed+Hydration+Hero", eve)

    # Then Dan's best match is his completion, named by its community challenge; Eve finds nothing
    assert dans.status_code == 200, dans.text
    best = dans.json["items"][0]
    assert (best["event_type"], best["community_challenge_id"], best["challenge_id"]) == (
        "community_completed", challenge_id, None)
    assert best["text"] == ("Dan completed the community challenge 'Hydration Hero' (1 of 1 glasses) "
                            "and earned 100 points")
    assert eves.status_code == 200 and eves.json["items"] == []
