"""Privacy under the API's role: as `challenges_api` with app.user_id set, one user reads whole
tables, views and stats functions without a WHERE and finds nothing of another user's private
rows. Each check also shows the hidden rows exist (the owner of them sees them)."""

import uuid

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tests.conftest import SETTINGS
from workers.db import configure_connection

LOSS = {"duration_minutes": 45, "total_volume": 5000, "volume_unit": "kg"}
WIN = {"duration_minutes": 15, "total_volume": 5000, "volume_unit": "kg"}
TOO_HARD = "Too hard for me 😓"


def as_api(caller: str | None):
    """A connection as the API's role with the caller set, like every API read."""
    conn = psycopg.connect(SETTINGS.api_database_url, row_factory=dict_row)
    configure_connection(conn)
    if caller:
        conn.execute("SELECT set_config('app.user_id', %s, false)", (caller,))
    return conn


def ids(rows, column="id") -> set[str]:
    return {str(row[column]) for row in rows}


def post(conn, owner: str, visibility: str) -> str:
    """A workout post with the given visibility (the API only makes friends-only ones)."""
    post_id = str(uuid.uuid4())
    conn.execute("INSERT INTO activity_feed (id, user_id, activity_type, activity_data, visibility) "
                 "VALUES (%s, %s, 'workout_completed', %s, %s)",
                 (post_id, owner, Jsonb({"workout_name": f"{visibility} session"}), visibility))
    return post_id


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.text
    return response.json


@pytest.fixture
def world(api, conn):
    """Alice and her friend Fred; Bob and his friend Carol; Alice and Bob are strangers.

    Fred challenged Alice twice: one pending, one she lost and retried. Carol challenged Bob
    twice: he lost one and won its retry, and quit the other. Bob withdrew a challenge to Carol
    and has another pending with her. Everyone logged a workout (a friends-only post); Bob and
    Fred also have a private post, Bob a friends-only one made directly.
    """
    alice, fred, bob, carol = (api.sign_up(n) for n in ("Alice", "Fred", "Bob", "Carol"))
    api.befriend(alice, fred)
    api.befriend(bob, carol)
    logs = {name: api.log_workout(user, name=f"{name}'s Legs")
            for name, user in (("alice", alice), ("fred", fred), ("bob", bob), ("carol", carol))}

    [alice_pending] = api.challenge(fred, [alice], logs["fred"])
    [alice_lost] = api.challenge(fred, [alice], logs["fred"])
    ok(api.post(f"/challenges/accept/{alice_lost}", alice))
    ok(api.post(f"/challenges/complete/{alice_lost}", alice, LOSS))
    [alice_retry] = ok(api.post(f"/challenges/retry/{alice_lost}", alice), 201)["challenge_ids"]

    [bob_lost] = api.challenge(carol, [bob], logs["carol"])
    [bob_quit] = api.challenge(carol, [bob], logs["carol"])
    for challenge_id in (bob_lost, bob_quit):
        ok(api.post(f"/challenges/accept/{challenge_id}", bob))
    ok(api.post(f"/challenges/complete/{bob_lost}", bob, LOSS))
    ok(api.post(f"/challenges/abandon/{bob_quit}", bob, {"quit_reason": TOO_HARD}))
    [bob_retry] = ok(api.post(f"/challenges/retry/{bob_lost}", bob), 201)["challenge_ids"]
    ok(api.post(f"/challenges/complete/{bob_retry}", bob, WIN))
    [withdrawn] = api.challenge(bob, [carol], logs["bob"])
    [bob_pending] = api.challenge(bob, [carol], logs["bob"])
    ok(api.delete(f"/challenges/{withdrawn}", bob))

    conn.rollback()
    posts = {"bob_private": post(conn, bob, "private"), "bob_friends": post(conn, bob, "friends"),
             "fred_private": post(conn, fred, "private")}
    conn.commit()

    def feed_post_of(user):
        return str(conn.execute("SELECT id FROM activity_feed WHERE workout_log_id = %s",
                                (logs[user],)).fetchone()["id"])

    posts.update({f"{name}_workout": feed_post_of(name) for name in logs})
    conn.rollback()
    return {"alice": alice, "fred": fred, "bob": bob, "carol": carol, "posts": posts,
            "alice_challenges": {alice_pending, alice_lost, alice_retry},
            "alice_pending": alice_pending, "alice_lost": alice_lost, "alice_retry": alice_retry,
            "bob_challenges": {bob_lost, bob_quit, bob_retry, bob_pending},
            "withdrawn": withdrawn}


