"""The actors of notifications: each carries out its rule of core/rules/notifications.py
exactly once per job."""

from core.rules.notifications import mark_all_read, mark_read
from workers.broker import command

read = command("notifications.read", mark_read)
read_all = command("notifications.read_all", mark_all_read)
