"""The profile numbers (GET /challenges/stats) and the leaderboard (GET /challenges/leaderboard),
built from a known season of challenges played through the API, checked number by number from
every side."""

import datetime as dt
from types import SimpleNamespace

import pytest

from core.rules.seasons import season_of
from jobs import maintenance
from tests.api.support import assert_problem, auth

# Attempts against any target below: WIN is faster and heavier, LOSS is far too slow.
WIN = {"duration_minutes": 15, "total_volume": 5000, "volume_unit": "kg"}
LOSS = {"duration_minutes": 45, "total_volume": 5000, "volume_unit": "kg"}
LEGS, ARMS = "Beast Mode Legs", "Upper Body Blast"
PAULA_AVATAR = "https://img.example.com/paula.png"
TOO_HARD, GIVE_UP, NEXT_TIME = "Too hard for me 😓", "I give up 🏳️", "Maybe next time 😅"


# Playing challenges through the API ----------------------------------------------------------

def send(api, sender, recipients, workout) -> list[str]:
    return api.challenge(sender, recipients, workout)


def accept(api, user, challenge_id) -> None:
    response = api.post(f"/challenges/accept/{challenge_id}", user)
    assert response.status_code == 200, response.text


def complete(api, user, challenge_id, attempt) -> None:
    response = api.post(f"/challenges/complete/{challenge_id}", user, attempt)
    assert response.status_code == 200, response.text
    assert response.json["result"]["did_beat"] is (attempt is WIN), response.json


def abandon(api, user, challenge_id, reason) -> None:
    response = api.post(f"/challenges/abandon/{challenge_id}", user, {"quit_reason": reason})
    assert response.status_code == 200, response.text


def decline(api, user, challenge_id) -> None:
    response = api.post(f"/challenges/decline/{challenge_id}", user)
    assert response.status_code == 200, response.text


def play(api, sender, recipient, workout, outcome, reason=None) -> str:
    """A challenge from `sender`, accepted by `recipient` and then won, lost or quit."""
    [challenge_id] = send(api, sender, [recipient], workout)
    accept(api, recipient, challenge_id)
    finish(api, recipient, challenge_id, outcome, reason)
    return challenge_id


def finish(api, user, challenge_id, outcome, reason=None) -> None:
    if outcome == "quit":
        abandon(api, user, challenge_id, reason)
    else:
        complete(api, user, challenge_id, WIN if outcome == "win" else LOSS)


def expire(conn, challenge_id) -> None:
    """Let a pending challenge run out, as the scheduler's expiry job does."""
    conn.rollback()
    conn.execute("UPDATE workout_challenges SET expires_at = now() - interval '1 minute' WHERE id = %s",
                 (challenge_id,))
    conn.commit()
    assert maintenance.expire_due_challenges(conn) == 1


def stats(api, user) -> dict:
    response = api.get("/challenges/stats", user)
    assert response.status_code == 200, response.text
    return response.json


def board(api, user, **query) -> dict:
    query_string = "&".join(f"{name}={value}" for name, value in query.items())
    response = api.client.simulate_get("/api/v1/challenges/leaderboard", query_string=query_string,
                                       headers=auth(user))
    assert response.status_code == 200, response.text
    return response.json


# GET /challenges/stats -----------------------------------------------------------------------

