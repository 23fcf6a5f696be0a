"""The cast most API tests start from, and the challenge between them in its first states."""

from types import SimpleNamespace

import pytest


@pytest.fixture
def cast(api):
    """John and Sarah are friends; Mike knows nobody; John has logged a workout of 30 min and
    10,000 lb."""
    john, sarah, mike = api.sign_up("John"), api.sign_up("Sarah"), api.sign_up("Mike")
    api.befriend(john, sarah)
    return SimpleNamespace(john=john, sarah=sarah, mike=mike,
                           workout=api.log_workout(john, minutes=30, volume=10000, unit="lb"))


@pytest.fixture
def pending(api, cast):
    """John challenges Sarah to beat his workout; she has not answered yet."""
    [challenge_id] = api.challenge(cast.john, [cast.sarah], cast.workout)
    return challenge_id


@pytest.fixture
def accepted(api, cast, pending):
    """The same challenge, accepted by Sarah."""
    assert api.post(f"/challenges/accept/{pending}", cast.sarah).status_code == 200
    return pending
