"""Bad input to the lifecycle endpoints (abandon, retry, BEAT THIS, history, leaderboard,
notifications, unknown challenges): a 4xx problem that names what is wrong, and nothing changed,
no row and no job."""

import pytest

from tests.api.support import assert_problem, auth, new_id, send_raw, snapshot

LOSS = {"duration_minutes": 45, "total_volume": 5000, "volume_unit": "kg"}
PARTIAL = {"duration_minutes": 12, "total_volume": 3000, "volume_unit": "lb"}


@pytest.fixture
def lost(api, cast, accepted):
    """The same challenge, lost by Sarah: she may retry it."""
    response = api.post(f"/challenges/complete/{accepted}", cast.sarah, LOSS)
    assert response.status_code == 200, response.text
    return accepted


def challenge(api, user, challenge_id) -> dict:
    response = api.get(f"/challenges/{challenge_id}", user)
    assert response.status_code == 200, response.text
    return response.json


def chain(api, user, challenge_id) -> list[dict]:
    response = api.get(f"/challenges/{challenge_id}/chain", user)
    assert response.status_code == 200, response.text
    return response.json["items"]


# POST /challenges/abandon/{id} ---------------------------------------------------------------

def tired(partial_stats) -> dict:
    """A quit with a fine reason and the given partial stats."""
    return {"quit_reason": "Tired", "partial_stats": partial_stats}


ABANDON_CASES = {
    "no-quit-reason": ({}, ["quit_reason"]),
    "only-partial-stats": ({"partial_stats": PARTIAL}, ["quit_reason"]),
    "empty-reason": ({"quit_reason": ""}, ["quit_reason"]),
    "blank-reason": ({"quit_reason": "   "}, ["quit_reason"]),
    "whitespace-only-reason": ({"quit_reason": "\n\t "}, ["quit_reason"]),
    "201-characters": ({"quit_reason": "x" * 201}, ["quit_reason"]),
    "201-emoji": ({"quit_reason": "😓" * 201}, ["quit_reason"]),
    "reason-a-number": ({"quit_reason": 42}, ["quit_reason"]),
    "reason-a-list": ({"quit_reason": ["Too hard for me 😓"]}, ["quit_reason"]),
    "reason-null": ({"quit_reason": None}, ["quit_reason"]),
    "reason-with-nul": ({"quit_reason": "Too\u0000hard"}, ["quit_reason"]),
    "unknown-field": ({"quit_reason": "Too hard", "mood": "sad"}, ["mood"]),
    "partial-negative-duration": (tired({**PARTIAL, "duration_minutes": -1}), ["partial_stats.duration_minutes"]),
    "partial-negative-volume": (tired({**PARTIAL, "total_volume": -5}), ["partial_stats.total_volume"]),
    "partial-absurd-volume": (tired({**PARTIAL, "total_volume": 1e12}), ["partial_stats.total_volume"]),
    "partial-a-string": (tired("halfway"), ["partial_stats"]),
    "partial-a-list": (tired([12, 3000]), ["partial_stats"]),
    "partial-a-number": (tired(12), ["partial_stats"]),
    "partial-empty": (tired({}), ["partial_stats.duration_minutes", "partial_stats.total_volume"]),
    "partial-missing-duration": (tired({"total_volume": 3000}), ["partial_stats.duration_minutes"]),
    "partial-unit-stone": (tired({**PARTIAL, "volume_unit": "stone"}), ["partial_stats.volume_unit"]),
    "partial-unknown-field": (tired({**PARTIAL, "reps": 3}), ["partial_stats.reps"]),
}


def assert_still_accepted(api, cast, challenge_id) -> None:
    """Sarah's challenge is as she accepted it: no reason, no partial stats, John told nothing."""
    seen = challenge(api, cast.sarah, challenge_id)
    assert (seen["status"], seen["result"], seen["quit_reason"], seen["partial_stats"]) == \
        ("accepted", "in_progress", None, None)
    assert [n["notification_type"] for n in api.notifications(cast.john)] == ["challenge_accepted"]


@pytest.mark.parametrize("case", list(ABANDON_CASES))
def test_an_invalid_quit_is_refused_and_the_challenge_stays_accepted(api, conn, redis_client, cast,
                                                                      accepted, case):
    # Given Sarah's accepted challenge, and a quit body that breaks a rule
    body, fields = ABANDON_CASES[case]
    before = snapshot(conn, redis_client)

    # When she quits with it
    response = api.post(f"/challenges/abandon/{accepted}", cast.sarah, body)

    # Then 422 naming the field, nothing stored or queued, and the challenge is still on
    assert_problem(response, 422, "validation_error", *fields)
    assert snapshot(conn, redis_client) == before
    assert_still_accepted(api, cast, accepted)