@pytest.fixture
def season(api, conn):
    """A known season between John, Sarah and Mike (all friends with John).

    John challenges Sarah with two workouts (Legs: 30 min / 10000 lb, Arms: 20 min / 2000 kg):
      originals  a won, b lost, c lost, k lost, d quit (too hard), e quit (too hard),
                 f quit (give up), g pending, h declined, i expired
      retries    b -> b1 won;  d -> d1 lost -> d2 won;  c -> c1 accepted;  e -> e1 quit (next time)
    Sarah challenges John twice: he wins s1 and loses s2. John challenges Mike, who quits m1.
    """
    john, sarah, mike = api.sign_up("John"), api.sign_up("Sarah"), api.sign_up("Mike")
    api.befriend(john, sarah)
    api.befriend(john, mike)
    legs = api.log_workout(john, minutes=30, volume=10000, unit="lb", name=LEGS)
    arms = api.log_workout(john, minutes=20, volume=2000, unit="kg", name=ARMS)

    play(api, john, sarah, legs, "win")                       # a
    b = play(api, john, sarah, legs, "loss")
    c = play(api, john, sarah, arms, "loss")
    play(api, john, sarah, arms, "loss")                      # k
    d = play(api, john, sarah, legs, "quit", TOO_HARD)
    e = play(api, john, sarah, arms, "quit", TOO_HARD)
    play(api, john, sarah, legs, "quit", GIVE_UP)             # f
    send(api, john, [sarah], legs)                            # g, left pending
    [h] = send(api, john, [sarah], arms)
    decline(api, sarah, h)
    [i] = send(api, john, [sarah], legs)
    expire(conn, i)

    finish(api, sarah, api.retry(sarah, b), "win")           # b1
    d1 = api.retry(sarah, d)
    finish(api, sarah, d1, "loss")
    finish(api, sarah, api.retry(sarah, d1), "win")          # d2
    api.retry(sarah, c)                                      # c1, accepted and not played yet
    finish(api, sarah, api.retry(sarah, e), "quit", NEXT_TIME)  # e1

    sarahs = api.log_workout(sarah, minutes=40, volume=8000, unit="lb", name="Sarah's Circuit")
    play(api, sarah, john, sarahs, "win")                     # s1
    play(api, sarah, john, sarahs, "loss")                    # s2
    play(api, john, mike, legs, "quit", GIVE_UP)              # m1
    return SimpleNamespace(john=john, sarah=sarah, mike=mike)


def test_the_challenged_athletes_numbers_count_every_kind_of_result_exactly(api, season):
    # Given Sarah's season (see `season`): 3 won, 4 lost, 4 quit, 2 in progress, 1 declined,
    # 1 expired as the challenged; 1 beaten and 1 defended as the challenger

    # When she opens her profile
    numbers = stats(api, season.sarah)

    # Then every number is exact: declined and expired count nowhere, retries count as rounds
    assert numbers == {
        "won": 3, "lost": 4, "quit": 4, "in_progress": 2,
        "win_rate": 0.2727,                 # 3 / (3 + 4 + 4)
        "beaten": 1, "defended": 1,
        "retry": {
            "total_retries": 5,             # b1, d1, d2, c1, e1
            "retries_won": 2,               # b1, d2
            "retry_win_rate": 0.4,
            "most_retried_workout": LEGS,   # b1, d1, d2 against 2 of Arms
            "avg_retries_to_win": 1.5,      # chain b won at depth 1, chain d at depth 2
        },
        "abandonment": {
            "total_abandoned": 4,
            "most_common_quit_reason": TOO_HARD,
            "abandonment_rate": 0.3636,     # 4 / (7 completed + 4 abandoned)
        },
    }


def test_the_challengers_numbers_count_what_the_opponents_did(api, season):
    # Given the same season from John's side: Sarah beat 3 of his challenges, lost 4 and quit
    # 4, Mike quit 1; as the challenged, John won one of Sarah's and lost one

    # When John opens his profile
    numbers = stats(api, season.john)

    # Then he was beaten 3 times and defended 4 (lost; the 5 quits are quits, not defences;
    # never declined or expired)
    assert numbers == {
        "won": 1, "lost": 1, "quit": 0, "in_progress": 0, "win_rate": 0.5,
        "beaten": 3, "defended": 4,
        "retry": {"total_retries": 0, "retries_won": 0, "retry_win_rate": None,
                  "most_retried_workout": None, "avg_retries_to_win": None},
        "abandonment": {"total_abandoned": 0, "most_common_quit_reason": None,
                        "abandonment_rate": 0.0},
    }


