"""The whole life of a friend challenge as both athletes meet it: created from a workout or
from the feed (BEAT THIS), accepted or declined, beaten, failed or quit, retried, withdrawn,
and what each side then sees in the challenge, the history tabs, the feed and notifications."""

import json
from types import SimpleNamespace

import pytest

from tests.api.support import assert_problem, new_id, snapshot

KG_PER_LB = 0.45359237
TARGET = {"duration_minutes": 30, "total_volume": 10000, "volume_unit": "lb"}
BEAT = {"duration_minutes": 28, "total_volume": 12500, "volume_unit": "lb"}
SHORT = {"duration_minutes": 31, "total_volume": 12500, "volume_unit": "lb"}
PRESETS = ["Too hard for me 😓", "Not feeling it today 😴", "This is impossible 😭",
           "I give up 🏳️", "Maybe next time 😅", "I'm not ready yet 🙈"]


# Helpers: each reads what a user would see ---------------------------------------------------

def _log(stats: dict) -> dict:
    return {"minutes": stats["duration_minutes"], "volume": stats["total_volume"],
            "unit": stats["volume_unit"]}


def post_workout(api, user, minutes=45, volume=80, unit="kg", name="Push Day") -> tuple[str, str]:
    """Log a workout; its workout_log_id and the id of its feed post."""
    response = api.post("/workouts", user, {"workout_name": name, "duration_minutes": minutes,
                                            "total_volume": volume, "volume_unit": unit})
    assert response.status_code == 201, response.text
    return response.json["workout_log_id"], response.json["activity_id"]


def beat_this(api, user, activity_id, **extra):
    return api.post("/challenges/create", user, {"activity_id": activity_id, **extra})


def view(api, user, challenge_id) -> dict:
    response = api.get(f"/challenges/{challenge_id}", user)
    assert response.status_code == 200, response.text
    return response.json


def complete(api, user, challenge_id, attempt):
    response = api.post(f"/challenges/complete/{challenge_id}", user, attempt)
    assert response.status_code == 200, response.text
    return response


def abandon(api, user, challenge_id, reason, **extra):
    response = api.post(f"/challenges/abandon/{challenge_id}", user, {"quit_reason": reason, **extra})
    assert response.status_code == 200, response.text
    return response


def history(api, user, **query) -> list[dict]:
    params = "&".join(f"{k}={v}" for k, v in {"limit": 100, **query}.items())
    response = api.get(f"/challenges/list?{params}", user)
    assert response.status_code == 200, response.text
    assert response.json["next_cursor"] is None
    return response.json["items"]


def feed(api, user) -> list[dict]:
    response = api.get("/feed?limit=100", user)
    assert response.status_code == 200, response.text
    return response.json["items"]


def kinds(api, user) -> list[str]:
    return [n["notification_type"] for n in api.notifications(user)]


def notification(api, user, kind) -> dict:
    [found] = [n for n in api.notifications(user) if n["notification_type"] == kind]
    return found


def unread(api, user) -> dict:
    response = api.get("/notifications?unread=true", user)
    assert response.status_code == 200, response.text
    return response.json


def challenge_in(api, sender, recipient, workout, state) -> str:
    """A challenge from `sender` to `recipient`, brought to `state` by the recipient:
    pending, accepted, declined, won (beaten), lost (attempted) or quit."""
    [challenge_id] = api.challenge(sender, [recipient], workout)
    if state == "declined":
        assert api.post(f"/challenges/decline/{challenge_id}", recipient).status_code == 200
    if state in {"accepted", "won", "lost", "quit"}:
        assert api.post(f"/challenges/accept/{challenge_id}", recipient).status_code == 200
    if state == "won":
        complete(api, recipient, challenge_id, BEAT)
    if state == "lost":
        complete(api, recipient, challenge_id, SHORT)
    if state == "quit":
        abandon(api, recipient, challenge_id, "Maybe next time 😅")
    return challenge_id


# Creating from a workout ---------------------------------------------------------------------

def test_challenging_friends_with_a_workout_makes_a_pending_challenge_for_each(api, cast):
    # Given Emma, another friend of John
    emma = api.sign_up("Emma")
    api.befriend(cast.john, emma)

    # When John challenges Sarah and Emma to beat his workout
    response = api.post("/challenges/create", cast.john,
                        {"to_user_ids": [cast.sarah, emma], "workout_log_id": cast.workout,
                         "message": "Beat this!"})

    # Then 201 with one pending challenge each, carrying his target and message
    assert response.status_code == 201, response.text
    sarahs, emmas = response.json["challenge_ids"]
    for recipient, challenge_id in ((cast.sarah, sarahs), (emma, emmas)):
        challenge = view(api, recipient, challenge_id)
        assert challenge["status"] == "pending" and challenge["result"] == "pending"
        assert challenge["direction"] == "received"
        assert challenge["opponent"]["id"] == cast.john
        assert challenge["opponent"]["display_name"] == "John"
        assert challenge["workout_name"] == "Beast Mode Legs"
        assert challenge["workout_data"] == {**TARGET, "total_volume_kg": round(10000 * KG_PER_LB, 3)}
        assert challenge["challenge_message"] == "Beat this!"
        assert challenge["is_retry"] is False and challenge["activity_id"] is None
        # and each was told, by John, about their own challenge
        received = notification(api, recipient, "challenge_received")
        assert received["challenge_id"] == challenge_id
        assert received["actor"]["id"] == cast.john
    # and John sees both as sent, each against its recipient
    sent = {c["id"]: c for c in history(api, cast.john, direction="sent")}
    assert set(sent) == {sarahs, emmas}
    assert sent[sarahs]["opponent"]["id"] == cast.sarah and sent[emmas]["opponent"]["id"] == emma
    assert {c["direction"] for c in sent.values()} == {"sent"}
    assert kinds(api, cast.john) == []


# BEAT THIS -----------------------------------------------------------------------------------

