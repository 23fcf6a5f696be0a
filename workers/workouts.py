"""The actors of workout logs: each carries out its rule of core/rules/workouts.py
exactly once per job."""

from core.rules.workouts import log_workout
from workers.broker import command

log = command("workouts.log", log_workout)
