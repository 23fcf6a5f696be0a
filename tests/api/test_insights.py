"""Insights, search and encouragement over HTTP, read from the session's real ChromaDB server.

Histories are made with the worker's rules on a test connection and put into the event log with
the indexer itself, so each test controls exactly which events exist. Users are new in every
test, and every read is filtered by user, so the shared collection holds nothing of theirs from
another test. The rules' edge cases are in tests/core/test_insight_rules.py."""

import time

import numpy
import pytest

from core.embeddings import MiniLMEmbedding
from core.event_log import RECENT_EVENTS, EventLog, index_pending
from core.rules.challenges import abandon_challenge, complete_challenge, retry_challenge
from tests.api.support import assert_problem
from tests.conftest import SETTINGS
from tests.core.rules.factories import accepted_challenge, friends, new_id, pending_challenge, published, user

WON = dict(duration_minutes=25, total_volume=12000)
LOST = dict(duration_minutes=35, total_volume=9000)
HALFWAY = {"duration_minutes": 15, "total_volume": 5000, "volume_unit": "lb"}


# Helpers -------------------------------------------------------------------------------------

def event_log(recent: int = RECENT_EVENTS) -> EventLog:
    """The session's collection; `recent`: how many events a user's timeline keeps."""
    return EventLog(SETTINGS.chroma_url, SETTINGS.chroma_collection, MiniLMEmbedding, recent=recent)


def index_everything(conn) -> None:
    """What the workers do with every event: publish it, then index it."""
    published(conn)
    index_pending(conn, event_log(), batch_size=100)


def finish(conn, athlete: str, challenge: str, result: str, partial=HALFWAY) -> str:
    """Each step commits, as each command does: events of one transaction share a timestamp."""
    if result == "quit":
        abandon_challenge(conn, user_id=athlete, challenge_id=challenge, quit_reason="Too hard for me 😓",
                          partial_stats=partial)
    else:
        complete_challenge(conn, user_id=athlete, challenge_id=challenge, auto_post_to_feed=False,
                           **(WON if result == "won" else LOST))
    conn.commit()
    return challenge


def played(conn, challenger: str, athlete: str, name: str, result: str, **kwargs) -> str:
    """`challenger` challenged `athlete` to `name` (30 min, 10,000 lb), who accepted and won,
    lost or quit."""
    return finish(conn, athlete, accepted_challenge(conn, challenger, athlete, name=name), result, **kwargs)


def rematch(conn, athlete: str, challenge: str) -> str:
    [new] = retry_challenge(conn, user_id=athlete, challenge_id=challenge, challenge_ids=[new_id()])["challenge_ids"]
    conn.commit()
    return new


def crowd(count: int) -> None:
    """`count` events of strangers straight into the log, as many others' history would be:
    random unit vectors rather than sentences (embedding thousands would take minutes)."""
    vectors = numpy.random.default_rng().standard_normal((count, 384))
    vectors /= numpy.linalg.norm(vectors, axis=1, keepdims=True)
    event_log().collection.upsert(
        ids=[new_id() for _ in range(count)], embeddings=vectors.tolist(),
        documents=["Someone challenged someone else to 'Leg Day Destroyer' (30 min, 10000 lbs)"] * count,
        metadatas=[{"event_type": "challenge_created", "from_user_id": new_id(), "to_user_id": new_id(),
                    "workout_name": "Leg Day Destroyer", "created_at": time.time()} for _ in range(count)])


def found_by_search(api, who: str, q: str, limit: int = 50) -> list[dict]:
    response = api.get(f"/insights/search?q={q}&limit={limit}", who)
    assert response.status_code == 200, response.text
    return response.json["items"]


def insights(api, who: str) -> list[dict]:
    response = api.get("/insights", who)
    assert response.status_code == 200, response.text
    return response.json["items"]


def texts(api, who: str) -> dict[str, list[str]]:
    found = {}
    for item in insights(api, who):
        found.setdefault(item["kind"], []).append(item["text"])
    return found


def challenge(api, who: str, challenge_id: str) -> dict:
    response = api.get(f"/challenges/{challenge_id}", who)
    assert response.status_code == 200, response.text
    return response.json


@pytest.fixture
def people(conn):
    """Sarah, with three friends: John, Lisa and Mike."""
    sarah, john, lisa, mike = (user(conn, name) for name in ("Sarah", "John", "Lisa", "Mike"))
    for friend in (john, lisa, mike):
        friends(conn, friend, sarah)
    conn.commit()
    return sarah, john, lisa, mike


