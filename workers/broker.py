"""The one broker module: imported before any actor, so every actor binds to this broker.

Delivery tuning (see docs/operations.md, "Failure modes"):
- A worker's heartbeat is refreshed on every Redis command it makes (idle consumers poll every
  `worker-timeout` ms). After HEARTBEAT_TIMEOUT_MS without one, the next maintenance pass run
  by a live worker puts the dead worker's unacknowledged messages back on their queue.
  MAINTENANCE_CHANCE makes that pass happen about once every ten seconds per idle worker, so a
  killed worker's messages come back within about 30 to 45 seconds.
- Retries only for transient faults (lost connections, deadlocks, serialization failures), with
  exponential backoff between MIN_BACKOFF_MS and MAX_BACKOFF_MS, at most MAX_RETRIES times. A
  broken business rule is not an exception here: the command records it and returns.
"""

from itertools import chain

import dramatiq
import psycopg
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware, Retries, TimeLimit, ShutdownNotifications, AgeLimit

from core.commands import COMMAND_QUEUE
from core.connections import UNAVAILABLE, unavailable_service
from core.logs import clear_log_context, configure_logging, start_log_context
from core.outbox import schedule_indexing
from workers.metrics import MetricsAtBoot, worker_metrics
from workers.runtime import tell_redis, execute, jobs, redis_client, settings

HEARTBEAT_TIMEOUT_MS = 30_000
MAINTENANCE_CHANCE = 10_000  # per million Redis commands
MAX_RETRIES = 8
MIN_BACKOFF_MS = 200
MAX_BACKOFF_MS = 30_000
TIME_LIMIT_MS = 60_000

# A conflict with a concurrent transaction, which a second try resolves.
CONFLICTS = (
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    # Two commands inserting the same pair at once (two friend requests crossing): the retry
    # runs the rule again and finds the other's row.
    psycopg.errors.UniqueViolation,
)
# Retried: conflicts, and a service out of reach (ChromaDB's HTTP client is httpx).
TRANSIENT_ERRORS = (*CONFLICTS, *chain.from_iterable(UNAVAILABLE.values()))


def transient_within(max_retries: int):
    def is_transient(retries: int, exception: BaseException) -> bool:
        return retries <= max_retries and isinstance(exception, TRANSIENT_ERRORS)

    return is_transient


is_transient = transient_within(MAX_RETRIES)


def failure(exception: BaseException) -> dict:
    """The error a job that could not be carried out ends with: through every retry, a conflict
    (409) or a service out of reach (503, naming it) is worth trying again later; anything else
    is our fault (500). Nothing was changed in any case."""
    if isinstance(exception, CONFLICTS):  # first: some are OperationalErrors too
        return {"code": "conflict", "status": 409,
                "detail": "The command kept conflicting with other changes through every retry; "
                          "nothing was changed. Try again."}
    dependency = unavailable_service(exception)
    if dependency:
        return {"code": "service_unavailable", "status": 503, "dependency": dependency,
                "detail": "A service the command needs stayed unavailable through every retry; "
                          "nothing was changed. Try again later."}
    return {"code": "internal_error", "status": 500,
            "detail": "The command could not be carried out; nothing was changed."}


class JobTracking(Middleware):
    """Moves a command's job to `running` when a worker picks it up, and to `failed` when it
    could not be carried out at all (retries exhausted, or a fault that is not transient).
    Both are told to waiting clients only; a lost status is no reason to fail the command."""

    def before_process_message(self, broker, message):
        if "job_id" in message.kwargs:
            tell_redis(message.message_id, "marking it running",
                         lambda: jobs.mark_running(message.message_id))

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is not None and message.failed and "job_id" in message.kwargs:
            outcome = {"status": "failed", "result": None, "error": failure(exception)}
            worker_metrics().command_finished(message.actor_name, outcome)
            tell_redis(message.message_id, "recording its failure", lambda: jobs.finish(
                message.message_id, message.kwargs.get("user_id", ""), outcome))


class CommandLogging(Middleware):
    """The worker's side: sets up logging as a worker process boots (Dramatiq has configured its
    own text lines by then; importing the actors configures nothing, so tests keep theirs), and
    binds each message's request id, job, actor and caller to the lines of its processing."""

    def __init__(self, settings):
        self.settings = settings

    def after_process_boot(self, broker) -> None:
        configure_logging(self.settings)

    def before_process_message(self, broker, message) -> None:
        start_log_context(request_id=message.options.get("request_id"),
                          job_id=message.kwargs.get("job_id"), actor=message.actor_name,
                          user_id=message.kwargs.get("user_id"))

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        clear_log_context()

    def after_skip_message(self, broker, message) -> None:
        clear_log_context()


# Replaces a dead letter's body only while it is still dead (a retry may have moved it already).
REPLACE_IF_DEAD = ('if redis.call("hexists", KEYS[1], ARGV[1]) == 1 then '
                   'redis.call("hset", KEYS[1], ARGV[1], ARGV[2]) end')


class KeepFinalError(Middleware):
    """Dramatiq files a dead letter with the body it was last queued with, which holds the
    traceback of the attempt before the last (none when it died on its first attempt): this
    puts the final attempt's into it, so `challenges dead-letters list` shows what it died of."""

    def after_nack(self, broker, message):
        if "traceback" in message.options:
            queue = message.queue_name.removesuffix(".DQ")
            broker.client.eval(REPLACE_IF_DEAD, 1, f"{broker.namespace}:{queue}.XQ.msgs",
                               message.options["redis_message_id"], message.encode())


def make_broker(client) -> RedisBroker:
    # "after" hooks run in reverse order: JobTracking comes first so that it sees the message
    # after Retries has decided whether it failed for good; CommandLogging before it, so that
    # every hook's lines carry the message's request id, job, actor and caller. MetricsAtBoot adds
    # Dramatiq's Prometheus middleware, last, when the `dramatiq` command boots the process.
    middleware = [CommandLogging(settings), KeepFinalError(), JobTracking(), AgeLimit(), TimeLimit(time_limit=TIME_LIMIT_MS),
                  ShutdownNotifications(),
                  Retries(max_retries=MAX_RETRIES, min_backoff=MIN_BACKOFF_MS,
                          max_backoff=MAX_BACKOFF_MS, retry_when=is_transient),
                  MetricsAtBoot()]
    return RedisBroker(client=client, namespace=settings.key("dramatiq"), middleware=middleware,
                       heartbeat_timeout=HEARTBEAT_TIMEOUT_MS, maintenance_chance=MAINTENANCE_CHANCE)


broker = make_broker(redis_client)
dramatiq.set_broker(broker)


def actor(name: str, queue_name: str = COMMAND_QUEUE, max_retries: int = MAX_RETRIES):
    """Declare an actor named "area.verb" with the retry and time limits every actor gets."""
    return dramatiq.actor(actor_name=name, queue_name=queue_name, max_retries=max_retries,
                          time_limit=TIME_LIMIT_MS, retry_when=transient_within(max_retries))


def command(name: str, rule, **configured):
    """Declare the actor `name` that carries out `rule(conn, user_id=..., **payload)`
    exactly once per job. The rule stays a plain function, testable on a connection;
    `configured` are the arguments it takes from this process's settings, not from the client."""

    def perform(job_id: str, user_id: str, **payload) -> None:
        published = execute(job_id, name, user_id,
                            lambda conn: rule(conn, user_id=user_id, **payload, **configured))
        if published:
            tell_redis(job_id, "handing its events to the event log",
                       lambda: schedule_indexing(redis_client, broker, settings))

    perform.__name__ = perform.__qualname__ = rule.__name__
    return actor(name)(perform)
