"""Privacy under the API's role: as `challenges_api` with app.user_id set, one user reads whole
tables, views and stats functions without a WHERE and finds nothing of another user's private
rows or columns. Each check also shows the hidden rows exist (the owner of them sees them). And
the catalog shows that every relation the role can read is limited so, new ones included."""

import uuid

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from core.db import configure_connection
from core.settings import API_ROLE
from tests.conftest import SETTINGS

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
    all_chains = owner_rows(conn, "SELECT challenge_id FROM challenge_retry_chains")
    assert ids(all_chains, "challenge_id") >= world["alice_challenges"] | world["bob_challenges"]

    # When Alice's API transaction reads each view whole
    with as_api(alice) as api_conn:
        def rows(view):
            return api_conn.execute(f"SELECT * FROM {view}").fetchall()

        friends = rows("user_friends")
        chains = rows("challenge_retry_chains")

    # Then user_friends holds only her friendship with Fred, both ways
    assert {(str(r["user_id"]), str(r["friend_id"])) for r in friends} == {(alice, fred), (fred, alice)}
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
                      "challenge_retry_chains", "users", "habit_logs", "points_ledger",
                      "challenge_participants"):
            assert count(table) == 0, table


# The views that run with their owner's rights, past Row Level Security, and so must show only
# what every signed-in user may see of every row (docs/domain.md), with exactly these columns: a
# column added to one of them fails the test below until someone decides that it is public too.
PUBLIC_VIEWS = {
    # Anyone's public profile (GET /users/{id}, and the names on every list): not the time zone.
    "public_profiles": {"id", "display_name", "avatar_url", "created_at"},
    # Participants' totals are public, they make a community challenge's leaderboard; when
    # someone joined or finished is theirs alone.
    "community_standings": {"id", "challenge_id", "user_id", "status", "total", "total_reached_at"},
    # Product analytics (migration 0021): the API's role reads them as a member of
    # challenges_analyst, and shows them to tokens with the role `analyst` only
    # (api/resources/analytics.py). Counts by day, workout, hour, week and quit category: no names,
    # no time zones, no quit reason in an athlete's own words (it counts under a preset or
    # 'other'). `workouts` has a row per challenge sent, with its workout's name and how it went,
    # not who sent it or to whom. `pairs` has a row per challenge sent, with the two user ids and
    # the day: ids, which only analysts see through the API.
    "analytics.workouts": {"day", "workout_key", "workout_name", "accepted", "completed", "won", "abandoned",
                           "attempt_duration_minutes", "attempt_total_volume_kg"},
    "analytics.hours": {"day", "iso_weekday", "hour", "challenges_sent"},
    "analytics.pairs": {"day", "user_a", "user_b", "sent_by_a"},
    "analytics.quit_reasons": {"day", "week", "category", "quits"},
    "analytics.completion": {"day", "week", "sent", "accepted", "completed", "won", "abandoned", "expired",
                             "declined"},
}

# Every relation the API's role can SELECT from (a whole table or any of its columns), with what
# limits it: Row Level Security and a permissive SELECT policy for the role (or for PUBLIC), or,
# for a view, running with the caller's rights.
READABLE_RELATIONS = """
SELECT c.oid::regclass::text AS name, c.relkind AS kind, c.relrowsecurity AS row_security,
       EXISTS (SELECT 1 FROM pg_policy p
                WHERE p.polrelid = c.oid AND p.polpermissive AND p.polcmd IN ('r', '*')
                  AND p.polroles && ARRAY[0, %(role)s::regrole]::oid[]) AS has_policy,
       COALESCE((SELECT option_value::boolean FROM pg_options_to_table(c.reloptions)
                  WHERE option_name = 'security_invoker'), false) AS runs_as_caller,
       ARRAY(SELECT a.attname::text FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                AND has_column_privilege(%(role)s, c.oid, a.attnum, 'SELECT')) AS columns
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%%'
   AND has_schema_privilege(%(role)s, n.oid, 'USAGE')
   AND has_any_column_privilege(%(role)s, c.oid, 'SELECT')
 ORDER BY 1
"""


def unprotected(relation: dict) -> str | None:
    """Why the API's role could read more of `relation` than the API shows, or None."""
    name, kind = relation["name"], relation["kind"]
    if kind in {"r", "p", "f"}:
        if not relation["row_security"]:
            return f"{name}: a table without Row Level Security"
        if not relation["has_policy"]:
            return f"{name}: no SELECT policy for {API_ROLE}"
        return None
    if kind == "v" and relation["runs_as_caller"]:
        return None
    if name not in PUBLIC_VIEWS:
        return f"{name}: a view with its owner's rights, not known to show only public columns"
    if set(relation["columns"]) != PUBLIC_VIEWS[name]:
        return f"{name}: shows {sorted(relation['columns'])}, public are {sorted(PUBLIC_VIEWS[name])}"
    return None


