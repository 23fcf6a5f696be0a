"""The actors of profiles: each carries out its rule of core/rules/users.py
exactly once per job."""

from core.rules.users import update_profile
from workers.broker import command

update = command("users.update_profile", update_profile)
