"""The leaderboard kept live (sql/migrations/0010): results count at once in every season they
belong to, a week or month keeps what happened in it across its boundary, a closed season keeps
its final board and tells its podium once, the scheduler's reconciliation repairs what drifted,
and two results at once or a redelivered job leave counters and ratings exactly right (real
workers)."""

import datetime as dt
import uuid

import pytest

from api.errors import Problem
from api.resources.leaderboard import requested_season
from core.rules import ratings
from core.rules.seasons import is_final, season_of
from jobs import leaderboards
from tests.api.support import new_id, poll_job, job_path, wait_for_lock_waiters
from tests.api.test_stats_and_leaderboard import LOSS, WIN, accept, board, play, send

UTC = dt.timezone.utc


def days_ago(conn, challenge_id: str, days: int) -> None:
    """The challenge as if it had been sent and settled `days` earlier (its trigger moves its
    counts to the seasons of those times)."""
    conn.execute("UPDATE workout_challenges SET created_at = created_at - make_interval(days => %(d)s),"
                 " completed_at = completed_at - make_interval(days => %(d)s),"
                 " abandoned_at = abandoned_at - make_interval(days => %(d)s) WHERE id = %(id)s",
                 {"d": days, "id": challenge_id})
    conn.commit()


def wins(answer: dict) -> dict[str, int]:
    return {r["user"]["display_name"]: r["wins"] for r in answer["items"] if r["wins"]}


def podiums(api, user: str) -> list[dict]:
    return [n["data"] for n in api.notifications(user) if n["notification_type"] == "leaderboard_podium"]


def profile_rating(api, user: str) -> dict:
    response = api.get(f"/users/{user}", user)
    assert response.status_code == 200, response.text
    return response.json["rating"]


@pytest.fixture
def last_week(api, conn, cast):
    """Last week Sarah won twice and Mike once (each against John); this week Sarah won once."""
    api.befriend(cast.john, cast.mike)
    old = [play(api, cast.john, cast.sarah, cast.workout, "win"),
           play(api, cast.john, cast.sarah, cast.workout, "win"),
           play(api, cast.john, cast.mike, cast.workout, "win")]
    for challenge_id in old:
        days_ago(conn, challenge_id, 7)
    play(api, cast.john, cast.sarah, cast.workout, "win")
    return season_of("week", dt.datetime.now(UTC) - dt.timedelta(days=7))


def test_a_week_keeps_what_happened_in_it_across_its_boundary(api, cast, last_week):
    # Given Sarah's two wins last week and one this week, Mike's one last week
    now = dt.datetime.now(UTC)
    same_month = season_of("month", now - dt.timedelta(days=7)) == season_of("month", now)

    # When Sarah reads this week's, last week's, this month's and the all-time boards
    this_week = board(api, cast.sarah, period="week")
    before = board(api, cast.sarah, season=last_week)
    month = board(api, cast.sarah, period="month")
    all_time = board(api, cast.sarah)

    # Then each counts what happened in it, with no scheduler run (last week, which has ended, is
    # final even before the scheduler closes it)
    assert wins(this_week) == {"Sarah": 1}
    assert (before["season"], before["period"], before["final"]) == (last_week, "week", is_final(last_week, now))
    assert this_week["final"] is False
    assert wins(before) == {"Sarah": 2, "Mike": 1}
    assert wins(month) == ({"Sarah": 3, "Mike": 1} if same_month else {"Sarah": 1})
    assert wins(all_time) == {"Sarah": 3, "Mike": 1}
    # and John, who sent every challenge, has them on the board of the week he sent them in
    sent = {r["user"]["display_name"]: r["challenges_sent"] for r in before["items"]}
    assert sent["John"] == 3