# Kinds of workout by similarity ----------------------------------------------------------------

def test_workouts_named_differently_are_one_kind_by_similarity(conn, people):
    # Given challenges to Sarah for workouts whose names share no word with each other
    sarah, john, _, _ = people
    names = ["Beast Mode Legs", "Leg Day Destroyer", "Squat Sunday", "Arm Destroyer", "Biceps Blast",
             "Sunday Funday"]
    ids = {name: pending_challenge(conn, john, sarah, name=name) for name in names}
    conn.commit()

    # When their events are indexed
    index_everything(conn)

    # Then ChromaDB put each in its kind by its nearest example; a name near none has no kind
    got = event_log().get({"to_user_id": sarah}, documents=False)
    kinds = {row["metadata"]["challenge_id"]: row["metadata"].get("workout_kind") for row in got}
    assert {name: kinds[ids[name]] for name in names} == {
        "Beast Mode Legs": "leg", "Leg Day Destroyer": "leg", "Squat Sunday": "leg",
        "Arm Destroyer": "upper-body", "Biceps Blast": "upper-body", "Sunday Funday": None}


# GET /insights -------------------------------------------------------------------------------

def test_a_history_gives_the_insights_it_supports(api, conn, people):
    # Given Sarah quit her last two leg challenges half-way (differently named workouts), won 4
    # of 5 upper-body ones, and was challenged to leg workouts most
    sarah, john, lisa, mike = people
    played(conn, john, sarah, "Squat Sunday", "won")
    played(conn, john, sarah, "Beast Mode Legs", "quit")
    played(conn, lisa, sarah, "Leg Day Destroyer", "quit")
    for name, result in [("Arm Destroyer", "won"), ("Biceps Blast", "won"), ("Chest Day", "lost"),
                         ("Arm Destroyer", "won"), ("Upper Body Blast", "won")]:
        played(conn, mike, sarah, name, result)
    conn.commit()
    index_everything(conn)

    # When she asks for her insights
    found = texts(api, sarah)

    # Then exactly these, in her own numbers
    assert found == {
        "quit_pattern": ["You've quit the last 2 leg challenges at the halfway point."],
        "win_rate_by_kind": ["80 % win rate on upper-body challenges (4 of 5)"],
        "favourite_kind": ["Friends challenge you to upper-body workouts most: 5 of the 8 "
                           "challenges you received."],
    }
    [quit_pattern] = [i for i in insights(api, sarah) if i["kind"] == "quit_pattern"]
    assert quit_pattern["evidence"]["quits_in_a_row"] == 2
    assert quit_pattern["evidence"]["progress_at_quit"] == [0.5, 0.5]


def test_a_short_history_gives_no_insight(api, conn, people):
    # Given Sarah's one quit leg challenge and one upper-body win
    sarah, john, _, _ = people
    played(conn, john, sarah, "Beast Mode Legs", "quit")
    played(conn, john, sarah, "Arm Destroyer", "won")
    conn.commit()
    index_everything(conn)

    # When she and John (who has no finished challenge of his own) ask
    # Then neither gets an insight: nothing is said on one or two data points
    assert insights(api, sarah) == []
    assert insights(api, john) == []


def test_comeback_wins_and_retries_give_the_retry_pattern_and_persistence(api, conn, people):
    # Given Sarah lost three challenges and won each on her first retry (round 2), and retried
    # Beast Mode Legs three times, the last round still open
    sarah, john, lisa, _ = people
    for name in ("Arm Destroyer", "Cardio Crusher", "Core Killer"):
        finish(conn, sarah, rematch(conn, sarah, played(conn, john, sarah, name, "lost")), "won")
    legs = played(conn, lisa, sarah, "Beast Mode Legs", "lost")
    legs = finish(conn, sarah, rematch(conn, sarah, legs), "lost")
    legs = finish(conn, sarah, rematch(conn, sarah, legs), "quit")
    rematch(conn, sarah, legs)
    conn.commit()
    index_everything(conn)

    # When she asks for her insights
    found = texts(api, sarah)

    # Then she usually wins on her second attempt, and this is her third retry of the legs
    assert found["retry_pattern"] == ["You usually win on your 2nd attempt! 3 of your 3 comeback "
                                      "wins came in round 2."]
    assert found["persistence"] == ["This is your 3rd retry for 'Beast Mode Legs'. Not giving up!"]


