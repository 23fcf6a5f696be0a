"""The actors of friendships: each carries out its rule of core/rules/friends.py
exactly once per job."""

from core.rules.friends import accept_friendship, remove_friendship, request_friendship
from workers.broker import command

request = command("friends.request", request_friendship)
accept = command("friends.accept", accept_friendship)
remove = command("friends.remove", remove_friendship)