def test_beat_this_takes_on_a_friends_workout_post(api, cast):
    # Given Sarah's workout post in John's feed
    _, post = post_workout(api, cast.sarah, minutes=45, volume=80, unit="kg", name="Push Day")

    # When John taps BEAT THIS on it
    response = beat_this(api, cast.john, post, message="Watch me")

    # Then 201 with one challenge from Sarah to John, already accepted, with her workout as target
    assert response.status_code == 201, response.text
    [challenge_id] = response.json["challenge_ids"]
    challenge = view(api, cast.john, challenge_id)
    assert challenge["from_user_id"] == cast.sarah and challenge["to_user_id"] == cast.john
    assert challenge["status"] == "accepted" and challenge["accepted_at"] is not None
    assert challenge["direction"] == "received" and challenge["result"] == "in_progress"
    assert challenge["activity_id"] == post
    assert challenge["workout_name"] == "Push Day"
    assert challenge["workout_data"] == {"duration_minutes": 45, "total_volume": 80,
                                         "volume_unit": "kg", "total_volume_kg": 80}
    assert challenge["challenge_message"] == "Watch me"
    # and Sarah sees it as sent, and is told John accepted her workout
    assert view(api, cast.sarah, challenge_id)["direction"] == "sent"
    accepted_note = notification(api, cast.sarah, "challenge_accepted")
    assert accepted_note["challenge_id"] == challenge_id
    assert accepted_note["actor"]["id"] == cast.john
    # and John got no "challenge received": he started it
    assert kinds(api, cast.john) == []


def test_the_feed_offers_beat_this_only_on_friends_workouts_not_yet_taken_on(api, cast):
    # Given John's own workout post and Sarah's workout post, both in John's feed
    _, sarahs_post = post_workout(api, cast.sarah)
    johns_post = next(item["id"] for item in feed(api, cast.john) if item["user"]["id"] == cast.john)

    # When John looks at his feed, takes on Sarah's workout, and looks again
    before = {item["id"]: item["can_beat_this"] for item in feed(api, cast.john)}
    assert beat_this(api, cast.john, sarahs_post).status_code == 201
    after = {item["id"]: item["can_beat_this"] for item in feed(api, cast.john)}

    # Then only Sarah's post offered BEAT THIS, and no longer does
    assert before == {sarahs_post: True, johns_post: False}
    assert after == {sarahs_post: False, johns_post: False}
    # while Sarah's feed offers it on John's post, and not on her own
    sarahs_feed = {i["id"]: i["can_beat_this"] for i in feed(api, cast.sarah)}
    assert sarahs_feed == {sarahs_post: False, johns_post: True}


def test_another_friend_can_still_take_on_a_post_someone_else_took_on(api, cast):
    # Given Emma, another friend of Sarah, and John already took on Sarah's workout post
    emma = api.sign_up("Emma")
    api.befriend(emma, cast.sarah)
    _, post = post_workout(api, cast.sarah)
    [johns] = beat_this(api, cast.john, post).json["challenge_ids"]

    # When Emma looks at her feed and takes the same post on
    offered = [i["can_beat_this"] for i in feed(api, emma) if i["id"] == post]
    response = beat_this(api, emma, post)

    # Then it was still offered to her, and she has her own challenge against Sarah's workout
    assert offered == [True]
    assert response.status_code == 201, response.text
    [emmas] = response.json["challenge_ids"]
    assert emmas != johns
    emmas_challenge = view(api, emma, emmas)
    assert (emmas_challenge["from_user_id"], emmas_challenge["activity_id"]) == (cast.sarah, post)
    assert_problem(api.get(f"/challenges/{johns}", emma), 404, "not_found")
    assert kinds(api, cast.sarah) == ["challenge_accepted", "challenge_accepted"]


def test_beat_this_on_your_own_post_is_refused(api, conn, redis_client, cast):
    # Given John's own workout post
    _, own_post = post_workout(api, cast.john)
    before = snapshot(conn, redis_client)

    # When he taps BEAT THIS on it
    response = beat_this(api, cast.john, own_post)

    # Then 422 self_challenge on activity_id, and nothing changed
    assert_problem(response, 422, "self_challenge", "activity_id")
    assert snapshot(conn, redis_client) == before


@pytest.mark.parametrize("whose", ["stranger", "nobody"], ids=["a-strangers-post", "an-unknown-post"])
def test_beat_this_on_a_post_you_cannot_see_is_not_found(api, conn, redis_client, cast, whose):
    # Given a post by Mike, who is not John's friend, or a post id that does not exist
    post = post_workout(api, cast.mike)[1] if whose == "stranger" else new_id()
    before = snapshot(conn, redis_client)

    # When John takes it on
    response = beat_this(api, cast.john, post)

    # Then 404 not_found, nothing changed, and Mike hears of nothing
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before
    assert kinds(api, cast.mike) == []


def test_beat_this_twice_on_the_same_post_is_refused(api, conn, redis_client, cast):
    # Given John already took on Sarah's workout post
    _, post = post_workout(api, cast.sarah)
    [first] = beat_this(api, cast.john, post).json["challenge_ids"]
    before = snapshot(conn, redis_client)

    # When he taps BEAT THIS on it again
    response = beat_this(api, cast.john, post)

    # Then 409 already_challenged, nothing changed, and he still has the one challenge
    assert_problem(response, 409, "already_challenged")
    assert snapshot(conn, redis_client) == before
    assert [c["id"] for c in history(api, cast.john)] == [first]
    assert kinds(api, cast.sarah) == ["challenge_accepted"]


@pytest.mark.parametrize("extra", ["to_user_ids", "workout_log_id"])
def test_beat_this_mixed_with_a_direct_challenge_is_a_validation_error(api, conn, redis_client, cast, extra):
    # Given Sarah's workout post
    _, post = post_workout(api, cast.sarah)
    values = {"to_user_ids": [cast.sarah], "workout_log_id": cast.workout}
    before = snapshot(conn, redis_client)

    # When John sends activity_id together with a direct challenge's field
    response = beat_this(api, cast.john, post, **{extra: values[extra]})

    # Then 422 validation_error naming that field, and nothing changed
    assert_problem(response, 422, "validation_error", extra)
    assert snapshot(conn, redis_client) == before


