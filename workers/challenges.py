"""The actors of friend challenges: each carries out its rule of core/rules/challenges.py exactly
once per job, with this deployment's expiry and feed settings."""

from core.rules.challenges import (abandon_challenge, accept_challenge, beat_this, complete_challenge,
                                   create_challenges, decline_challenge, delete_challenge,
                                   retry_challenge)
from workers.broker import command
from workers.runtime import settings

TTL = {"ttl_seconds": settings.challenge_ttl_seconds}

create = command("challenges.create", create_challenges, **TTL)
beat = command("challenges.beat_this", beat_this, **TTL)
accept = command("challenges.accept", accept_challenge)
decline = command("challenges.decline", decline_challenge)
complete = command("challenges.complete", complete_challenge,
                   auto_post_to_feed=settings.auto_post_to_feed)
abandon = command("challenges.abandon", abandon_challenge)
delete = command("challenges.delete", delete_challenge)
retry = command("challenges.retry", retry_challenge, **TTL)
