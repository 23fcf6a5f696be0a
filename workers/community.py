"""The actors of community challenges: each carries out its rule of core/rules/community.py
exactly once per job."""

from core.rules.community import create_community_challenge, join_community_challenge
from workers.broker import command

create = command("community.create", create_community_challenge)
join = command("community.join", join_community_challenge)