def test_a_closed_season_keeps_its_final_board_and_tells_its_podium_once(api, conn, scheduler_conn,
                                                                          cast, last_week):
    # Given last week's results, and a challenge John sent then that is still pending
    [pending] = send(api, cast.john, [cast.mike], cast.workout)
    days_ago(conn, pending, 7)
    final_before = board(api, cast.sarah, season=last_week)

    # When the scheduler closes the ended seasons, twice
    closed = leaderboards.close_ended_seasons(scheduler_conn)
    again = leaderboards.close_ended_seasons(scheduler_conn)

    # Then last week closed the first time only
    assert last_week in closed and again == []
    # and Sarah (first of everyone and among her friends) and Mike (first among himself and John,
    # second of everyone) were told once; John, without a win, was not
    told = {user: podiums(api, user) for user in (cast.john, cast.sarah, cast.mike)}
    assert [p for p in told[cast.sarah] if p["season"] == last_week] == [
        {"season": last_week, "period": "week", "wins": 2, "friends_rank": 1, "global_rank": 1}]
    assert [p for p in told[cast.mike] if p["season"] == last_week] == [
        {"season": last_week, "period": "week", "wins": 1, "friends_rank": 1, "global_rank": 2}]
    assert told[cast.john] == []
    # (a month that ended with last week tells its own podium, once as well)
    assert all(len(mine) == len({p["season"] for p in mine}) for mine in told.values())

    # When John withdraws the challenge he sent last week
    assert api.delete(f"/challenges/{pending}", cast.john).status_code == 200

    # Then the closed week's board is final and unchanged (it counted the challenge as sent)
    final = board(api, cast.sarah, season=last_week)
    assert final["final"] is True
    assert final == {**final_before, "final": True}
    assert {r["user"]["display_name"]: r["challenges_sent"] for r in final["items"]}["John"] == 4


def test_reconciliation_repairs_counters_and_ratings_that_drifted(api, conn, scheduler_conn, cast, last_week):
    # Given the boards and ratings as the results made them
    boards = {period: board(api, cast.sarah, period=period) for period in ("all", "week", "month")}
    by_rating = {user: board(api, user, order="rating") for user in (cast.john, cast.sarah, cast.mike)}
    ratings = {user: profile_rating(api, user) for user in (cast.john, cast.sarah, cast.mike)}

    # When they are corrupted: wins added, a row lost, an orphan row, a rating moved, one lost,
    # athletes added to a level of a season's board and one taken from a level of the rating board
    conn.execute("UPDATE leaderboard_counters SET wins = wins + 5 WHERE user_id = %s AND season = 'all'",
                 (cast.sarah,))
    conn.execute("DELETE FROM leaderboard_counters WHERE user_id = %s AND season = %s",
                 (cast.john, boards["week"]["season"]))
    # (the orphan's id lies among the real ones, so the reconciliation's batch of users spans it)
    orphan = uuid.UUID(int=uuid.UUID(min(cast.john, cast.sarah, cast.mike)).int + 1)
    conn.execute("INSERT INTO leaderboard_counters (season, user_id, wins) VALUES ('all', %s, 9)", (orphan,))
    conn.execute("UPDATE athlete_ratings SET mu = mu + 10 WHERE user_id = %s", (cast.sarah,))
    conn.execute("DELETE FROM athlete_ratings WHERE user_id = %s", (cast.mike,))
    conn.execute("UPDATE leaderboard_levels SET athletes = athletes + 4 WHERE (season, level, shard) ="
                 " (SELECT season, level, shard FROM leaderboard_levels WHERE season = 'all' LIMIT 1)")
    conn.execute("UPDATE leaderboard_levels SET athletes = athletes - 1 WHERE (season, level, shard) ="
                 " (SELECT season, level, shard FROM leaderboard_levels WHERE season = 'rating' LIMIT 1)")
    conn.commit()
    assert board(api, cast.sarah)["me"]["wins"] == 8

    # And the scheduler reconciles, twice
    repaired = leaderboards.reconcile_leaderboards(scheduler_conn)
    again = leaderboards.reconcile_leaderboards(scheduler_conn)

    # Then it repaired exactly what was broken, and the second run found nothing
    assert repaired == {"counters": 3, "levels": 2, "ratings": 2}
    assert again == {"counters": 0, "levels": 0, "ratings": 0}
    # and every board and rating is as the results made them
    assert {period: board(api, cast.sarah, period=period) for period in boards} == boards
    assert {user: profile_rating(api, user) for user in ratings} == ratings
    assert {user: board(api, user, order="rating") for user in by_rating} == by_rating