def test_beat_this_on_a_result_post_is_refused(api, conn, redis_client, cast, accepted):
    # Given Sarah's challenge_completed post in John's feed
    complete(api, cast.sarah, accepted, SHORT)
    [result_post] = [i for i in feed(api, cast.john) if i["activity_type"] == "challenge_completed"]
    before = snapshot(conn, redis_client)

    # When John takes it on
    response = beat_this(api, cast.john, result_post["id"])

    # Then the feed never offered it, the answer is 422 not_a_workout, and nothing changed
    assert result_post["can_beat_this"] is False
    assert_problem(response, 422, "not_a_workout", "activity_id")
    assert snapshot(conn, redis_client) == before


# Accepting and declining ---------------------------------------------------------------------

def test_accepting_starts_the_challenge_and_tells_the_challenger(api, cast, pending):
    # Given John's pending challenge to Sarah
    # When Sarah accepts it
    response = api.post(f"/challenges/accept/{pending}", cast.sarah)

    # Then it is in progress for both, and John is told Sarah accepted
    assert response.status_code == 200, response.text
    for user in (cast.sarah, cast.john):
        challenge = view(api, user, pending)
        assert challenge["status"] == "accepted" and challenge["accepted_at"] is not None
        assert challenge["result"] == "in_progress"
    accepted_note = notification(api, cast.john, "challenge_accepted")
    assert accepted_note["challenge_id"] == pending and accepted_note["actor"]["id"] == cast.sarah


def test_declining_ends_the_challenge_and_tells_the_challenger(api, cast, pending):
    # Given John's pending challenge to Sarah
    # When Sarah declines it
    response = api.post(f"/challenges/decline/{pending}", cast.sarah)

    # Then it is declined for both, and John is told so by Sarah
    assert response.status_code == 200, response.text
    for user in (cast.sarah, cast.john):
        challenge = view(api, user, pending)
        assert challenge["status"] == "declined" and challenge["declined_at"] is not None
        assert challenge["result"] == "declined"
    assert kinds(api, cast.john) == ["challenge_declined"]
    declined_note = notification(api, cast.john, "challenge_declined")
    assert declined_note["challenge_id"] == pending and declined_note["actor"]["id"] == cast.sarah
    # and it can no longer be accepted
    assert_problem(api.post(f"/challenges/accept/{pending}", cast.sarah), 409, "invalid_state")


def test_the_challenger_cannot_decline_their_own_challenge(api, conn, redis_client, cast, pending):
    # Given John's pending challenge to Sarah
    before = snapshot(conn, redis_client)

    # When John declines it
    response = api.post(f"/challenges/decline/{pending}", cast.john)

    # Then 403 forbidden, and it is still pending
    assert_problem(response, 403, "forbidden")
    assert snapshot(conn, redis_client) == before
    assert view(api, cast.sarah, pending)["status"] == "pending"


def test_a_stranger_cannot_decline_a_challenge(api, conn, redis_client, cast, pending):
    # Given John's pending challenge to Sarah, and Mike who takes no part in it
    before = snapshot(conn, redis_client)

    # When Mike declines it
    response = api.post(f"/challenges/decline/{pending}", cast.mike)

    # Then 404 not_found, and it is still pending
    assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before
    assert view(api, cast.sarah, pending)["status"] == "pending"


@pytest.mark.parametrize("state", ["accepted", "declined"])
def test_only_a_pending_challenge_can_be_declined(api, conn, redis_client, cast, state):
    # Given a challenge Sarah already accepted or declined
    challenge_id = challenge_in(api, cast.john, cast.sarah, cast.workout, state)
    before = snapshot(conn, redis_client)

    # When she declines it
    response = api.post(f"/challenges/decline/{challenge_id}", cast.sarah)

    # Then 409 invalid_state, and it is as it was
    assert_problem(response, 409, "invalid_state")
    assert snapshot(conn, redis_client) == before
    assert view(api, cast.sarah, challenge_id)["status"] == state


# Completing: victory and attempt -------------------------------------------------------------

def test_beating_the_target_is_a_victory_for_the_challenged(api, cast, accepted):
    # Given Sarah accepted John's 30 min, 10,000 lb challenge
    # When she reports 28 min and 12,500 lb
    response = api.post(f"/challenges/complete/{accepted}", cast.sarah, BEAT)

    # Then she won: victory for her, failed for John, with the comparison both see
    assert response.status_code == 200, response.text
    sarahs, johns = view(api, cast.sarah, accepted), view(api, cast.john, accepted)
    assert sarahs["status"] == "completed" and sarahs["did_beat"] is True
    assert sarahs["completed_at"] is not None
    assert (sarahs["result"], johns["result"]) == ("victory", "failed")
    assert sarahs["comparison"] == johns["comparison"]
    assert sarahs["comparison"]["target"]["duration_minutes"] == 30
    assert sarahs["comparison"]["attempt"] == {**BEAT, "total_volume_kg": round(12500 * KG_PER_LB, 3)}
    assert sarahs["comparison"]["time_difference_minutes"] == 2
    assert sarahs["comparison"]["volume_difference_kg"] == pytest.approx(2500 * KG_PER_LB, abs=0.01)
    # and John is told his challenge was beaten, by Sarah
    beaten = notification(api, cast.john, "challenge_beaten")
    assert beaten["challenge_id"] == accepted and beaten["actor"]["id"] == cast.sarah
    assert beaten["data"]["did_beat"] is True
    assert "challenge_completed" not in kinds(api, cast.john)


def test_exactly_matching_the_target_in_other_units_is_a_victory(api, cast, accepted):
    # Given Sarah accepted John's 30 min, 10,000 lb challenge
    # When she reports exactly 30 min and the same volume in kilograms
    complete(api, cast.sarah, accepted, {"duration_minutes": 30, "total_volume": 4535.9237,
                                         "volume_unit": "kg"})

    # Then she beat it
    assert view(api, cast.sarah, accepted)["result"] == "victory"
    assert kinds(api, cast.john) == ["challenge_beaten", "challenge_accepted"]


