"""Cursors are opaque and belong to their list (issue 25, item 6): each paginated list takes back
only the `next_cursor` it gave out; another list's cursor, a modified one or a forged one is a 422
naming `cursor` (docs/api.md, "Pagination")."""

import base64
import datetime as dt
import uuid

import pytest

from tests.api.support import assert_problem

LISTS = ["/workouts", "/feed", "/points", "/notifications", "/challenges/list", "/community-challenges"]


def with_cursor(path: str, cursor: str, limit: int = 1) -> str:
    return f"{path}?limit={limit}&cursor={cursor}"


def old_style_cursor(at: dt.datetime, row_id: str) -> str:
    """A cursor as anyone could make one by hand: base64 of `timestamp|uuid`."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


@pytest.fixture
def john_with_two_of_everything(api):
    """John with at least two rows in every paginated list: two workouts (so two feed posts and
    two point awards), two challenges from Jane (two received, two notifications) and two
    community challenges open to join."""
    john, jane, coach = api.sign_up("John"), api.sign_up("Jane"), api.sign_up("Coach")
    api.befriend(john, jane)
    api.log_workout(john, name="Legs")
    api.log_workout(john, name="Arms")
    for name in ("Push", "Pull"):
        api.challenge(jane, [john], api.log_workout(jane, name=name))
    api.create_community(coach, name="First")
    api.create_community(coach, name="Second")
    return john


def first_page(api, user: str, path: str) -> dict:
    response = api.get(f"{path}?limit=1", user)
    assert response.status_code == 200, response.text
    assert len(response.json["items"]) == 1 and response.json["next_cursor"], (path, response.json)
    return response.json


@pytest.mark.parametrize("path", LISTS)
def test_a_forged_cursor_is_refused(api, path):
    # Given John, and a cursor made by hand (a real-looking position: now, some id), never given out
    john = api.sign_up("John")
    forged = old_style_cursor(dt.datetime.now(dt.timezone.utc), str(uuid.uuid4()))

    # When a paginated list is read with it
    response = api.get(with_cursor(path, forged), john)

    # Then 422 naming `cursor`
    assert_problem(response, 422, "validation_error", "cursor")


def test_each_list_refuses_every_other_lists_cursor_and_takes_its_own(api, john_with_two_of_everything):
    john = john_with_two_of_everything
    # Given the cursor each paginated list gives John after a first page of one item
    firsts = {path: first_page(api, john, path) for path in LISTS}

    for path in LISTS:
        for source in LISTS:
            if source == path:
                continue
            # When a list is read with another list's cursor
            response = api.get(with_cursor(path, firsts[source]["next_cursor"]), john)

            # Then 422 naming `cursor`
            assert response.status_code == 422, (path, source, response.text)
            assert_problem(response, 422, "validation_error", "cursor")

        # And with its own cursor it answers the next page: another item than the first
        response = api.get(with_cursor(path, firsts[path]["next_cursor"]), john)
        assert response.status_code == 200, (path, response.text)
        assert response.json["items"] and response.json["items"][0] != firsts[path]["items"][0], path


def test_a_modified_cursor_is_refused(api):
    # Given John's second workout page's cursor
    john = api.sign_up("John")
    api.log_workout(john, name="Legs")
    api.log_workout(john, name="Arms")
    cursor = first_page(api, john, "/workouts")["next_cursor"]

    # When the workouts are read with it changed in one character, cut short, or lengthened
    flipped = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    for changed in (flipped, cursor[:-2], cursor + "AA", cursor + "=="):
        response = api.get(with_cursor("/workouts", changed), john)

        # Then 422 naming `cursor`
        assert_problem(response, 422, "validation_error", "cursor")


def test_a_cursor_from_an_api_with_another_key_is_refused(api):
    # Given a cursor the API gives John, and one made the same way with another signing key
    from api.validation import Cursors
    from api.resources.workouts import WORKOUTS

    john = api.sign_up("John")
    api.log_workout(john, name="Legs")
    api.log_workout(john, name="Arms")
    first = first_page(api, john, "/workouts")
    rows = api.get("/workouts?limit=2", john).json["items"]
    foreign = Cursors(b"another deployment's key").encode(
        WORKOUTS, dt.datetime.fromisoformat(rows[0]["performed_at"]), rows[0]["id"])
    assert len(foreign) == len(first["next_cursor"])

    # When the workouts are read with the foreign one
    response = api.get(with_cursor("/workouts", foreign), john)

    # Then 422 naming `cursor`
    assert_problem(response, 422, "validation_error", "cursor")