def test_a_missing_partial_duration_is_named_inside_partial_stats(api, cast, accepted):
    # Given partial stats without a duration
    body = {"quit_reason": "Tired", "partial_stats": {"total_volume": 3000}}

    # When Sarah quits with them
    response = api.post(f"/challenges/abandon/{accepted}", cast.sarah, body)

    # Then the error points at partial_stats.duration_minutes
    assert_problem(response, 422, "validation_error", "partial_stats.duration_minutes")


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_partial_duration_is_refused(api, conn, redis_client, cast, accepted, number):
    # Given a quit body whose partial duration JSON cannot express (Python's json reads it)
    body = ('{"quit_reason": "Tired", "partial_stats": {"duration_minutes": %s, "total_volume": 10}}'
            % number)
    before = snapshot(conn, redis_client)

    # When it is posted as raw text
    response = send_raw(api, "POST", f"/challenges/abandon/{accepted}", cast.sarah, body)

    # Then 422 on partial_stats.duration_minutes, and the challenge is still on
    assert_problem(response, 422, "validation_error", "partial_stats.duration_minutes")
    assert snapshot(conn, redis_client) == before
    assert_still_accepted(api, cast, accepted)


@pytest.mark.parametrize("body", ["", "   "])
def test_a_quit_without_a_body_is_a_bad_request(api, conn, redis_client, cast, accepted, body):
    # Given no body at all (the reason is required)
    before = snapshot(conn, redis_client)

    # When Sarah quits
    response = send_raw(api, "POST", f"/challenges/abandon/{accepted}", cast.sarah, body)

    # Then 400, and the challenge is still on
    assert_problem(response, 400, "bad_request")
    assert snapshot(conn, redis_client) == before
    assert_still_accepted(api, cast, accepted)


@pytest.mark.parametrize("reason", ["x" * 200, "💪" * 200, "x" + " " * 198 + "x"])
def test_a_reason_of_200_characters_is_accepted_as_written(api, cast, accepted, reason):
    # Given a custom reason of exactly 200 characters (emoji count as one each; spaces inside
    # are its own, only surrounding ones are trimmed)
    # When Sarah quits with it
    response = api.post(f"/challenges/abandon/{accepted}", cast.sarah, {"quit_reason": reason})

    # Then she has quit, and John reads her words unchanged
    assert response.status_code == 200, response.text
    seen = challenge(api, cast.john, accepted)
    assert (seen["status"], seen["quit_reason"]) == ("abandoned", reason)
    [told] = [n for n in api.notifications(cast.john) if n["notification_type"] == "challenge_abandoned"]
    assert told["data"]["quit_reason"] == reason


def test_every_quick_reply_of_the_quit_dialog_is_accepted(api, cast):
    # Given the quick replies the quit dialog offers, and one accepted challenge per reply
    replies = [item["text"] for item in api.get("/challenges/quit-reasons", cast.sarah).json["items"]
               if not item["custom"]]
    assert "Too hard for me 😓" in replies
    ids = api.challenge(cast.john, [cast.sarah], cast.workout)
    ids += [api.challenge(cast.john, [cast.sarah], cast.workout)[0] for _ in replies[1:]]

    # When Sarah quits each challenge with one of them
    for challenge_id, reply in zip(ids, replies):
        assert api.post(f"/challenges/accept/{challenge_id}", cast.sarah).status_code == 200
        response = api.post(f"/challenges/abandon/{challenge_id}", cast.sarah, {"quit_reason": reply})
        assert response.status_code == 200, response.text

    # Then each one is stored exactly as offered, emoji included
    assert [challenge(api, cast.sarah, c)["quit_reason"] for c in ids] == replies


def test_partial_stats_of_zero_are_a_fair_answer(api, cast, accepted):
    # Given Sarah quit before doing anything
    body = {"quit_reason": "Not feeling it today 😴",
            "partial_stats": {"duration_minutes": 0, "total_volume": 0, "volume_unit": "kg"}}

    # When she quits with zero partial stats
    response = api.post(f"/challenges/abandon/{accepted}", cast.sarah, body)

    # Then they are kept as given
    assert response.status_code == 200, response.text
    stored = challenge(api, cast.john, accepted)["partial_stats"]
    assert (stored["duration_minutes"], stored["total_volume"], stored["volume_unit"]) == (0, 0, "kg")