def test_a_victory_is_posted_to_both_feeds(api, cast, accepted):
    # Given Sarah accepted John's challenge
    # When she beats it
    complete(api, cast.sarah, accepted, BEAT)

    # Then a challenge_victory post by Sarah, with both sides' numbers, heads both feeds
    for user in (cast.john, cast.sarah):
        newest = feed(api, user)[0]
        assert newest["activity_type"] == "challenge_victory"
        assert newest["user"]["id"] == cast.sarah
        assert newest["can_beat_this"] is False
        data = newest["activity_data"]
        assert {k: data[k] for k in ("workout_name", "challenger_name", "challenger_id",
                                     "challenge_id", "did_beat")} == {
            "workout_name": "Beast Mode Legs", "challenger_name": "John", "challenger_id": cast.john,
            "challenge_id": accepted, "did_beat": True}
        assert (data["your_duration"], data["your_volume"]) == (28, 12500)
        assert (data["their_duration"], data["their_volume"]) == (30, pytest.approx(10000, abs=0.01))
        assert data["time_difference"] == 2
        assert data["volume_difference"] == pytest.approx(2500, abs=0.01)


@pytest.mark.parametrize("attempt", [SHORT, {**BEAT, "total_volume": 9999},
                                     {**BEAT, "total_volume": 4535, "volume_unit": "kg"}],
                         ids=["too-slow", "too-light", "too-light-in-kg"])
def test_falling_short_is_an_attempt(api, cast, accepted, attempt):
    # Given Sarah accepted John's 30 min, 10,000 lb challenge
    # When she reports an attempt that is too slow or too light
    complete(api, cast.sarah, accepted, attempt)

    # Then it is completed without a win: failed for her, a victory for John
    sarahs, johns = view(api, cast.sarah, accepted), view(api, cast.john, accepted)
    assert sarahs["status"] == "completed" and sarahs["did_beat"] is False
    assert (sarahs["result"], johns["result"]) == ("failed", "victory")
    # and John is told of her attempt, not of a defeat
    assert kinds(api, cast.john) == ["challenge_completed", "challenge_accepted"]
    assert notification(api, cast.john, "challenge_completed")["challenge_id"] == accepted
    # and the feed shows a challenge_completed post by her, no victory
    posts = [i for i in feed(api, cast.john) if i["activity_type"] != "workout_completed"]
    assert [(p["activity_type"], p["user"]["id"]) for p in posts] == [("challenge_completed", cast.sarah)]
    assert posts[0]["activity_data"]["did_beat"] is False
    assert posts[0]["activity_data"]["challenge_id"] == accepted


# Quitting ------------------------------------------------------------------------------------

def test_quitting_with_a_preset_reason_tells_the_challenger_why(api, cast, accepted):
    # Given Sarah accepted John's challenge
    # When she quits with a preset reason and what she managed
    response = api.post(f"/challenges/abandon/{accepted}", cast.sarah,
                        {"quit_reason": PRESETS[0], "partial_stats": {
                            "duration_minutes": 12, "total_volume": 3000, "volume_unit": "lb"}})

    # Then it is abandoned, with the reason and her partial stats, for both of them
    assert response.status_code == 200, response.text
    for user in (cast.sarah, cast.john):
        challenge = view(api, user, accepted)
        assert challenge["status"] == "abandoned" and challenge["abandoned_at"] is not None
        assert challenge["result"] == "quit"
        assert challenge["quit_reason"] == PRESETS[0]
        assert challenge["partial_stats"]["duration_minutes"] == 12
        assert challenge["partial_stats"]["total_volume"] == 3000
        assert challenge["comparison"] is None
    # and John is told she quit, and why
    quit_note = notification(api, cast.john, "challenge_abandoned")
    assert quit_note["challenge_id"] == accepted and quit_note["actor"]["id"] == cast.sarah
    assert quit_note["data"]["quit_reason"] == PRESETS[0]


def test_a_custom_quit_reason_shows_in_both_histories_and_never_in_the_feed(api, cast, accepted):
    # Given Sarah accepted John's challenge
    reason = "Pulled a hamstring on set three, " + "x" * 167
    assert len(reason) == 200

    # When she quits in her own words, 200 characters
    abandon(api, cast.sarah, accepted, reason)

    # Then both find it, with the reason, under the quit tab
    for user, direction in ((cast.sarah, "received"), (cast.john, "sent")):
        [item] = history(api, user, filter="quit")
        assert (item["id"], item["direction"], item["quit_reason"]) == (accepted, direction, reason)
    # and John's notification carries it
    assert notification(api, cast.john, "challenge_abandoned")["data"]["quit_reason"] == reason
    # and no feed post (Sarah's or John's view) mentions it or announces the quit
    for user in (cast.sarah, cast.john):
        items = feed(api, user)
        assert [i["activity_type"] for i in items] == ["workout_completed"]
        assert "hamstring" not in json.dumps(items)


def test_a_third_user_cannot_see_a_quit_challenge(api, cast, accepted):
    # Given Mike, friends with John and with Sarah, and Sarah quits John's challenge
    api.befriend(cast.mike, cast.john)
    api.befriend(cast.mike, cast.sarah)
    abandon(api, cast.sarah, accepted, "Secret: I overslept")

    # When Mike looks for it
    response = api.get(f"/challenges/{accepted}", cast.mike)

    # Then it does not exist for him: not readable, not in his history, not in his notifications
    assert_problem(response, 404, "not_found")
    assert history(api, cast.mike) == []
    assert kinds(api, cast.mike) == []
    # and the reason appears nowhere in his feed
    assert "overslept" not in json.dumps(feed(api, cast.mike))


@pytest.mark.parametrize("who,state,body,status,code,field", [
    ("john", "accepted", {"quit_reason": PRESETS[1]}, 403, "forbidden", None),
    ("mike", "accepted", {"quit_reason": PRESETS[1]}, 404, "not_found", None),
    ("sarah", "pending", {"quit_reason": PRESETS[1]}, 409, "invalid_state", None),
    ("sarah", "lost", {"quit_reason": PRESETS[1]}, 409, "invalid_state", None),
    ("sarah", "accepted", {"quit_reason": "x" * 201}, 422, "validation_error", "quit_reason"),
    ("sarah", "accepted", {"quit_reason": "   "}, 422, "validation_error", "quit_reason"),
    ("sarah", "accepted", {}, 422, "validation_error", "quit_reason"),
    ("sarah", "accepted", {"quit_reason": PRESETS[1], "partial_stats": {
        "duration_minutes": -1, "total_volume": 0, "volume_unit": "lb"}},
     422, "validation_error", "partial_stats.duration_minutes"),
], ids=["by-the-challenger", "by-a-stranger", "while-pending", "once-completed",
        "reason-too-long", "reason-blank", "no-reason", "negative-partial-stats"])
