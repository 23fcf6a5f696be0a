"""What `dramatiq workers.app` loads: the broker, then every actor module."""

from workers import broker  # noqa: F401  (first: actors bind to the broker it sets)
from workers import (  # noqa: F401
    challenges, community, events, friends, habits, notifications, users, workouts)

ACTOR_MODULES = (challenges, community, events, friends, habits, notifications, users, workouts)