def test_someone_who_only_quit_has_no_wins_and_a_full_abandonment_rate(api, season):
    # Given Mike, who quit the only challenge he ever got
    # When he opens his profile
    numbers = stats(api, season.mike)

    # Then one quit, a win rate of 0 and an abandonment rate of 1
    assert numbers == {
        "won": 0, "lost": 0, "quit": 1, "in_progress": 0, "win_rate": 0.0,
        "beaten": 0, "defended": 0,
        "retry": {"total_retries": 0, "retries_won": 0, "retry_win_rate": None,
                  "most_retried_workout": None, "avg_retries_to_win": None},
        "abandonment": {"total_abandoned": 1, "most_common_quit_reason": GIVE_UP,
                        "abandonment_rate": 1.0},
    }


def test_a_newcomer_has_all_zeros_and_no_rates(api):
    # Given Lisa, who just signed up
    lisa = api.sign_up("Lisa")

    # When she opens her profile
    numbers = stats(api, lisa)

    # Then zeros everywhere, a win rate of 0.0 and no rates that would divide by zero
    assert numbers == {
        "won": 0, "lost": 0, "quit": 0, "in_progress": 0, "win_rate": 0.0,
        "beaten": 0, "defended": 0,
        "retry": {"total_retries": 0, "retries_won": 0, "retry_win_rate": None,
                  "most_retried_workout": None, "avg_retries_to_win": None},
        "abandonment": {"total_abandoned": 0, "most_common_quit_reason": None,
                        "abandonment_rate": None},
    }


def test_only_declined_and_expired_challenges_count_nowhere(api, conn):
    # Given John's two challenges to Sarah: one she declined, one that expired
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    api.befriend(john, sarah)
    workout = api.log_workout(john)
    declined, expired = send(api, john, [sarah], workout), send(api, john, [sarah], workout)
    decline(api, sarah, declined[0])
    expire(conn, expired[0])

    # When both open their profiles
    hers, his = stats(api, sarah), stats(api, john)

    # Then neither challenge is a win, a loss, a quit, in progress, beaten or defended
    counts = ("won", "lost", "quit", "in_progress", "beaten", "defended")
    assert {name: hers[name] for name in counts} == dict.fromkeys(counts, 0)
    assert {name: his[name] for name in counts} == dict.fromkeys(counts, 0)
    assert hers["win_rate"] == 0.0 and hers["abandonment"]["abandonment_rate"] is None


# GET /challenges/leaderboard -----------------------------------------------------------------

@pytest.fixture
def league(api, conn):
    """Hank challenges everyone; the board is, by wins, win rate, fewer quits:

        1 Paula  2 won 0 lost 0 quit  (1.0)
        2 Quinn  2 won 1 lost 0 quit  (0.6667)
        3 Rosa   1 won                (1.0)      } tie
        3 Sam    1 won                (1.0)      }
        5 Tina   1 won 1 lost         (0.5)   the win is a retry of the loss
        6 Uma    1 won 0 lost 1 quit  (0.5)   same wins and rate as Tina, one more quit
        7 Hank   no results, 10 challenges sent (Tina's retry is not one he sent)
    """
    names = ("Hank", "Paula", "Quinn", "Rosa", "Sam", "Tina", "Uma")
    cast = SimpleNamespace(**{name.lower(): api.sign_up(name) for name in names})
    players = [cast.paula, cast.quinn, cast.rosa, cast.sam, cast.tina, cast.uma]
    assert api.put("/me", cast.paula, {"avatar_url": PAULA_AVATAR}).status_code == 200
    for player in players:
        api.befriend(cast.hank, player)
    workout = api.log_workout(cast.hank, minutes=30, volume=10000, unit="lb")

    first = dict(zip(players, send(api, cast.hank, players, workout)))
    second = dict(zip([cast.paula, cast.quinn, cast.uma],
                      send(api, cast.hank, [cast.paula, cast.quinn, cast.uma], workout)))
    [third] = send(api, cast.hank, [cast.quinn], workout)
    outcomes = [(first, cast.paula, "win"), (second, cast.paula, "win"),
                (first, cast.quinn, "win"), (second, cast.quinn, "win"),
                (first, cast.rosa, "win"), (first, cast.sam, "win"),
                (first, cast.tina, "loss"), (first, cast.uma, "win"), (second, cast.uma, "quit")]
    for round_, player, outcome in outcomes:
        accept(api, player, round_[player])
        finish(api, player, round_[player], outcome, TOO_HARD)
    accept(api, cast.quinn, third)
    finish(api, cast.quinn, third, "loss")
    finish(api, cast.tina, api.retry(cast.tina, first[cast.tina]), "win")
    cast.ratings = {user: rating_of(api, user) for user in vars(cast).values()}
    return cast