def test_quitting_is_refused(api, conn, redis_client, cast, who, state, body, status, code, field):
    # Given a challenge from John to Sarah in some state
    challenge_id = challenge_in(api, cast.john, cast.sarah, cast.workout, state)
    expected = view(api, cast.sarah, challenge_id)
    before = snapshot(conn, redis_client)

    # When someone quits it, or Sarah quits it with a bad reason or bad partial stats
    response = api.post(f"/challenges/abandon/{challenge_id}", getattr(cast, who), body)

    # Then the problem names why, and the challenge is exactly as it was
    assert_problem(response, status, code, *([field] if field else []))
    assert snapshot(conn, redis_client) == before
    assert view(api, cast.sarah, challenge_id) == expected


def test_the_quit_dialog_offers_six_presets_and_a_custom_reason(api, cast):
    # Given Sarah
    # When she opens the quit dialog
    response = api.get("/challenges/quit-reasons", cast.sarah)

    # Then the six presets in order, label and text alike, then the custom entry
    assert response.status_code == 200, response.text
    items = response.json["items"]
    assert [(i["label"], i["text"]) for i in items[:6]] == [(p, p) for p in PRESETS]
    assert all(i.get("custom") in (False, None) for i in items[:6])
    assert items[6] == {"label": "Custom reason...", "text": None, "custom": True, "max_length": 200}
    assert len(items) == 7


def test_every_preset_quit_reason_is_accepted(api, cast):
    # Given six accepted challenges from John to Sarah
    challenge_ids = [challenge_in(api, cast.john, cast.sarah, cast.workout, "accepted") for _ in PRESETS]

    # When Sarah quits each with another preset
    for challenge_id, reason in zip(challenge_ids, PRESETS):
        abandon(api, cast.sarah, challenge_id, reason)

    # Then John's quit tab shows each reason exactly as given
    quit_tab = {c["id"]: c["quit_reason"] for c in history(api, cast.john, filter="quit")}
    assert quit_tab == dict(zip(challenge_ids, PRESETS))


# History -------------------------------------------------------------------------------------

@pytest.fixture
def every_state(api, cast):
    """Sarah has received one challenge from John in each state, and sent him one in each."""
    sarahs_workout = api.log_workout(cast.sarah, **_log(TARGET))
    states = ["pending", "accepted", "declined", "won", "lost", "quit"]
    received = {s: challenge_in(api, cast.john, cast.sarah, cast.workout, s) for s in states}
    sent = {s: challenge_in(api, cast.sarah, cast.john, sarahs_workout, s) for s in states}
    return SimpleNamespace(received=received, sent=sent)


def test_history_tabs_hold_exactly_the_right_challenges_in_both_directions(api, cast, every_state):
    # Given Sarah's six received and six sent challenges, one in each state
    r, s = every_state.received, every_state.sent
    # (a sent challenge is won when John did not beat it, lost when he did)
    tabs = {"all": set(r.values()) | set(s.values()),
            "won": {r["won"], s["lost"]},
            "lost": {r["lost"], s["won"]},
            "quit": {r["quit"], s["quit"]},
            "pending": {r["pending"], r["accepted"], s["pending"], s["accepted"]}}
    received, sent = set(r.values()), set(s.values())

    # When she opens each tab, for all, sent and received
    # Then each holds exactly the challenges it should
    for tab, expected in tabs.items():
        for direction, mine in (("all", received | sent), ("sent", sent), ("received", received)):
            got = [c["id"] for c in history(api, cast.sarah, direction=direction, filter=tab)]
            assert len(got) == len(set(got)), (tab, direction)
            assert set(got) == expected & mine, (tab, direction)


def test_history_results_are_from_the_callers_side(api, cast, every_state):
    # Given Sarah's six received and six sent challenges, one in each state
    r, s = every_state.received, every_state.sent

    # When Sarah and John each open their whole history
    sarahs = {c["id"]: c for c in history(api, cast.sarah)}
    johns = {c["id"]: c for c in history(api, cast.john)}

    # Then each result is from the reader's side
    side = {"pending": "pending", "accepted": "in_progress", "declined": "declined", "quit": "quit"}
    for state in ("pending", "accepted", "declined", "won", "lost", "quit"):
        challenged = {"won": "victory", "lost": "failed"}.get(state, side.get(state))
        challenger = {"won": "failed", "lost": "victory"}.get(state, side.get(state))
        assert (sarahs[r[state]]["result"], johns[r[state]]["result"]) == (challenged, challenger), state
        assert (sarahs[s[state]]["result"], johns[s[state]]["result"]) == (challenger, challenged), state
        assert (sarahs[r[state]]["direction"], sarahs[s[state]]["direction"]) == ("received", "sent")
    # and the opponent is always the other one
    assert {c["opponent"]["id"] for c in sarahs.values()} == {cast.john}
    assert {c["opponent"]["id"] for c in johns.values()} == {cast.sarah}
    assert {c["opponent"]["display_name"] for c in sarahs.values()} == {"John"}


def test_history_is_newest_first_with_comparison_only_for_completed(api, cast, every_state):
    # Given Sarah's twelve challenges, created one after another (received first, then sent)
    created = list(every_state.received.values()) + list(every_state.sent.values())

    # When she opens her whole history
    items = history(api, cast.sarah)

    # Then the newest comes first
    assert [c["id"] for c in items] == created[::-1]
    # and only completed ones compare target and attempt, from the challenged athlete's side
    by_id = {c["id"]: c for c in items}
    for challenge_id in created:
        item = by_id[challenge_id]
        if item["status"] != "completed":
            assert item["comparison"] is None, item["status"]
            continue
        comparison = item["comparison"]
        assert comparison["target"]["duration_minutes"] == 30
        assert comparison["attempt"]["duration_minutes"] in (28, 31)
        assert comparison["time_difference_minutes"] == 30 - comparison["attempt"]["duration_minutes"]
        assert comparison["volume_difference_kg"] == pytest.approx(2500 * KG_PER_LB, abs=0.01)
    # and the quit ones carry their reason
    assert by_id[every_state.received["quit"]]["quit_reason"] == "Maybe next time 😅"
    assert by_id[every_state.sent["quit"]]["quit_reason"] == "Maybe next time 😅"


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_history_pages_walk_every_challenge_once(api, cast, limit):
    # Given seven challenges between Sarah and John, sent both ways
    sarahs_workout = api.log_workout(cast.sarah)
    created = []
    for n in range(7):
        sender, recipient, workout = ((cast.john, cast.sarah, cast.workout) if n % 2
                                      else (cast.sarah, cast.john, sarahs_workout))
        created += api.challenge(sender, [recipient], workout)

    # When Sarah walks her history page by page
    seen, cursor, pages = [], None, 0
    while True:
        query = f"/challenges/list?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = api.get(query, cast.sarah)
        assert response.status_code == 200, response.text
        assert len(response.json["items"]) <= limit
        seen += [c["id"] for c in response.json["items"]]
        cursor, pages = response.json["next_cursor"], pages + 1
        if cursor is None or pages > 10:
            break

    # Then she saw every challenge exactly once, newest first
    assert seen == created[::-1]


