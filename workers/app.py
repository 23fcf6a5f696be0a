"""What `dramatiq workers.app` loads: the broker, then every actor module."""

from workers import broker  # noqa: F401  (first: actors bind to the broker it sets)
from workers import challenges, events, friends, notifications, users, workouts  # noqa: F401

ACTOR_MODULES = (challenges, events, friends, notifications, users, workouts)