# POST /challenges/retry/{id} -----------------------------------------------------------------

RETRY_CASES = {
    "message-501-characters": ({"message": "x" * 501}, ["message"]),
    "message-a-number": ({"message": 2}, ["message"]),
    "message-a-list": ({"message": ["Round 2"]}, ["message"]),
    "message-an-object": ({"message": {"text": "Round 2"}}, ["message"]),
    "message-with-nul": ({"message": "Round\u00002"}, ["message"]),
    "unknown-field": ({"rounds": 3}, ["rounds"]),
    "body-a-list": (["Round 2"], ["_schema"]),
}


@pytest.mark.parametrize("case", list(RETRY_CASES))
def test_an_invalid_rematch_is_refused_and_no_round_is_added(api, conn, redis_client, cast, lost, case):
    # Given Sarah's lost challenge, and a rematch body that breaks a rule
    body, fields = RETRY_CASES[case]
    before = snapshot(conn, redis_client)

    # When she asks for a rematch with it
    response = api.post(f"/challenges/retry/{lost}", cast.sarah, body)

    # Then 422 naming the field, and the chain is still the one lost round
    assert_problem(response, 422, "validation_error", *fields)
    assert snapshot(conn, redis_client) == before
    assert [(c["id"], c["retry_count"]) for c in chain(api, cast.sarah, lost)] == [(lost, 0)]


@pytest.mark.parametrize("body", [None, {}, {"message": None}])
def test_a_rematch_without_a_message_is_round_two(api, cast, lost, body):
    # Given Sarah's lost challenge
    # When she asks for a rematch with no body, an empty one, or a null message
    response = api.post(f"/challenges/retry/{lost}", cast.sarah, body)

    # Then 201 with a new accepted round that says "Round 2! 💪"
    assert response.status_code == 201, response.text
    [rematch] = response.json["challenge_ids"]
    seen = challenge(api, cast.sarah, rematch)
    assert (seen["status"], seen["is_retry"], seen["retried_from_challenge_id"],
            seen["challenge_message"]) == ("accepted", True, lost, "Round 2! 💪")
    assert [c["id"] for c in chain(api, cast.sarah, lost)] == [lost, rematch]


def test_a_rematch_message_of_500_characters_is_kept(api, cast, lost):
    # Given a message of exactly 500 characters
    message = "🔥" * 500

    # When Sarah asks for a rematch with it
    response = api.post(f"/challenges/retry/{lost}", cast.sarah, {"message": message})

    # Then John's new challenge carries it unchanged
    assert response.status_code == 201, response.text
    [rematch] = response.json["challenge_ids"]
    assert challenge(api, cast.john, rematch)["challenge_message"] == message


# POST /challenges/create with activity_id (BEAT THIS) ----------------------------------------

def beat_this(**changes) -> dict:
    body = {"activity_id": new_id(), **changes}
    return {name: value for name, value in body.items() if value is not ...}


BEAT_THIS_CASES = {
    "activity-not-a-uuid": (beat_this(activity_id="42"), ["activity_id"]),
    "activity-a-number": (beat_this(activity_id=42), ["activity_id"]),
    "activity-null": (beat_this(activity_id=None), ["activity_id"]),
    "activity-and-recipients": (beat_this(to_user_ids=[new_id()]), ["to_user_ids"]),
    "activity-and-workout": (beat_this(workout_log_id=new_id()), ["workout_log_id"]),
    "activity-and-both": (beat_this(to_user_ids=[new_id()], workout_log_id=new_id()),
                          ["to_user_ids", "workout_log_id"]),
    "message-501-characters": (beat_this(message="x" * 501), ["message"]),
    "message-a-number": (beat_this(message=7), ["message"]),
}


@pytest.mark.parametrize("case", list(BEAT_THIS_CASES))
def test_an_invalid_beat_this_is_refused_and_nothing_is_stored(api, conn, redis_client, cast, case):
    # Given a BEAT THIS body that breaks a rule
    body, fields = BEAT_THIS_CASES[case]
    before = snapshot(conn, redis_client)

    # When Sarah sends it
    response = api.post("/challenges/create", cast.sarah, body)

    # Then 422 naming the field, and no challenge
    assert_problem(response, 422, "validation_error", *fields)
    assert snapshot(conn, redis_client) == before