def test_history_pages_through_challenges_created_at_the_same_moment(api, cast):
    # Given John challenged five friends at once (one moment, five challenges), and Sarah
    # then challenged him twice
    friends = [cast.sarah] + [api.sign_up(f"Friend {n}") for n in range(4)]
    for friend in friends[1:]:
        api.befriend(cast.john, friend)
    at_once = api.challenge(cast.john, friends, cast.workout)
    sarahs_workout = api.log_workout(cast.sarah)
    later = [api.challenge(cast.sarah, [cast.john], sarahs_workout)[0] for _ in range(2)]
    everything = history(api, cast.john)

    # When John walks his history two at a time
    seen, cursor = [], None
    for _ in range(10):
        response = api.get("/challenges/list?limit=2" + (f"&cursor={cursor}" if cursor else ""), cast.john)
        assert response.status_code == 200, response.text
        seen += [c["id"] for c in response.json["items"]]
        cursor = response.json["next_cursor"]
        if cursor is None:
            break

    # Then he saw all seven exactly once, in the order of the whole list, the two later ones first
    assert seen == [c["id"] for c in everything]
    assert len(seen) == 7 and set(seen) == set(at_once) | set(later)
    assert seen[:2] == later[::-1]


def test_history_pages_within_a_tab_and_direction(api, cast):
    # Given five challenges Sarah received, three of them accepted, and two she sent
    sarahs_workout = api.log_workout(cast.sarah)
    received = [challenge_in(api, cast.john, cast.sarah, cast.workout, s)
                for s in ("accepted", "declined", "pending", "accepted", "declined")]
    api.challenge(cast.sarah, [cast.john], sarahs_workout)
    api.challenge(cast.sarah, [cast.john], sarahs_workout)

    # When she walks her received, pending tab two at a time
    seen, cursor = [], None
    for _ in range(5):
        query = "/challenges/list?direction=received&filter=pending&limit=2"
        response = api.get(query + (f"&cursor={cursor}" if cursor else ""), cast.sarah)
        assert response.status_code == 200, response.text
        seen += [c["id"] for c in response.json["items"]]
        cursor = response.json["next_cursor"]
        if cursor is None:
            break

    # Then she saw exactly the three received pending or accepted ones, newest first
    assert seen == [received[3], received[2], received[0]]


# Retry and chain -----------------------------------------------------------------------------

def test_retrying_a_lost_challenge_starts_round_two(api, cast, accepted):
    # Given Sarah fell short of John's challenge
    complete(api, cast.sarah, accepted, SHORT)
    original = view(api, cast.sarah, accepted)

    # When she asks for a rematch, without a body
    response = api.post(f"/challenges/retry/{accepted}", cast.sarah)

    # Then 201 with a new challenge, from John to her, already accepted, against the same target
    assert response.status_code == 201, response.text
    [rematch_id] = response.json["challenge_ids"]
    rematch = view(api, cast.sarah, rematch_id)
    assert rematch_id != accepted
    assert (rematch["from_user_id"], rematch["to_user_id"]) == (cast.john, cast.sarah)
    assert rematch["status"] == "accepted" and rematch["result"] == "in_progress"
    assert rematch["is_retry"] is True and rematch["retried_from_challenge_id"] == accepted
    assert rematch["workout_data"] == original["workout_data"]
    assert rematch["workout_name"] == original["workout_name"]
    assert rematch["challenge_message"] == "Round 2! 💪"
    # and the original counts one retry and keeps its result
    after = view(api, cast.sarah, accepted)
    assert after["retry_count"] == 1 and after["result"] == "failed"
    # and John is told Sarah wants another go
    retried = notification(api, cast.john, "challenge_retried")
    assert retried["challenge_id"] == rematch_id and retried["actor"]["id"] == cast.sarah
    # and Sarah, who asked for it, is told of nothing new
    assert [(n["notification_type"], n["challenge_id"]) for n in api.notifications(cast.sarah)] == [
        ("challenge_received", accepted)]


def test_a_quit_challenge_can_be_retried_and_the_chain_grows(api, cast, accepted):
    # Given Sarah quit John's challenge, retried it with her own message, and fell short again
    abandon(api, cast.sarah, accepted, PRESETS[2])
    retried = api.post(f"/challenges/retry/{accepted}", cast.sarah, {"message": "Again!"})
    [round2] = retried.json["challenge_ids"]
    complete(api, cast.sarah, round2, SHORT)

    # When she retries round two
    response = api.post(f"/challenges/retry/{round2}", cast.sarah, {})

    # Then round three starts with its default message, and her own message was kept for round two
    assert response.status_code == 201, response.text
    [round3] = response.json["challenge_ids"]
    assert view(api, cast.sarah, round2)["challenge_message"] == "Again!"
    assert view(api, cast.sarah, round3)["challenge_message"] == "Round 3! 💪"
    assert view(api, cast.sarah, round3)["retried_from_challenge_id"] == round2
    assert view(api, cast.sarah, round2)["retry_count"] == 1
    # and the chain is the same, original first, whichever round either of them asks about
    for user in (cast.sarah, cast.john):
        answers = []
        for member in (accepted, round2, round3):
            chain = api.get(f"/challenges/{member}/chain", user)
            assert chain.status_code == 200, chain.text
            answers.append(chain.json)
        assert answers[0] == answers[1] == answers[2]
        assert answers[0]["root_challenge_id"] == accepted
        items = answers[0]["items"]
        assert [(c["id"], c["depth"]) for c in items] == [(accepted, 0), (round2, 1), (round3, 2)]
        assert [c["result"] for c in items][0] == "quit"
    # and John was told of each retry
    assert kinds(api, cast.john).count("challenge_retried") == 2


