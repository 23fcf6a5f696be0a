"""The API's Dramatiq broker: `enqueue_with` sends a command's message and its job hash to Redis
in one round trip, where `RedisBroker.enqueue` and the job took one each.

Both go in one pipeline, the message first, and Redis runs one connection's commands in order:
a job never exists before its message is queued, as when they were sent one after the other.
The message is queued as `RedisBroker.enqueue` queues it (its own `redis_message_id`, the
middleware's enqueue hooks, the dispatch script's `enqueue` command with the arguments
`RedisBroker._dispatch` gives it); tests/api/test_broker.py compares the two, so a Dramatiq that
changes them fails there first.
"""

from typing import Callable, TypeVar
from uuid import uuid4

from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis
from redis.exceptions import NoScriptError

T = TypeVar("T")


class ApiBroker(RedisBroker):
    def enqueue_with(self, message: Message, then: Callable[[object], T]) -> T:
        """Enqueue `message` (no delay) and, after it in the same round trip, what `then(pipe)`
        queues on a non-transactional pipeline; returns what `then` returned."""
        message = message.copy(options={"redis_message_id": str(uuid4())})
        self.emit_before("enqueue", message, None)
        with self.client.pipeline(transaction=False) as pipe:
            pipe.evalsha(self.scripts["dispatch"].sha, 1, self.namespace, *self._enqueue_args(message))
            done = then(pipe)
            queued, *results = pipe.execute(raise_on_error=False)
        if isinstance(queued, NoScriptError):
            # Redis lost its scripts (a restart): the job is there, its message is queued now,
            # the script loaded on the way. Only a Redis lost in between leaves it without one.
            self.do_enqueue(message.queue_name, message.options["redis_message_id"], message.encode())
        for result in (queued, *results):
            if isinstance(result, Exception) and not isinstance(result, NoScriptError):
                raise result
        self.emit_after("enqueue", message, None)
        return done

    def _enqueue_args(self, message: Message) -> list:
        """The dispatch script's ARGV for queuing `message`, as `RedisBroker._dispatch` makes it."""
        return ["enqueue", current_millis(), message.queue_name, self.broker_id, self.heartbeat_timeout,
                self.dead_message_ttl, self._should_do_maintenance("enqueue"), self._max_unpack_size(),
                message.options["redis_message_id"], message.encode()]