def test_a_rating_moved_after_the_replay_is_left_for_the_next_run(api, conn, scheduler_conn, cast):
    # Given Sarah's rating after one game won against John, then moved by 10 points of mu
    play(api, cast.john, cast.sarah, cast.workout, "win")
    conn.execute("UPDATE athlete_ratings SET mu = mu + 10 WHERE user_id = %s", (cast.sarah,))
    conn.commit()

    # When the reconciliation replays every rating, and she wins again before it repairs hers
    replayed, stored = leaderboards.replay_ratings(scheduler_conn)
    play(api, cast.john, cast.sarah, cast.workout, "win")
    repaired = leaderboards.repair_drifted_ratings(scheduler_conn, replayed, stored)

    # Then it leaves her rating as the second game made it (the replay no longer knew it)
    assert repaired == 0
    assert profile_rating(api, cast.sarah)["mu"] > 35
    # and the next run repairs it, and John's, which that game moved from hers, to what their two
    # games make
    assert leaderboards.reconcile_ratings(scheduler_conn) == 2
    john, sarah = (ratings.MODEL.mu, ratings.MODEL.sigma), (ratings.MODEL.mu, ratings.MODEL.sigma)
    for _ in range(2):
        john, sarah = ((r.mu, r.sigma) for r in ratings.play(john, sarah, challenged_won=True))
    assert profile_rating(api, cast.sarah) == ratings.rating_view(*sarah, rated_challenges=2)
    assert profile_rating(api, cast.john) == ratings.rating_view(*john, rated_challenges=2)


@pytest.fixture
def two_accepted(api, cast):
    """Sarah has accepted a challenge from John and one from Mike, and has sent one herself (so
    she has a row on the board to hold)."""
    api.befriend(cast.mike, cast.sarah)
    mikes = api.log_workout(cast.mike, minutes=30, volume=10000, unit="lb")
    send(api, cast.sarah, [cast.john], api.log_workout(cast.sarah))
    [from_john] = send(api, cast.john, [cast.sarah], cast.workout)
    [from_mike] = send(api, cast.mike, [cast.sarah], mikes)
    for challenge_id in (from_john, from_mike):
        accept(api, cast.sarah, challenge_id)
    return from_john, from_mike


def test_two_results_for_one_athlete_at_once_both_count_exactly(api, conn, scheduler_conn, database, cast,
                                                               two_accepted):
    # Given Sarah's row on the all-time board held, so that both workers wait for it
    conn.execute("SELECT 1 FROM leaderboard_counters WHERE season = 'all' AND user_id = %s FOR UPDATE",
                 (cast.sarah,))

    # When she completes both challenges at the same moment (one won, one lost)
    jobs = []
    for challenge_id, attempt in zip(two_accepted, (WIN, LOSS)):
        response = api.call("POST", f"/challenges/complete/{challenge_id}", cast.sarah, attempt, wait=0)
        assert response.status_code == 202, response.text
        jobs.append(job_path(response))
    wait_for_lock_waiters(database, 2)
    conn.rollback()
    finished = [poll_job(api, cast.sarah, job, timeout=20) for job in jobs]

    # Then both succeeded, and her board row has one win and one loss, her rating two games
    assert [job["status"] for job in finished] == ["succeeded", "succeeded"], finished
    mine = board(api, cast.sarah)["me"]
    assert (mine["wins"], mine["losses"], mine["challenges_sent"], mine["win_rate"]) == (1, 1, 1, 0.5)
    assert profile_rating(api, cast.sarah)["rated_challenges"] == 2
    # and each rating change follows the other in the order they were applied: replaying them
    # in that order gives exactly what is stored
    assert leaderboards.reconcile_leaderboards(scheduler_conn) == {"counters": 0, "levels": 0, "ratings": 0}
    changes = sorted((job["result"]["rating_change"]["challenged"] for job in finished),
                     key=lambda change: change["before"] != 0)
    assert changes[1]["before"] == changes[0]["after"]