def owner_rows(conn, query, *params) -> list[dict]:
    rows = conn.execute(query, params).fetchall()
    conn.rollback()
    return rows


def owned(conn, table, column, user) -> set[str]:
    return ids(owner_rows(conn, f"SELECT {column} FROM {table} WHERE user_id = %s", user), column)


def test_tables_show_alice_none_of_bobs_rows_even_without_a_where(conn, world):
    alice, bob = world["alice"], world["bob"]
    # Given the world, and every row each of them owns as the owner role sees it
    bobs_notifications = owned(conn, "challenge_notifications", "id", bob)
    bobs_jobs = owned(conn, "processed_commands", "job_id", bob)
    alices_jobs = owned(conn, "processed_commands", "job_id", alice)
    assert bobs_notifications and bobs_jobs and alices_jobs

    # When Alice's API transaction reads whole tables
    with as_api(alice) as api_conn:
        def rows(table):
            return api_conn.execute(f"SELECT * FROM {table}").fetchall()

        challenges = rows("workout_challenges")
        notifications = rows("challenge_notifications")
        workouts = rows("workout_logs")
        withdrawn = rows("withdrawn_challenges")
        jobs = rows("processed_commands")

    # Then she sees exactly her own rows, nothing of Bob's
    assert ids(challenges) == world["alice_challenges"]
    assert ids(challenges).isdisjoint(world["bob_challenges"])
    assert notifications and {str(n["user_id"]) for n in notifications} == {alice}
    assert ids(notifications).isdisjoint(bobs_notifications)
    assert {str(w["user_id"]) for w in workouts} == {alice} and len(workouts) == 1
    assert withdrawn == []
    assert ids(jobs, "job_id") == alices_jobs

    # and Bob, on his side, sees the rows that were hidden from her
    with as_api(bob) as api_conn:
        assert ids(api_conn.execute("SELECT * FROM workout_challenges").fetchall()) == \
            world["bob_challenges"]
        assert ids(api_conn.execute("SELECT * FROM withdrawn_challenges").fetchall()) == {world["withdrawn"]}
        assert ids(api_conn.execute("SELECT * FROM processed_commands").fetchall(), "job_id") == bobs_jobs


def test_the_feed_table_shows_alice_her_posts_and_her_friends_shared_ones_only(conn, world):
    alice, fred = world["alice"], world["fred"]
    posts = world["posts"]
    # Given Alice's own posts, and Fred's (her friend) posts that are not private
    expected = ids(owner_rows(conn, "SELECT id FROM activity_feed WHERE user_id = %s "
                                    "OR (user_id = %s AND visibility <> 'private')", alice, fred))

    # When Alice's API transaction reads the whole feed table
    with as_api(alice) as api_conn:
        visible = ids(api_conn.execute("SELECT * FROM activity_feed").fetchall())

    # Then she sees exactly those: her friend's friends-only post IS there, while Bob's
    # private and friends-only posts (she is not his friend) and Fred's private post are not
    assert visible == expected
    assert posts["fred_workout"] in visible and posts["alice_workout"] in visible
    for hidden in ("bob_private", "bob_friends", "bob_workout", "carol_workout", "fred_private"):
        assert posts[hidden] not in visible, hidden

    # and Carol, Bob's friend, sees his friends-only posts but not his private one
    with as_api(world["carol"]) as api_conn:
        carol_sees = ids(api_conn.execute("SELECT * FROM activity_feed").fetchall())
    assert {posts["bob_friends"], posts["bob_workout"]} <= carol_sees
    assert posts["bob_private"] not in carol_sees