def test_every_relation_the_api_role_can_read_is_limited_to_what_the_api_shows(conn):
    # Given the migrated schema, When we list every relation the API's role can read
    readable = conn.execute(READABLE_RELATIONS, {"role": API_ROLE}).fetchall()
    names = {relation["name"] for relation in readable}
    assert {"workout_challenges", "users", "user_friends"} <= names

    # Then each table has Row Level Security with a policy for the role, and each view runs with
    # the caller's rights or is a known view of public columns only
    problems = [reason for reason in map(unprotected, readable) if reason]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("relation", ["challenge_progress", "pending_challenges_with_users",
                                      "_yoyo_migration", "yoyo_lock"])
def test_the_api_role_cannot_read_what_the_api_never_reads(world, relation):
    # Given progress entries, pending challenges and the migrations' own bookkeeping, none of
    # which the API reads
    # When Alice's API transaction reads one
    # Then permission is denied
    with as_api(world["alice"]) as api_conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            api_conn.execute(f"SELECT count(*) FROM {relation}")


def test_alice_sees_bobs_public_profile_but_never_his_time_zone(api, world):
    alice, bob = world["alice"], world["bob"]
    # Given Bob, who lives in New York
    ok(api.put("/me", bob, {"timezone": "America/New_York"}))

    # When Alice's API transaction reads the users table whole, then asks for his zone directly
    # and for his local date, which would tell it
    with as_api(alice) as api_conn:
        users = api_conn.execute("SELECT * FROM users").fetchall()
        his_zone = api_conn.execute("SELECT timezone FROM users WHERE id = %s", (bob,)).fetchall()
        his_date = api_conn.execute("SELECT user_local_date(%s, now()) AS day", (bob,)).fetchone()["day"]
        profile = api_conn.execute("SELECT * FROM public_profiles WHERE id = %s", (bob,)).fetchone()
        with pytest.raises(psycopg.errors.UndefinedColumn):
            api_conn.execute("SELECT timezone FROM public_profiles")

    # Then she finds only her own row, nothing of his zone, and his public profile
    assert ids(users) == {alice} and users[0]["timezone"] == "UTC"
    assert his_zone == [] and his_date is None
    assert (profile["display_name"], set(profile)) == ("Bob", PUBLIC_VIEWS["public_profiles"])

    # and Bob's own API transaction reads his zone as ever
    with as_api(bob) as api_conn:
        assert api_conn.execute("SELECT timezone FROM users").fetchall() == [{"timezone": "America/New_York"}]


def test_alice_sees_bobs_rating_but_not_when_it_last_moved(world):
    alice, bob = world["alice"], world["bob"]
    # Given Bob, rated by the challenges he finished
    # When Alice's API transaction reads the ratings
    with as_api(alice) as api_conn:
        ratings = api_conn.execute("SELECT user_id, mu, sigma, value, rated_challenges FROM athlete_ratings "
                                   "WHERE user_id = %s", (bob,)).fetchall()
        # Then she sees his rating, as his profile and the rating board show it, but not when
        # it last changed
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            api_conn.execute("SELECT updated_at FROM athlete_ratings")
    assert [row["rated_challenges"] for row in ratings] == [3]


def test_alice_sees_bobs_total_in_a_community_challenge_but_not_when_he_joined(api, conn, world):
    alice, bob = world["alice"], world["bob"]
    # Given a community challenge that Alice and Bob joined, with a workout each since
    community = api.create_community(api.sign_up("Coach"))
    for athlete in (alice, bob):
        api.join(athlete, community)
        api.log_workout(athlete)
    bobs_participation = owner_rows(conn, "SELECT * FROM challenge_participants WHERE user_id = %s", bob)
    assert [row["total"] for row in bobs_participation] == [1]

    # When Alice's API transaction reads the participations and the standings whole
    with as_api(alice) as api_conn:
        participations = api_conn.execute("SELECT * FROM challenge_participants").fetchall()
        his_join = api_conn.execute("SELECT joined_at FROM challenge_participants WHERE user_id = %s",
                                    (bob,)).fetchall()
        standings = api_conn.execute("SELECT * FROM community_standings").fetchall()

    # Then she finds her own participation in full and nothing of when Bob joined, and
    # everyone's total and status
    assert [(str(row["user_id"]), row["total"]) for row in participations] == [(alice, 1)]
    assert his_join == []
    assert participations[0]["joined_at"] is not None
    assert {(str(row["user_id"]), row["total"], row["status"]) for row in standings} == {
        (alice, 1, "active"), (bob, 1, "active")}
    assert all(set(row) == PUBLIC_VIEWS["community_standings"] for row in standings)