def test_a_redelivered_complete_counts_once(api, conn, scheduler_conn, cast, accepted):
    from workers.broker import broker
    from core.commands import build_message

    # Given Sarah's complete job for the accepted challenge
    job_id = new_id()
    message = build_message("challenges.complete", job_id, {
        "user_id": cast.sarah, "challenge_id": accepted, **WIN})

    # When the broker delivers it twice at once, and once more after it was done
    broker.enqueue(message)
    broker.enqueue(message)
    broker.join("commands", timeout=15_000)
    broker.enqueue(message)
    broker.join("commands", timeout=15_000)

    # Then one win, one rated game, one rating change on the challenge
    mine = board(api, cast.sarah)["me"]
    assert (mine["wins"], mine["losses"]) == (1, 0)
    rating = profile_rating(api, cast.sarah)
    assert rating["rated_challenges"] == 1
    challenge = api.get(f"/challenges/{accepted}", cast.sarah).json
    assert challenge["rating_change"]["challenged"]["after"] == rating["value"]
    assert leaderboards.reconcile_leaderboards(scheduler_conn) == {"counters": 0, "levels": 0, "ratings": 0}


def test_a_settled_challenge_moves_both_ratings_once_and_says_by_how_much(api, cast, accepted):
    # Given Sarah and John, both at the starting rating (value 0, mu 25, sigma 25/3)
    assert profile_rating(api, cast.sarah) == {"value": 0.0, "mu": 25.0, "sigma": 8.3333, "rated_challenges": 0}

    # When Sarah beats John's challenge
    response = api.post(f"/challenges/complete/{accepted}", cast.sarah, WIN)

    # Then the result says what it did to both ratings: she gained what he lost in mu, both
    # became surer (openskill's two-player update from the start)
    assert response.status_code == 200, response.text
    change = response.json["result"]["rating_change"]
    assert change["challenged"] == {"user_id": cast.sarah, "before": 0.0, "after": 3.4377, "change": 3.4377,
                                    "mu": 27.6354, "sigma": 8.0659}
    assert change["challenger"] == {"user_id": cast.john, "before": 0.0, "after": -1.8331, "change": -1.8331,
                                    "mu": 22.3646, "sigma": 8.0659}
    # and the profiles and the challenge show the same
    assert profile_rating(api, cast.sarah) == {"value": 3.4377, "mu": 27.6354, "sigma": 8.0659,
                                               "rated_challenges": 1}
    me = api.get("/me", cast.john)
    assert me.json["rating"]["value"] == -1.8331
    assert api.get(f"/challenges/{accepted}", cast.john).json["rating_change"] == change


def test_quitting_is_a_lost_game(api, cast, accepted):
    # When Sarah quits John's challenge
    response = api.post(f"/challenges/abandon/{accepted}", cast.sarah, {"quit_reason": "Too hard for me 😓"})

    # Then she lost a game to him
    assert response.status_code == 200, response.text
    change = response.json["result"]["rating_change"]
    assert (change["challenged"]["after"], change["challenger"]["after"]) == (-1.8331, 3.4377)


def test_the_board_by_rating_ranks_all_time_skill(api, cast):
    # Given Sarah beat John twice, and Mike (who has played nobody) is her friend
    api.befriend(cast.sarah, cast.mike)
    for _ in range(2):
        play(api, cast.john, cast.sarah, cast.workout, "win")

    # When Sarah reads the global and the friends boards by rating
    global_board = board(api, cast.sarah, order="rating")
    friends = board(api, cast.sarah, scope="friends", order="rating")

    # Then globally the rated athletes are listed, highest first; Mike, unrated, is not
    assert [r["user"]["display_name"] for r in global_board["items"]] == ["Sarah", "John"]
    assert global_board["items"][0]["rating"] > 0 > global_board["items"][1]["rating"]
    assert (global_board["order"], global_board["me"]["rank"], global_board["me"]["wins"]) == ("rating", 1, 2)
    # and among her friends Mike ranks at the starting value, between her and John
    assert [(r["user"]["display_name"], r["rank"], r["rating"]) for r in friends["items"]][1] == ("Mike", 2, 0.0)
    assert [r["user"]["display_name"] for r in friends["items"]] == ["Sarah", "Mike", "John"]