def test_beat_this_of_a_real_post_together_with_recipients_is_refused(api, conn, redis_client, cast):
    # Given John's real workout post in Sarah's feed
    [post] = [item for item in api.get("/feed", cast.sarah).json["items"]
              if item["workout_log_id"] == cast.workout]
    before = snapshot(conn, redis_client)

    # When Sarah takes it on and also names recipients and a workout of John's
    response = api.post("/challenges/create", cast.sarah,
                        {"activity_id": post["id"], "to_user_ids": [cast.john],
                         "workout_log_id": cast.workout})

    # Then 422 naming both extra fields, and she has taken nothing on: she still can
    assert_problem(response, 422, "validation_error", "to_user_ids", "workout_log_id")
    assert snapshot(conn, redis_client) == before
    [post] = [item for item in api.get("/feed", cast.sarah).json["items"] if item["id"] == post["id"]]
    assert post["can_beat_this"] is True


# Query strings: history and leaderboard ------------------------------------------------------

QUERY_CASES = {
    "direction-sideways": ("/challenges/list", "direction=sideways", "direction"),
    "direction-uppercase": ("/challenges/list", "direction=SENT", "direction"),
    "filter-best": ("/challenges/list", "filter=best", "filter"),
    "filter-empty": ("/challenges/list", "filter=", "filter"),
    "list-limit-0": ("/challenges/list", "limit=0", "limit"),
    "list-limit-101": ("/challenges/list", "limit=101", "limit"),
    "list-limit-not-a-number": ("/challenges/list", "limit=all", "limit"),
    "list-cursor-garbage": ("/challenges/list", "cursor=garbage", "cursor"),
    "list-cursor-base64-of-nonsense": ("/challenges/list", "cursor=bm9uc2Vuc2U=", "cursor"),
    "leaderboard-scope-world": ("/challenges/leaderboard", "scope=world", "scope"),
}


@pytest.mark.parametrize("case", list(QUERY_CASES))
def test_a_bad_list_request_is_refused_naming_the_parameter(api, conn, redis_client, cast, case):
    # Given a query string that breaks a rule
    path, query, field = QUERY_CASES[case]
    before = snapshot(conn, redis_client)

    # When Sarah reads the list with it
    response = api.client.simulate_get("/api/v1" + path, query_string=query, headers=auth(cast.sarah))

    # Then 422 naming the parameter, and nothing changed
    assert_problem(response, 422, "validation_error", field)
    assert snapshot(conn, redis_client) == before


def test_every_history_tab_and_direction_is_accepted(api, cast, accepted):
    # Given Sarah's accepted challenge
    # When she reads every tab in every direction
    # Then each is answered, and only the tabs that hold it show it
    for direction in ("all", "sent", "received"):
        for tab in ("all", "won", "lost", "quit", "pending"):
            response = api.client.simulate_get("/api/v1/challenges/list",
                                               query_string=f"direction={direction}&filter={tab}",
                                               headers=auth(cast.sarah))
            assert response.status_code == 200, response.text
            shown = [item["id"] for item in response.json["items"]]
            holds = direction in ("all", "received") and tab in ("all", "pending")
            assert shown == ([accepted] if holds else []), (direction, tab)


# POST /notifications/{id}/read ---------------------------------------------------------------

@pytest.mark.parametrize("notification_id", ["not-a-uuid", "42", "1234567890abcdef"])
def test_marking_a_notification_with_a_malformed_id_matches_no_route(api, conn, redis_client, cast,
                                                                     accepted, notification_id):
    # Given John's unread notification (Sarah accepted)
    before = snapshot(conn, redis_client)

    # When he marks something read whose id is not a uuid
    response = api.post(f"/notifications/{notification_id}/read", cast.john)

    # Then no route matches: 404 not_found, and his notification is still unread
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before
    assert [n["is_read"] for n in api.notifications(cast.john)] == [False]


def test_marking_an_unknown_notification_read_is_not_found(api, conn, redis_client, cast, accepted):
    # Given John's unread notification
    before = snapshot(conn, redis_client)

    # When he marks a well-formed but unknown id read
    response = api.post(f"/notifications/{new_id()}/read", cast.john)

    # Then 404 not_found, and his notification is still unread
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before
    assert [n["is_read"] for n in api.notifications(cast.john)] == [False]


# Unknown challenges --------------------------------------------------------------------------