def rating_of(api, user: str) -> float:
    """The rating's value as the user's profile shows it (the board must show the same)."""
    response = api.get(f"/users/{user}", user)
    assert response.status_code == 200, response.text
    return response.json["rating"]["value"]


def row(cast, name, rank, wins=0, losses=0, quits=0, win_rate=0.0, retries=0, retries_won=0,
        sent=0) -> dict:
    user = getattr(cast, name.lower())
    avatar = PAULA_AVATAR if name == "Paula" else None
    return {"rank": rank, "user": {"id": user, "display_name": name, "avatar_url": avatar},
            "wins": wins, "losses": losses, "quits": quits, "win_rate": win_rate,
            "retries": retries, "retries_won": retries_won, "challenges_sent": sent,
            "rating": cast.ratings.get(user, 0.0)}


def league_rows(cast) -> dict[str, dict]:
    rows = [row(cast, "Paula", 1, wins=2, win_rate=1.0),
            row(cast, "Quinn", 2, wins=2, losses=1, win_rate=0.6667),
            row(cast, "Rosa", 3, wins=1, win_rate=1.0),
            row(cast, "Sam", 3, wins=1, win_rate=1.0),
            row(cast, "Tina", 5, wins=1, losses=1, win_rate=0.5, retries=1, retries_won=1),
            row(cast, "Uma", 6, wins=1, quits=1, win_rate=0.5),
            row(cast, "Hank", 7, sent=10)]
    return {r["user"]["display_name"]: r for r in rows}


def in_board_order(rows: list[dict]) -> list[dict]:
    """Rank first; a tie is listed by user id."""
    return sorted(rows, key=lambda r: (r["rank"], r["user"]["id"]))


def test_the_global_board_ranks_by_wins_then_win_rate_then_fewer_quits(api, league):
    # Given the league
    expected = league_rows(league)

    # When Paula reads the global board
    answer = board(api, league.paula, scope="global")

    # Then everyone is there, in order, ties sharing a rank (3, 3, then 5), every number exact
    assert answer["scope"] == "global"
    assert answer["items"] == in_board_order(expected.values())
    assert [r["rank"] for r in answer["items"]] == [1, 2, 3, 3, 5, 6, 7]
    # and `me` is her own row
    assert answer["me"] == expected["Paula"]


def test_the_default_board_is_global(api, league):
    # Given the league
    # When Quinn reads the board without a query string
    response = api.get("/challenges/leaderboard", league.quinn)

    # Then it is the global board
    assert response.status_code == 200, response.text
    assert response.json["scope"] == "global"
    assert [r["rank"] for r in response.json["items"]] == [1, 2, 3, 3, 5, 6, 7]


def test_me_is_there_with_the_right_rank_when_i_am_outside_the_top(api, league):
    # Given Uma, sixth on the board
    expected = league_rows(league)

    # When she reads the top three
    answer = board(api, league.uma, scope="global", limit=3)

    # Then three rows, none of them hers, and `me` is her row at rank 6
    assert answer["items"] == [expected["Paula"], expected["Quinn"],
                               in_board_order([expected["Rosa"], expected["Sam"]])[0]]
    assert answer["me"] == expected["Uma"]