def test_athletes_without_a_win_rank_by_their_quits(api, cast):
    # Given John's challenges: Sarah won one, Eve lost one, Mike quit one and Ann quit two
    ann, eve = api.sign_up("Ann"), api.sign_up("Eve")
    for friend in (cast.mike, ann, eve):
        api.befriend(cast.john, friend)
    play(api, cast.john, cast.sarah, cast.workout, "win")
    play(api, cast.john, eve, cast.workout, "loss")
    play(api, cast.john, cast.mike, cast.workout, "quit", "Too hard")
    for _ in range(2):
        play(api, cast.john, ann, cast.workout, "quit", "Too hard")
    users = {"Sarah": cast.sarah, "John": cast.john, "Eve": eve, "Mike": cast.mike, "Ann": ann}

    # When each reads their rank on the global board
    ranks = {name: board(api, user)["me"]["rank"] for name, user in users.items()}

    # Then the win comes first, then no win and no quit (John, who only sent, ties with Eve), then
    # one quit, then two
    assert ranks == {"Sarah": 1, "John": 2, "Eve": 2, "Mike": 4, "Ann": 5}


def rated(conn, values: dict[str, float]) -> None:
    """Each athlete given a rating of that value (sigma 1), as if their games had made it."""
    for user, value in values.items():
        conn.execute("INSERT INTO athlete_ratings (user_id, mu, sigma, rated_challenges) VALUES (%s, %s, 1, 1)"
                     " ON CONFLICT (user_id) DO UPDATE SET mu = excluded.mu", (user, value + 3))
    conn.commit()


def test_a_rank_by_rating_counts_everyone_rated_higher_on_every_level(api, conn, cast):
    # Given ratings on three levels of an eighth of a point: 1.2 alone on its level, 1.05 and 1.0
    # sharing one, -0.5 far below, and Eve with no rating (the starting value, 0)
    ann, eve = api.sign_up("Ann"), api.sign_up("Eve")
    rated(conn, {cast.john: 1.2, cast.sarah: 1.05, cast.mike: 1.0, ann: -0.5})
    users = {"John": cast.john, "Sarah": cast.sarah, "Mike": cast.mike, "Ann": ann, "Eve": eve}

    # When each reads their rank on the global board by rating
    ranks = {name: board(api, user, order="rating")["me"]["rank"] for name, user in users.items()}

    # Then each is one more than the athletes rated higher, within a level and across levels
    # (Eve, not rated, is where the starting value would place her, and ahead of nobody)
    assert ranks == {"John": 1, "Sarah": 2, "Mike": 3, "Eve": 4, "Ann": 4}

    # And when Mike's rating rises past John's, onto a higher level, and Ann's ties Sarah's
    rated(conn, {cast.mike: 1.4, ann: 1.05})
    ranks = {name: board(api, user, order="rating")["me"]["rank"] for name, user in users.items()}

    # Then the ranks follow at once, ties sharing a rank
    assert ranks == {"Mike": 1, "John": 2, "Sarah": 3, "Ann": 3, "Eve": 5}


@pytest.mark.parametrize("query", ["order=rating&period=week", "order=rating&season=2026-W48",
                                   "order=skill"])
def test_an_order_out_of_its_rules_is_refused_naming_it(api, cast, query):
    from tests.api.support import assert_problem, auth

    response = api.client.simulate_get("/api/v1/challenges/leaderboard", query_string=query,
                                       headers=auth(cast.sarah))
    assert_problem(response, 422, "validation_error", "order")


MONDAY = dt.datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def test_a_request_reads_the_current_season_of_its_period_unless_it_names_one():
    # Given Monday 30 November 2026, just after midnight
    # Then no period is all time, a period is its current season, and a named past season is kept
    assert requested_season({}, MONDAY) == "all"
    assert requested_season({"period": "week"}, MONDAY) == "2026-W49"
    assert requested_season({"period": "month"}, MONDAY) == "2026-11"
    assert requested_season({"season": "2026-W48"}, MONDAY) == "2026-W48"
    # and a season that has not begun is refused, naming `season`
    with pytest.raises(Problem) as refused:
        requested_season({"season": "2026-12"}, MONDAY)
    assert refused.value.status_code == 422 and "season" in refused.value.errors
