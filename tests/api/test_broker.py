"""The API's broker queues a command's message as Dramatiq's RedisBroker.enqueue does, with the
job in the same round trip, and still queues it when Redis has lost its scripts (a restart).
Each test queues under a namespace of its own, which the tests' worker does not consume."""

import json
import uuid

from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

from api.broker import ApiBroker
from core.commands import JobStore, build_message
from tests.conftest import SETTINGS


def queued(redis_client, namespace: str) -> list[dict]:
    """The messages waiting on the commands queue, in order, as a worker would fetch them."""
    ids = redis_client.lrange(f"{namespace}:commands", 0, -1)
    return [json.loads(data) for data in redis_client.hmget(f"{namespace}:commands.msgs", ids)]


def keys(redis_client, namespace: str) -> dict[str, str]:
    """The type of every key under `namespace`, by its name after the namespace."""
    found = {}
    for key in redis_client.scan_iter(match=f"{namespace}:*"):
        name = key.decode()[len(namespace) + 1:]
        found[name] = redis_client.type(key).decode()
    return found


def a_message() -> tuple[str, object]:
    job_id = str(uuid.uuid4())
    return job_id, build_message("workouts.log", job_id, {"user_id": str(uuid.uuid4()), "n": 1})


def test_a_message_is_queued_as_dramatiq_queues_it(redis_client):
    # Given one message, and two namespaces
    _, message = a_message()
    dramatiqs, ours = SETTINGS.key("dramatiq-own"), SETTINGS.key("dramatiq-api")

    # When Dramatiq's broker queues it in one, and the API's broker in the other
    RedisBroker(client=redis_client, namespace=dramatiqs, middleware=[]).enqueue(message)
    ApiBroker(client=redis_client, namespace=ours, middleware=[]).enqueue_with(message, lambda pipe: None)

    # Then both made the same keys and queued the same message, each with its own Redis id
    assert keys(redis_client, ours) == keys(redis_client, dramatiqs)
    [theirs], [mine] = queued(redis_client, dramatiqs), queued(redis_client, ours)
    assert mine["options"]["redis_message_id"] != theirs["options"]["redis_message_id"]
    for data in (mine, theirs):
        del data["options"]["redis_message_id"]
    assert mine == theirs == json.loads(message.encode())


def test_the_job_is_created_in_the_same_call_and_the_middleware_sees_the_enqueue(redis_client):
    # Given a middleware that notes the enqueue hooks, and a message for a new job
    class Notes(Middleware):
        def __init__(self):
            self.seen = []

        def before_enqueue(self, broker, message, delay):
            self.seen.append(("before", message.options["redis_message_id"], delay))

        def after_enqueue(self, broker, message, delay):
            self.seen.append(("after", message.options["redis_message_id"], delay))

    notes, jobs, namespace = Notes(), JobStore(redis_client, SETTINGS), SETTINGS.key("dramatiq-hooks")
    broker = ApiBroker(client=redis_client, namespace=namespace, middleware=[notes])
    job_id, message = a_message()

    # When it is queued with its job
    job = broker.enqueue_with(message, lambda pipe: jobs.queue_creation(pipe, job_id, "u", "workouts.log", {}))

    # Then the job is queued, its message too, and the hooks saw it before and after
    assert job["status"] == jobs.get(job_id)["status"] == "queued"
    [data] = queued(redis_client, namespace)
    assert data["message_id"] == job_id
    redis_id = data["options"]["redis_message_id"]
    assert notes.seen == [("before", redis_id, None), ("after", redis_id, None)]


def test_a_redis_that_lost_its_scripts_still_gets_the_message_and_the_job(redis_client):
    # Given the API's broker, and a Redis that does not know its dispatch script (as after a
    # restart: the script cache is not persisted)
    jobs, namespace = JobStore(redis_client, SETTINGS), SETTINGS.key("dramatiq-restarted")
    broker = ApiBroker(client=redis_client, namespace=namespace, middleware=[])
    broker.scripts["dispatch"].sha = "0" * 40
    job_id, message = a_message()

    # When a command is queued
    broker.enqueue_with(message, lambda pipe: jobs.queue_creation(pipe, job_id, "u", "workouts.log", {}))

    # Then its message is queued once, and its job exists
    assert [data["message_id"] for data in queued(redis_client, namespace)] == [job_id]
    assert jobs.get(job_id)["status"] == "queued"