def test_me_is_there_with_zeros_for_someone_without_challenges(api, conn, league):
    # Given Nina, who signed up after the league played and never had a challenge
    nina = api.sign_up("Nina")

    # When she reads the board
    answer = board(api, nina, scope="global", limit=100)

    # Then she is not among the items, and `me` has zeros and ranks after the 6 who have wins
    assert nina not in [r["user"]["id"] for r in answer["items"]]
    assert len(answer["items"]) == 7
    assert answer["me"] == {"rank": 7, "user": {"id": nina, "display_name": "Nina", "avatar_url": None},
                            "wins": 0, "losses": 0, "quits": 0, "win_rate": 0.0, "retries": 0,
                            "retries_won": 0, "challenges_sent": 0, "rating": 0.0}


def test_the_friends_board_ranks_me_and_my_friends_only(api, conn, league):
    # Given Rosa (third globally) befriends Paula and Zoe, who has no challenges; her other
    # friend is Hank
    zoe = api.sign_up("Zoe")
    api.befriend(league.rosa, league.paula)
    api.befriend(league.rosa, zoe)
    league.zoe = zoe
    expected = league_rows(league)

    # When Rosa reads her friends' board
    answer = board(api, league.rosa, scope="friends")

    # Then only she and her friends are ranked, among themselves: Paula 1, Rosa 2, and Hank and
    # Zoe (no wins, no quits) share 3; Zoe is there with zeros; Quinn, Sam, Tina, Uma are not
    assert answer["scope"] == "friends"
    assert answer["items"] == [
        {**expected["Paula"], "rank": 1},
        {**expected["Rosa"], "rank": 2},
        *in_board_order([{**expected["Hank"], "rank": 3}, row(league, "Zoe", 3)]),
    ]
    assert answer["me"] == {**expected["Rosa"], "rank": 2}


def test_the_friends_board_keeps_me_when_i_am_outside_its_top(api, conn, league):
    # Given Rosa, second among herself, Paula and Hank
    api.befriend(league.rosa, league.paula)
    expected = league_rows(league)

    # When she reads only the first row of her friends' board
    answer = board(api, league.rosa, scope="friends", limit=1)

    # Then Paula is the only item and `me` is Rosa at rank 2 of that scope
    assert answer["items"] == [{**expected["Paula"], "rank": 1}]
    assert answer["me"] == {**expected["Rosa"], "rank": 2}


def test_the_friends_board_of_someone_alone_is_just_them(api):
    # Given Lisa, who has neither friends nor challenges
    lisa = api.sign_up("Lisa")

    # When she reads her friends' board
    answer = board(api, lisa, scope="friends")

    # Then she alone, first, with zeros
    mine = {"rank": 1, "user": {"id": lisa, "display_name": "Lisa", "avatar_url": None},
            "wins": 0, "losses": 0, "quits": 0, "win_rate": 0.0, "retries": 0, "retries_won": 0,
            "challenges_sent": 0, "rating": 0.0}
    assert answer["items"] == [mine]
    assert answer["me"] == mine


@pytest.mark.parametrize("period", ["all", "week", "month"])
def test_a_result_is_on_the_board_as_soon_as_its_job_has_succeeded(api, period):
    # Given John and Sarah, and an empty board
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    api.befriend(john, sarah)
    empty = board(api, sarah, period=period)
    assert empty["items"] == []
    assert (empty["me"]["rank"], empty["me"]["wins"]) == (1, 0)

    # When Sarah beats John's challenge (the job has succeeded when `play` returns)
    play(api, john, sarah, api.log_workout(john), "win")

    # Then with no wait and no scheduler run, Sarah leads with her win and John follows with the
    # challenge he sent, on the board of every period, named by its current season
    now = dt.datetime.now(dt.timezone.utc)
    live = board(api, sarah, period=period)
    assert [(r["user"]["display_name"], r["rank"], r["wins"], r["challenges_sent"])
            for r in live["items"]] == [("Sarah", 1, 1, 0), ("John", 2, 0, 1)]
    assert (live["me"]["rank"], live["me"]["wins"], live["me"]["win_rate"]) == (1, 1, 1.0)
    assert (live["period"], live["season"], live["final"]) == (period, season_of(period, now), False)