def test_views_run_with_the_callers_rights_and_show_alice_only_her_rows(conn, world):
    alice, fred = world["alice"], world["fred"]
    # Given the rows each view holds for Alice, as the owner role computes them
    her_pending = ids(owner_rows(conn, "SELECT id FROM pending_challenges_with_users "
                                       "WHERE %s IN (from_user_id, to_user_id)", alice))
    all_pending = ids(owner_rows(conn, "SELECT id FROM pending_challenges_with_users"))
    all_chains = owner_rows(conn, "SELECT challenge_id FROM challenge_retry_chains")
    assert her_pending and all_pending - her_pending
    assert ids(all_chains, "challenge_id") >= world["alice_challenges"] | world["bob_challenges"]

    # When Alice's API transaction reads each view whole
    with as_api(alice) as api_conn:
        def rows(view):
            return api_conn.execute(f"SELECT * FROM {view}").fetchall()

        friends = rows("user_friends")
        pending = rows("pending_challenges_with_users")
        chains = rows("challenge_retry_chains")

    # Then user_friends holds only her friendship with Fred, both ways
    assert {(str(r["user_id"]), str(r["friend_id"])) for r in friends} == {(alice, fred), (fred, alice)}
    # and the pending view only her pending and accepted challenges
    assert ids(pending) == her_pending
    assert all(alice in (str(r["from_user_id"]), str(r["to_user_id"])) for r in pending)
    # and the retry chains only her chain (original, lost, and its rematch) and her pending one
    assert ids(chains, "challenge_id") == world["alice_challenges"]
    assert {(str(r["challenge_id"]), str(r["root_challenge_id"]), r["depth"]) for r in chains} == {
        (world["alice_pending"], world["alice_pending"], 0),
        (world["alice_lost"], world["alice_lost"], 0),
        (world["alice_retry"], world["alice_lost"], 1)}


def test_retry_and_abandonment_stats_of_someone_else_show_nothing(world):
    alice, bob = world["alice"], world["bob"]
    # Given Bob, who lost a challenge, won its retry and quit another

    # When Alice calls his stats functions through her API role
    with as_api(alice) as api_conn:
        retry = api_conn.execute("SELECT * FROM get_user_retry_stats(%s)", (bob,)).fetchone()
        abandonment = api_conn.execute("SELECT * FROM get_user_abandonment_stats(%s)", (bob,)).fetchone()

    # Then they show nothing of Bob's
    assert retry == {"total_retries": 0, "retries_won": 0, "retry_win_rate": None,
                     "most_retried_workout": None, "avg_retries_to_win": None}
    assert abandonment == {"total_abandoned": 0, "most_common_quit_reason": None,
                           "abandonment_rate": None}

    # while Bob himself sees his numbers
    with as_api(bob) as api_conn:
        retry = api_conn.execute("SELECT * FROM get_user_retry_stats(%s)", (bob,)).fetchone()
        abandonment = api_conn.execute("SELECT * FROM get_user_abandonment_stats(%s)", (bob,)).fetchone()
    assert retry == {"total_retries": 1, "retries_won": 1, "retry_win_rate": 1.0,
                     "most_retried_workout": "carol's Legs", "avg_retries_to_win": 1.0}
    assert abandonment == {"total_abandoned": 1, "most_common_quit_reason": TOO_HARD,
                           "abandonment_rate": 0.3333}


@pytest.mark.parametrize("query", ["SELECT * FROM events", "SELECT count(*) FROM events",
                                   "SELECT payload FROM events WHERE actor_id IS NOT NULL"])
def test_the_api_role_cannot_read_the_events_outbox(world, query):
    # Given events about everyone's challenges in the outbox
    # When Alice's API transaction reads it
    # Then permission is denied, whatever she asks
    with as_api(world["alice"]) as api_conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            api_conn.execute(query)


def test_a_transaction_without_a_caller_sees_no_private_rows(world):
    # Given the world, and an API transaction that forgot to set app.user_id
    with as_api(None) as api_conn:
        def count(table):
            return api_conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]

        # When it reads every private table and view
        # Then it finds nothing at all
        for table in ("workout_challenges", "challenge_notifications", "workout_logs", "activity_feed",
                      "withdrawn_challenges", "processed_commands", "friendships", "user_friends",
                      "pending_challenges_with_users", "challenge_retry_chains"):
            assert count(table) == 0, table
