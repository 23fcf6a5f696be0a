"""The actors of habit logs: each carries out its rule of core/rules/habits.py
exactly once per job."""

from core.rules.habits import log_habit
from workers.broker import command

log = command("habits.log", log_habit)