@pytest.mark.parametrize("query,field", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=-1", "limit"), ("limit=ten", "limit"),
    ("scope=", "scope"), ("scope=Global", "scope"), ("scope=everyone", "scope"),
    ("period=year", "period"), ("period=", "period"), ("season=2026-13", "season"),
    ("season=2026-W54", "season"), ("season=26-W01", "season"), ("season=all", "season"),
    ("season=2026-11&period=week", "season"), ("season=2026-W48&period=all", "season"),
    ("season=2999-01", "season"),
])
def test_a_bad_board_request_is_refused_naming_the_parameter(api, query, field):
    # Given Lisa
    lisa = api.sign_up("Lisa")

    # When she asks for the board with a parameter out of its rules
    response = api.client.simulate_get("/api/v1/challenges/leaderboard", query_string=query,
                                       headers=auth(lisa))

    # Then 422 naming that parameter
    assert_problem(response, 422, "validation_error", field)


@pytest.mark.parametrize("limit", [1, 100])
def test_the_board_size_bounds_are_accepted(api, conn, league, limit):
    # Given the league of seven
    # When Hank asks for the smallest and the largest boards
    answer = board(api, league.hank, limit=limit)

    # Then he gets that many rows at most, and himself at rank 7
    assert len(answer["items"]) == min(limit, 7)
    assert answer["me"]["rank"] == 7 and answer["me"]["challenges_sent"] == 10


def test_the_first_winning_retry_of_a_chain_counts_even_if_later_rounds_win_too(api):
    # Given Sarah lost John's challenge, won the rematch (depth 1) and then won another
    # rematch of that (depth 2)
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    api.befriend(john, sarah)
    original = play(api, john, sarah, api.log_workout(john), "loss")
    first = api.retry(sarah, original)
    finish(api, sarah, first, "win")
    finish(api, sarah, api.retry(sarah, first), "win")

    # When she opens her profile
    numbers = stats(api, sarah)

    # Then two retries, both won, and the chain took 1 retry to win (not 1.5)
    assert numbers["retry"] == {"total_retries": 2, "retries_won": 2, "retry_win_rate": 1.0,
                                "most_retried_workout": LEGS, "avg_retries_to_win": 1.0}
    assert (numbers["won"], numbers["lost"], numbers["win_rate"]) == (2, 1, 0.6667)


def test_the_friends_board_leaves_out_pending_friend_requests(api, conn, league):
    # Given Rosa asked Paula to be friends, and Paula has not answered
    assert api.post("/friends/requests", league.rosa, {"user_id": league.paula}).status_code == 201

    # When Rosa reads her friends' board
    answer = board(api, league.rosa, scope="friends")

    # Then only Hank (a real friend) and Rosa are ranked: Paula is not her friend yet
    assert [(r["user"]["display_name"], r["rank"]) for r in answer["items"]] == [("Rosa", 1), ("Hank", 2)]


def test_the_profile_and_the_board_show_the_same_win_rate(api, conn):
    # Given Sarah won 1 of the 32 challenges John sent her and lost 31: 1/32 = 0.03125,
    # exactly half-way at the fifth decimal
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    api.befriend(john, sarah)
    workout = api.log_workout(john)
    for outcome in ["win"] + ["loss"] * 31:
        play(api, john, sarah, workout, outcome)

    # When she looks at her profile and at the leaderboard
    on_profile = stats(api, sarah)["win_rate"]
    on_board = board(api, sarah)["me"]["win_rate"]

    # Then both show the same rate, rounded to 4 places (half away from zero, as SQL rounds)
    assert on_board == 0.0313
    assert on_profile == on_board