def test_friends_retrying_your_workouts_most_gives_tough_benchmarks(api, conn, people):
    # Given Sarah's three friends retried her challenges three times, and John's only once
    sarah, john, lisa, mike = people
    friends(conn, john, lisa)
    for athlete in (john, lisa, mike):
        rematch(conn, athlete, played(conn, sarah, athlete, "Beast Mode Legs", "lost"))
    rematch(conn, sarah, played(conn, john, sarah, "Arm Destroyer", "lost"))
    conn.commit()
    index_everything(conn)

    # When Sarah and John ask
    # Then Sarah sets tough benchmarks; John, retried once, does not
    assert texts(api, sarah)["tough_benchmarks"] == [
        "Friends retry your workouts more than anyone's: you set tough benchmarks! "
        "(3 retries of your challenges)"]
    assert "tough_benchmarks" not in texts(api, john)


def test_insights_are_each_users_own(api, conn, people):
    # Given Sarah's two quit leg challenges from John
    sarah, john, _, mike = people
    played(conn, john, sarah, "Beast Mode Legs", "quit")
    played(conn, john, sarah, "Leg Day Destroyer", "quit")
    conn.commit()
    index_everything(conn)

    # When John, the other party, and Mike, a stranger to them, ask for their insights
    # Then Sarah's quitting is hers alone
    assert "quit_pattern" in texts(api, sarah)
    assert insights(api, john) == [] and insights(api, mike) == []


# Encouragement on GET /challenges/{id} ---------------------------------------------------------

def test_a_new_leg_challenge_encourages_someone_who_quit_the_last_two(api, conn, people):
    # Given Sarah quit her last two leg challenges half-way, and John now challenges her to a
    # leg workout of another name, and to a cardio one
    sarah, john, _, _ = people
    played(conn, john, sarah, "Beast Mode Legs", "quit")
    played(conn, john, sarah, "Squat Sunday", "quit")
    legs = pending_challenge(conn, john, sarah, name="Leg Day Destroyer")
    cardio = pending_challenge(conn, john, sarah, name="Cardio Crusher")
    conn.commit()
    index_everything(conn)

    # When Sarah opens the leg challenge
    encouragement = challenge(api, sarah, legs)["encouragement"]

    # Then it draws on her quits, in words
    assert encouragement["text"] == ("You've quit the last 2 leg challenges at the halfway point. "
                                     "Let's push through this one together!")
    assert encouragement["kind"] == "encouragement"
    assert len(encouragement["evidence"]["challenge_ids"]) == 2

    # And the cardio challenge, like the leg one seen by John, has none
    assert challenge(api, sarah, cardio)["encouragement"] is None
    assert challenge(api, john, legs)["encouragement"] is None


def test_a_winning_run_on_similar_workouts_is_encouraged(api, conn, people):
    # Given Sarah won two upper-body challenges and lost one, and John's new arm challenge
    sarah, john, _, _ = people
    played(conn, john, sarah, "Chest Day", "lost")
    played(conn, john, sarah, "Biceps Blast", "won")
    played(conn, john, sarah, "Upper Body Blast", "won")
    arms = accepted_challenge(conn, john, sarah, name="Arm Destroyer")
    conn.commit()
    index_everything(conn)

    # When she opens it
    # Then she is reminded of her wins
    assert challenge(api, sarah, arms)["encouragement"]["text"] == (
        "You beat 2 of your last 3 upper-body challenges. You've got this!")


def test_without_chromadb_a_challenge_is_still_served_and_insights_answer_503(api, conn, people, chroma):
    # Given John's pending challenge to Sarah
    sarah, john, _, _ = people
    pending = pending_challenge(conn, john, sarah)
    conn.commit()

    # When ChromaDB is down
    chroma.stop()
    try:
        # Then the challenge is served without encouragement, and insights and search say 503
        assert challenge(api, sarah, pending)["encouragement"] is None
        for path in ("/insights", "/insights/search?q=legs"):
            response = api.get(path, sarah)
            problem = assert_problem(response, 503, "service_unavailable")
            assert problem["dependency"] == "chromadb"
            assert response.headers["Retry-After"] == "30"
    finally:
        chroma.start()


# GET /insights/search --------------------------------------------------------------------------

