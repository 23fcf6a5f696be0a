"""What a worker process shares between its actors: settings, the pool, Redis, the job store.

Everything is built from the environment on import but connects lazily, so importing this in
the parent of a forking process opens nothing.
"""

import logging

import redis

from settings import Settings
from workers.commands import JobStore, run_command
from workers.db import Database
from workers.outbox import publish_transaction

settings = Settings.from_env()
logging.basicConfig(level=settings.log_level)
logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per ChromaDB request otherwise
redis_client = redis.Redis.from_url(settings.redis_url)
db = Database(settings.database_url, max_size=settings.worker_pool_size)
jobs = JobStore(redis_client, settings)


def execute(job_id: str, actor_name: str, user_id: str, effect) -> list[str]:
    """Run a command exactly once, publish its outbox events, then tell waiting clients.
    Returns the ids of the events it published."""
    published = []
    with db.connection() as conn:
        outcome, xact_id = run_command(conn, job_id=job_id, actor_name=actor_name,
                                       user_id=user_id, effect=effect)
        if xact_id is not None:
            published = publish_transaction(conn, redis_client, settings, xact_id)
    jobs.finish(job_id, user_id, outcome)
    return published