ACTIONS = {
    "accept": ("POST", "/challenges/accept/{id}", None),
    "decline": ("POST", "/challenges/decline/{id}", None),
    "complete": ("POST", "/challenges/complete/{id}", LOSS),
    "abandon": ("POST", "/challenges/abandon/{id}", {"quit_reason": "Too hard for me 😓"}),
    "retry": ("POST", "/challenges/retry/{id}", None),
    "delete": ("DELETE", "/challenges/{id}", None),
    "read": ("GET", "/challenges/{id}", None),
    "chain": ("GET", "/challenges/{id}/chain", None),
}


def act(api, action, challenge_id, user):
    method, path, body = ACTIONS[action]
    return api.call(method, path.format(id=challenge_id), user, body)


@pytest.mark.parametrize("action", list(ACTIONS))
def test_an_unknown_challenge_is_not_found(api, conn, redis_client, cast, action):
    # Given a challenge id nobody ever used
    before = snapshot(conn, redis_client)

    # When Sarah acts on it
    response = act(api, action, new_id(), cast.sarah)

    # Then 404 not_found, and nothing changed
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before


@pytest.mark.parametrize("action", list(ACTIONS))
def test_someone_elses_challenge_is_not_found_for_a_stranger(api, conn, redis_client, cast, accepted,
                                                             action):
    # Given John's challenge to Sarah, which Mike has no part in
    before = snapshot(conn, redis_client)

    # When Mike acts on it
    response = act(api, action, accepted, cast.mike)

    # Then it does not exist for him (404 not_found), and Sarah's challenge is untouched
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before
    assert challenge(api, cast.sarah, accepted)["status"] == "accepted"


@pytest.mark.parametrize("path", ["/challenges/accept/42", "/challenges/abandon/not-a-uuid",
                                  "/challenges/retry/0"])
def test_a_malformed_challenge_id_matches_no_route(api, conn, redis_client, cast, path):
    # Given a challenge "id" that is not a uuid
    before = snapshot(conn, redis_client)

    # When Sarah posts to it
    response = api.post(path, cast.sarah, {"quit_reason": "x"})

    # Then 404 not_found, and nothing changed
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before


# Text PostgreSQL cannot store ----------------------------------------------------------------

LONE_SURROGATE = r"Too hard \ud83d for me"  # half of an emoji: valid JSON, not storable UTF-8


def test_a_quit_reason_with_half_an_emoji_is_refused(api, conn, redis_client, cast, accepted):
    # Given a quit reason holding a lone UTF-16 surrogate (a client that cut an emoji in half)
    body = '{"quit_reason": "%s"}' % LONE_SURROGATE
    before = snapshot(conn, redis_client)

    # When Sarah quits with it
    response = send_raw(api, "POST", f"/challenges/abandon/{accepted}", cast.sarah, body)

    # Then 422 naming quit_reason (as for a NUL character), no job, and the challenge is still on
    assert_problem(response, 422, "validation_error", "quit_reason")
    assert snapshot(conn, redis_client) == before
    assert_still_accepted(api, cast, accepted)


def test_a_rematch_message_with_half_an_emoji_is_refused(api, conn, redis_client, cast, lost):
    # Given a rematch message holding a lone UTF-16 surrogate
    body = '{"message": "%s"}' % LONE_SURROGATE
    before = snapshot(conn, redis_client)

    # When Sarah asks for a rematch with it
    response = send_raw(api, "POST", f"/challenges/retry/{lost}", cast.sarah, body)

    # Then 422 naming message, no job, and no new round
    assert_problem(response, 422, "validation_error", "message")
    assert snapshot(conn, redis_client) == before
    assert [c["id"] for c in chain(api, cast.sarah, lost)] == [lost]


def test_a_beat_this_message_with_half_an_emoji_is_refused(api, conn, redis_client, cast):
    # Given John's workout post in Sarah's feed, and a message holding a lone UTF-16 surrogate
    [post] = [item for item in api.get("/feed", cast.sarah).json["items"]
              if item["workout_log_id"] == cast.workout]
    body = '{"activity_id": "%s", "message": "%s"}' % (post["id"], LONE_SURROGATE)
    before = snapshot(conn, redis_client)

    # When Sarah takes the workout on with it
    response = send_raw(api, "POST", "/challenges/create", cast.sarah, body)

    # Then 422 naming message, no job, and she can still take it on
    assert_problem(response, 422, "validation_error", "message")
    assert snapshot(conn, redis_client) == before
    [post] = [item for item in api.get("/feed", cast.sarah).json["items"] if item["id"] == post["id"]]
    assert post["can_beat_this"] is True
