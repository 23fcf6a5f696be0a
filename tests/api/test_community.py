"""Community challenges through the API and the real worker: the gamification seed's bugs
(progress summed per call, milestones announced on every log, the completion bonus paid again,
count-then-insert joins) cannot happen here."""

import pytest

from tests.api.support import assert_problem, snapshot


@pytest.fixture
def coach(api):
    return api.sign_up("Coach Kim")


def community_notifications(api, user: str) -> list[dict]:
    """The user's community notifications, oldest first."""
    return [n for n in reversed(api.notifications(user)) if n["notification_type"].startswith("community_")]


def my_participation(api, user: str, challenge_id: str) -> dict:
    response = api.get("/community-challenges/mine", user)
    assert response.status_code == 200, response.text
    return next(p for p in response.json["items"] if p["community_challenge_id"] == challenge_id)


def ledger(api, user: str) -> list[dict]:
    response = api.get("/points?limit=100", user)
    assert response.status_code == 200, response.text
    return response.json["items"]


def test_a_coach_creates_a_challenge_that_athletes_see_open(api, coach):
    # Given a coach's challenge of 20 workouts in 30 days
    challenge_id = api.create_community(coach)
    athlete = api.sign_up("Dan")

    # When an athlete lists the open challenges
    response = api.get("/community-challenges", athlete)

    # Then it is there with no participants yet, 30 days left, not joined, counted in workouts
    assert response.status_code == 200, response.text
    [listed] = response.json["items"]
    assert listed["id"] == challenge_id
    assert (listed["participant_count"], listed["days_left"], listed["joined"]) == (0, 30, False)
    assert (listed["target_value"], listed["unit"], listed["points_reward"]) == (20, "workouts", 100)


def test_an_athlete_cannot_create_a_community_challenge(api, conn, redis_client):
    # Given an athlete whose token has no coach role
    athlete = api.sign_up("Dan")
    before = snapshot(conn, redis_client)

    # When they try to create a challenge
    response = api.post("/community-challenges", athlete, {
        "name": "Mine", "challenge_type": "workouts", "target_value": 5, "duration_days": 7})

    # Then it is forbidden and nothing changed
    assert_problem(response, 403, "forbidden")
    assert snapshot(conn, redis_client) == before


def test_joining_twice_is_refused_and_the_join_is_counted_once(api, coach):
    # Given Dan joined a challenge
    challenge_id = api.create_community(coach)
    dan = api.sign_up("Dan")
    api.join(dan, challenge_id)

    # When he joins again
    again = api.post(f"/community-challenges/{challenge_id}/join", dan)

    # Then he is told he is already in, and the challenge counts him once
    assert_problem(again, 409, "already_joined")
    [listed] = api.get("/community-challenges", dan).json["items"]
    assert (listed["participant_count"], listed["joined"]) == (1, True)


def test_progress_adds_up_across_many_logs(api, coach):
    # Given Dan in a challenge of 10 workouts
    challenge_id = api.create_community(coach, target_value=10)
    dan = api.sign_up("Dan")
    api.join(dan, challenge_id)

    # When he logs 6 workouts, one call each
    for _ in range(6):
        api.log_workout(dan)

    # Then the total is all six (the seed summed only the log of one call), 60 %
    mine = my_participation(api, dan, challenge_id)
    assert (mine["total"], mine["target"], mine["percentage"], mine["status"]) == (6, 10, 60, "active")


def test_each_milestone_is_announced_once_and_completion_paid_once(api, coach):
    # Given Dan in a challenge of 4 workouts worth 150 points
    challenge_id = api.create_community(coach, target_value=4, points_reward=150)
    dan = api.sign_up("Dan")
    api.join(dan, challenge_id)

    # When he logs 7 workouts: 25 % per workout, then three more past the target
    for _ in range(7):
        api.log_workout(dan)

    # Then 25, 50, 75 and 100 % were each announced once, in order, then completion once
    announced = [(n["notification_type"], n["data"]["milestone"]) for n in community_notifications(api, dan)]
    assert announced == [("community_milestone", 25), ("community_milestone", 50),
                         ("community_milestone", 75), ("community_milestone", 100),
                         ("community_completed", 100)]
    # And the ledger pays four milestones of 20 and the reward of 150 once
    awards = [entry for entry in ledger(api, dan) if entry["action"].startswith("challenge_")]
    assert sorted((a["action"], a["milestone"], a["points"]) for a in awards) == [
        ("challenge_completed", None, 150), ("challenge_milestone", 25, 20), ("challenge_milestone", 50, 20),
        ("challenge_milestone", 75, 20), ("challenge_milestone", 100, 20)]
    # And the participation is completed at 4; the workouts after it no longer count
    mine = my_participation(api, dan, challenge_id)
    assert (mine["total"], mine["percentage"], mine["status"], mine["milestone"]) == (4, 100, "completed", 100)


def test_one_log_past_several_milestones_announces_each_in_order(api, coach):
    # Given Dan in a challenge of 1,000 kg
    challenge_id = api.create_community(coach, name="Tonne Club", challenge_type="volume", target_value=1000)
    dan = api.sign_up("Dan")
    api.join(dan, challenge_id)

    # When one workout lifts 800 kg
    api.log_workout(dan, volume=800, unit="kg")

    # Then 25, 50 and 75 % are announced, once each, in that order; 100 % is not
    milestones = [n["data"]["milestone"] for n in community_notifications(api, dan)]
    assert milestones == [25, 50, 75]
    mine = my_participation(api, dan, challenge_id)
    assert (mine["total"], mine["percentage"], mine["unit"]) == (800, 80, "kg")


def test_ranks_go_by_total_and_ties_to_whoever_got_there_first(api, coach):
    # Given three athletes in one challenge: Ann reaches 2 first, Cat reaches 2 after her, Ben has 1
    challenge_id = api.create_community(coach, target_value=10)
    ann, ben, cat = api.sign_up("Ann"), api.sign_up("Ben"), api.sign_up("Cat")
    for athlete in (ann, ben, cat):
        api.join(athlete, challenge_id)
    for athlete in (ann, ann, ben, cat, cat):
        api.log_workout(athlete)

    # When each looks at their participation, and Ben at the top two of the leaderboard
    ranks = {name: my_participation(api, user, challenge_id) for name, user in
             (("Ann", ann), ("Ben", ben), ("Cat", cat))}
    board = api.get(f"/community-challenges/{challenge_id}/leaderboard?limit=2", ben)

    # Then Ann is 1st, Cat 2nd, Ben 3rd of 3
    assert {name: (p["rank"], p["participants"]) for name, p in ranks.items()} == {
        "Ann": (1, 3), "Cat": (2, 3), "Ben": (3, 3)}
    assert board.status_code == 200, board.text
    assert [row["user"]["display_name"] for row in board.json["items"]] == ["Ann", "Cat"]
    assert (board.json["me"]["rank"], board.json["me"]["total"], board.json["me"]["is_you"]) == (3, 1, True)