def test_search_finds_the_callers_own_events_nearest_first(api, conn, people):
    # Given Sarah quit John's leg challenge, beat Lisa's arm challenge, and Lisa's challenge to
    # Mike, whom Sarah has nothing to do with
    sarah, john, lisa, mike = people
    friends(conn, lisa, mike)
    legs = played(conn, john, sarah, "Beast Mode Legs", "quit")
    arms = played(conn, lisa, sarah, "Arm Destroyer", "won")
    theirs = played(conn, lisa, mike, "Beast Mode Legs", "quit")
    conn.commit()
    index_everything(conn)

    # When Sarah searches for the legs she abandoned
    response = api.get("/insights/search?q=abandoned Beast Mode Legs, too hard for me&limit=3", sarah)

    # Then her abandoned leg challenge comes first, all three are hers, similarity descending
    assert response.status_code == 200, response.text
    items = response.json["items"]
    assert len(items) == 3
    assert items[0]["text"] == ("Sarah abandoned John's challenge 'Beast Mode Legs' and did not finish it. "
                                "Reason: Too hard for me 😓")
    assert items[0]["event_type"] == "challenge_abandoned" and items[0]["challenge_id"] == legs
    assert items[0]["workout_kind"] == "leg"
    assert {item["challenge_id"] for item in items} <= {legs, arms}
    similarities = [item["similarity"] for item in items]
    assert similarities == sorted(similarities, reverse=True) and similarities[0] > 0.5

    # And John, the other party of the legs challenge, finds it, but never Mike's or Lisa's arms
    for who, theirs_not in ((john, {theirs, arms}), (mike, {legs, arms})):
        response = api.get("/insights/search?q=Beast Mode Legs&limit=50", who)
        assert response.status_code == 200, response.text
        found = {item["challenge_id"] for item in response.json["items"]}
        assert found and not found & theirs_not


def test_search_ranks_only_the_newest_events_the_bound_keeps(api, conn, people):
    # Given John challenged Sarah to five workouts, one after another, indexed two at a time by
    # an indexer that keeps each user's newest 3 (the bound, 500 in production, lowered here)
    sarah, john, _, _ = people
    names = ["Beast Mode Legs", "Arm Destroyer", "Cardio Crusher", "Core Killer", "Push Day"]
    for name in names:
        pending_challenge(conn, john, sarah, name=name)
        conn.commit()
    published(conn)
    index_pending(conn, event_log(recent=3), batch_size=2)

    # When each of them searches for the oldest by its very name
    # Then only the newest three come back: the two before them are not searched any more
    for who in (sarah, john):
        found = found_by_search(api, who, "Beast Mode Legs")
        assert sorted(item["workout_name"] for item in found) == sorted(names[2:])


def test_a_user_with_few_events_among_many_others_gets_all_of_hers_ranked_exactly(api, conn, people):
    # Given 2,000 events of strangers in the log, and Sarah's six (a quit and a win) among them
    sarah, john, lisa, _ = people
    crowd(1000)
    played(conn, john, sarah, "Beast Mode Legs", "quit")
    played(conn, lisa, sarah, "Arm Destroyer", "won")
    index_everything(conn)
    crowd(1000)

    # When she searches
    query = "gave up on a leg workout"
    found = found_by_search(api, sarah, query)

    # Then every one of her events comes back, ranked by the model's own similarity of each
    # sentence to her words, nearest first
    texts = [item["text"] for item in found]
    [wanted, *sentences] = numpy.asarray(MiniLMEmbedding()([query, *texts]))
    exact = sentences @ wanted
    assert len(found) == 6 and len(set(texts)) == 6
    assert [item["similarity"] for item in found] == pytest.approx(exact.tolist(), abs=0.001)
    assert list(exact) == sorted(exact, reverse=True)
    assert found[0]["event_type"] == "challenge_abandoned"


@pytest.mark.parametrize("query, field", [
    ("", "q"), ("?q=", "q"), ("?q=%20%20", "q"), ("?q=" + "x" * 201, "q"),
    ("?q=legs&limit=0", "limit"), ("?q=legs&limit=51", "limit"), ("?q=legs&limit=ten", "limit"),
])
def test_a_bad_search_is_refused_naming_the_field(api, people, query, field):
    # Given Sarah
    sarah = people[0]

    # When she searches with a missing, blank or too long query, or a bad limit
    response = api.get(f"/insights/search{query}", sarah)

    # Then 422 names the field
    assert_problem(response, 422, "validation_error")
    assert field in response.json["errors"]


def test_insights_need_a_token(api):
    # Given no token, When insights or search are asked for, Then 401
    for path in ("/insights", "/insights/search?q=legs"):
        assert_problem(api.get(path, None), 401, "unauthorized")