def test_a_beat_this_challenge_can_be_retried_but_not_taken_on_again(api, conn, redis_client, cast):
    # Given John took on Sarah's workout post and quit
    _, post = post_workout(api, cast.sarah)
    [first] = beat_this(api, cast.john, post).json["challenge_ids"]
    abandon(api, cast.john, first, PRESETS[4])

    # When he asks for a rematch
    response = api.post(f"/challenges/retry/{first}", cast.john)

    # Then round two is on, from Sarah's post, and Sarah is told
    assert response.status_code == 201, response.text
    [rematch] = response.json["challenge_ids"]
    challenge = view(api, cast.john, rematch)
    assert (challenge["status"], challenge["is_retry"], challenge["activity_id"]) == ("accepted", True, post)
    assert challenge["from_user_id"] == cast.sarah
    assert kinds(api, cast.sarah) == ["challenge_retried", "challenge_abandoned", "challenge_accepted"]
    # but the feed still does not offer BEAT THIS on that post, and tapping it is refused
    assert [i["can_beat_this"] for i in feed(api, cast.john) if i["id"] == post] == [False]
    before = snapshot(conn, redis_client)
    assert_problem(beat_this(api, cast.john, post), 409, "already_challenged")
    assert snapshot(conn, redis_client) == before


def test_a_stranger_cannot_read_a_chain(api, cast, accepted):
    # Given Sarah quit John's challenge and retried it
    abandon(api, cast.sarah, accepted, PRESETS[3])
    assert api.post(f"/challenges/retry/{accepted}", cast.sarah).status_code == 201

    # When Mike asks for its chain
    response = api.get(f"/challenges/{accepted}/chain", cast.mike)

    # Then 404 not_found
    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("who,state,status", [
    ("sarah", "pending", 409), ("sarah", "accepted", 409), ("sarah", "declined", 409),
    ("john", "lost", 403), ("mike", "lost", 404),
], ids=["pending", "in-progress", "declined", "by-the-challenger", "by-a-stranger"])
def test_retrying_is_refused(api, conn, redis_client, cast, who, state, status):
    # Given a challenge from John to Sarah in some state
    challenge_id = challenge_in(api, cast.john, cast.sarah, cast.workout, state)
    expected = view(api, cast.sarah, challenge_id)
    before = snapshot(conn, redis_client)

    # When someone asks for a rematch of it
    response = api.post(f"/challenges/retry/{challenge_id}", getattr(cast, who))

    # Then it is refused, nothing changed, and the challenge has no retry
    assert_problem(response, status, {403: "forbidden", 404: "not_found", 409: "invalid_state"}[status])
    assert snapshot(conn, redis_client) == before
    assert view(api, cast.sarah, challenge_id) == expected


def test_a_round_that_was_already_retried_cannot_be_retried_again(api, conn, redis_client, cast, accepted):
    # Given Sarah fell short and already retried that round
    complete(api, cast.sarah, accepted, SHORT)
    [round2] = api.post(f"/challenges/retry/{accepted}", cast.sarah).json["challenge_ids"]
    chain = api.get(f"/challenges/{accepted}/chain", cast.sarah).json
    before, johns = snapshot(conn, redis_client), kinds(api, cast.john)

    # When she retries the first round again
    response = api.post(f"/challenges/retry/{accepted}", cast.sarah)

    # Then 409 invalid_state: the chain did not fork, and John heard nothing new
    assert_problem(response, 409, "invalid_state")
    assert snapshot(conn, redis_client) == before
    assert api.get(f"/challenges/{round2}/chain", cast.sarah).json == chain
    assert kinds(api, cast.john) == johns


# Withdrawing ---------------------------------------------------------------------------------

def test_withdrawing_a_pending_challenge_makes_it_disappear(api, cast, pending):
    # Given John's pending challenge, announced to Sarah
    assert unread(api, cast.sarah)["unread_count"] == 1

    # When John deletes it
    response = api.delete(f"/challenges/{pending}", cast.john)

    # Then it is gone for both, from the challenge, the history and Sarah's notifications
    assert response.status_code == 200, response.text
    for user in (cast.john, cast.sarah):
        assert_problem(api.get(f"/challenges/{pending}", user), 404, "not_found")
        assert history(api, user) == []
    assert kinds(api, cast.sarah) == []
    assert unread(api, cast.sarah)["unread_count"] == 0
    # and Sarah can no longer accept it
    assert_problem(api.post(f"/challenges/accept/{pending}", cast.sarah), 409, "invalid_state")


@pytest.mark.parametrize("who,state,status,code", [
    ("sarah", "pending", 403, "forbidden"),
    ("mike", "pending", 404, "not_found"),
    ("john", "accepted", 409, "invalid_state"),
    ("john", "declined", 409, "invalid_state"),
    ("john", "won", 409, "invalid_state"),
], ids=["by-the-challenged", "by-a-stranger", "once-accepted", "once-declined", "once-completed"])
def test_withdrawing_is_refused(api, conn, redis_client, cast, who, state, status, code):
    # Given a challenge from John to Sarah in some state
    challenge_id = challenge_in(api, cast.john, cast.sarah, cast.workout, state)
    expected = view(api, cast.john, challenge_id)
    before = snapshot(conn, redis_client)

    # When someone deletes it
    response = api.delete(f"/challenges/{challenge_id}", getattr(cast, who))

    # Then it is refused and the challenge is still there, unchanged
    assert_problem(response, status, code)
    assert snapshot(conn, redis_client) == before
    assert view(api, cast.john, challenge_id) == expected


# Notifications -------------------------------------------------------------------------------

def test_every_event_notifies_the_other_athlete(api, cast):
    # Given John's challenges to Sarah, and a workout post of Sarah's
    _, sarahs_post = post_workout(api, cast.sarah)
    declined = challenge_in(api, cast.john, cast.sarah, cast.workout, "declined")
    beaten = challenge_in(api, cast.john, cast.sarah, cast.workout, "won")
    attempted = challenge_in(api, cast.john, cast.sarah, cast.workout, "lost")
    quit_ = challenge_in(api, cast.john, cast.sarah, cast.workout, "quit")

    # When Sarah retries the quit one, and John takes on her workout post
    [rematch] = api.post(f"/challenges/retry/{quit_}", cast.sarah).json["challenge_ids"]
    [beat] = beat_this(api, cast.john, sarahs_post).json["challenge_ids"]

    # Then John was told of each of Sarah's moves, newest first, each by her
    johns = api.notifications(cast.john)
    assert [(n["notification_type"], n["challenge_id"]) for n in johns] == [
        ("challenge_retried", rematch),
        ("challenge_abandoned", quit_), ("challenge_accepted", quit_),
        ("challenge_completed", attempted), ("challenge_accepted", attempted),
        ("challenge_beaten", beaten), ("challenge_accepted", beaten),
        ("challenge_declined", declined)]
    assert {n["actor"]["id"] for n in johns} == {cast.sarah}
    assert {n["data"]["workout_name"] for n in johns} == {"Beast Mode Legs"}
    # and Sarah of each challenge she received and of John taking on her workout
    sarahs = api.notifications(cast.sarah)
    assert [(n["notification_type"], n["challenge_id"]) for n in sarahs] == [
        ("challenge_accepted", beat),
        ("challenge_received", quit_), ("challenge_received", attempted),
        ("challenge_received", beaten), ("challenge_received", declined)]
    assert {n["actor"]["id"] for n in sarahs} == {cast.john}
    assert all(n["is_read"] is False and n["read_at"] is None for n in johns + sarahs)


def test_reading_one_notification_lowers_the_unread_count(api, cast):
    # Given three challenges John sent Sarah, all unread
    for _ in range(3):
        api.challenge(cast.john, [cast.sarah], cast.workout)
    first = unread(api, cast.sarah)
    assert first["unread_count"] == 3 and len(first["items"]) == 3
    target = first["items"][1]

    # When she reads one, twice
    assert api.post(f"/notifications/{target['id']}/read", cast.sarah).status_code == 200
    assert api.post(f"/notifications/{target['id']}/read", cast.sarah).status_code == 200

    # Then two remain unread, and the one she read shows as read with its time
    after = unread(api, cast.sarah)
    assert after["unread_count"] == 2
    assert [n["id"] for n in after["items"]] == [first["items"][0]["id"], first["items"][2]["id"]]
    [read] = [n for n in api.notifications(cast.sarah) if n["id"] == target["id"]]
    assert read["is_read"] is True and read["read_at"] is not None


def test_reading_all_notifications_clears_the_unread_count(api, cast, pending):
    # Given Sarah has three unread notifications, one already read
    for _ in range(3):
        api.challenge(cast.john, [cast.sarah], cast.workout)
    first = api.notifications(cast.sarah)[0]
    assert api.post(f"/notifications/{first['id']}/read", cast.sarah).status_code == 200
    assert unread(api, cast.sarah)["unread_count"] == 3

    # When she marks all read
    response = api.post("/notifications/read-all", cast.sarah)

    # Then the three were marked, none is unread, and all four are still listed
    assert response.status_code == 200, response.text
    assert response.json["result"] == {"marked_read": 3}
    after = unread(api, cast.sarah)
    assert (after["unread_count"], after["items"]) == (0, [])
    assert [n["is_read"] for n in api.notifications(cast.sarah)] == [True] * 4
    # and John's notifications were left alone
    assert api.post(f"/challenges/accept/{pending}", cast.sarah).status_code == 200
    assert unread(api, cast.john)["unread_count"] == 1
    # and marking all read again marks nothing
    assert api.post("/notifications/read-all", cast.sarah).json["result"] == {"marked_read": 0}


def test_reading_someone_elses_notification_is_not_found(api, conn, redis_client, cast, pending):
    # Given Sarah's unread challenge_received notification
    [note] = api.notifications(cast.sarah)
    before = snapshot(conn, redis_client)

    # When John and then Mike mark it read
    for other in (cast.john, cast.mike):
        response = api.post(f"/notifications/{note['id']}/read", other)

        # Then 404 not_found, nothing changed, and it is still unread for Sarah
        assert_problem(response, 404, "not_found")
    assert snapshot(conn, redis_client) == before
    assert unread(api, cast.sarah)["unread_count"] == 1


# Unfriending ---------------------------------------------------------------------------------

def test_unfriending_keeps_the_challenge_history(api, cast):
    # Given challenges between John and Sarah in several states, a retry among them
    ids = {s: challenge_in(api, cast.john, cast.sarah, cast.workout, s)
           for s in ("pending", "declined", "won", "lost", "quit")}
    [rematch] = api.post(f"/challenges/retry/{ids['quit']}", cast.sarah).json["challenge_ids"]
    before = {user: {c["id"]: c for c in history(api, user)} for user in (cast.john, cast.sarah)}
    notes = {user: api.notifications(user) for user in (cast.john, cast.sarah)}

    # When Sarah removes John as a friend
    assert api.delete(f"/friends/{cast.john}", cast.sarah).status_code == 200

    # Then both still have the same history, every challenge readable, the chain and notifications
    for user in (cast.john, cast.sarah):
        assert {c["id"]: c for c in history(api, user)} == before[user]
        assert set(before[user]) == set(ids.values()) | {rematch}
        for challenge_id in before[user]:
            single = view(api, user, challenge_id)
            assert {k: v for k, v in single.items() if k not in ("encouragement", "difficulty")} == before[user][challenge_id]
        chain = api.get(f"/challenges/{rematch}/chain", user)
        assert chain.status_code == 200, chain.text
        assert [c["id"] for c in chain.json["items"]] == [ids["quit"], rematch]
        assert api.notifications(user) == notes[user]
    # and the tabs still sort them from each side
    assert {c["id"] for c in history(api, cast.sarah, filter="won")} == {ids["won"]}
    assert {c["id"] for c in history(api, cast.john, filter="won")} == {ids["lost"]}
