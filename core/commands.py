"""The command contract between the API and the workers.

A command is one Dramatiq message whose `message_id` is the job id the client sees. Its
status lives in a Redis hash (`<ns>:job:<id>`) that the API creates as `queued` and the worker
moves to `running` and then `succeeded` or `failed`; the outcome is also recorded in
PostgreSQL (`processed_commands`) in the same transaction as the command's effects, which is
what makes a redelivered message a no-op. The API imports this module, never the actors.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from dramatiq import Message
from psycopg.types.json import Jsonb

from core.db import to_json
from sql import queries

COMMAND_QUEUE = "commands"
FINAL_STATUSES = {"succeeded", "failed"}
MIN_BLOCK_SECONDS = 0.01
Q = queries("core")


class CommandRejected(Exception):
    """A business rule said no: the job fails at once with this code, it is never retried."""

    def __init__(self, code: str, detail: str, status: int = 409):
        super().__init__(detail)
        self.code, self.detail, self.status = code, detail, status

    def as_error(self) -> dict:
        return {"code": self.code, "detail": self.detail, "status": self.status}


def build_message(actor_name: str, job_id: str, kwargs: dict, request_id: str | None = None) -> Message:
    """A command message addressed by actor name, so the sender needs no actor code. The request
    id rides in its options, for the worker's log lines (core/logs.py), not to its actor."""
    return Message(queue_name=COMMAND_QUEUE, actor_name=actor_name, args=(),
                   kwargs={"job_id": job_id, **kwargs},
                   options={"request_id": request_id} if request_id else {}, message_id=job_id)


@dataclass
class JobStore:
    """Job status in Redis. `done` is a one-element list per finished job: waiters BLMOVE it
    onto itself, which returns at once when it exists, blocks until it does otherwise, and
    leaves it in place for any other waiter."""

    redis: Any
    settings: Any

    def _key(self, job_id: str) -> str:
        return self.settings.key("job", job_id)

    def _done_key(self, job_id: str) -> str:
        return self.settings.key("job", job_id, "done")

    def queue_creation(self, pipe, job_id: str, owner: str, actor_name: str, ids: dict) -> dict:
        """Queue on `pipe` the commands that create the job as queued, and return it. Fields a
        worker has already written (it may have run the command first) are left as they are,
        however its writes and these interleave, so `pipe` need not be a transaction."""
        now, key = _now(), self._key(job_id)
        pipe.hset(key, mapping={"owner": owner, "actor": actor_name, "ids": json.dumps(ids),
                                "created_at": now})
        pipe.hsetnx(key, "status", "queued")  # the worker's fields, unless it has written them
        pipe.hsetnx(key, "updated_at", now)
        pipe.expire(key, self.settings.job_ttl_seconds)
        return {"job_id": job_id, "owner": owner, "actor": actor_name, "status": "queued",
                "result": None, "error": None, "ids": ids, "created_at": now, "updated_at": now}

    def mark_running(self, job_id: str) -> None:
        key = self._key(job_id)
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping={"status": "running", "updated_at": _now()})
            pipe.expire(key, self.settings.job_ttl_seconds)
            pipe.execute()

    def finish(self, job_id: str, owner: str, outcome: dict) -> None:
        key, done = self._key(job_id), self._done_key(job_id)
        fields = {"owner": owner, "status": outcome["status"], "updated_at": _now(),
                  "result": to_json(outcome.get("result")),
                  "error": to_json(outcome.get("error"))}
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self.settings.job_ttl_seconds)
            pipe.delete(done)
            pipe.rpush(done, "1")
            pipe.expire(done, 60)
            pipe.execute()

    def get(self, job_id: str) -> dict | None:
        job = {_text(k): _text(v) for k, v in self.redis.hgetall(self._key(job_id)).items()}
        if "status" not in job:
            return None
        return {
            "job_id": job_id,
            "owner": job.get("owner"),
            "actor": job.get("actor"),
            "status": job["status"],
            "result": json.loads(job.get("result") or "null"),
            "error": json.loads(job.get("error") or "null"),
            "ids": json.loads(job.get("ids") or "{}"),
            "created_at": job.get("created_at"),
            "updated_at": job.get("updated_at"),
        }

    def wait(self, job_id: str, timeout: float) -> dict | None:
        """The job once it is final, or as it stands after `timeout` seconds. Blocks in slices
        of half the client's socket timeout, so a long wait never reads as a dead server."""
        deadline = time.monotonic() + timeout
        done = self._done_key(job_id)
        job = self.get(job_id)
        while job is not None and job["status"] not in FINAL_STATUSES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # Redis takes a block of 0 (anything under 1 ms) as "forever".
            block = max(MIN_BLOCK_SECONDS, min(remaining, self.settings.redis_socket_timeout / 2))
            self.redis.blmove(done, done, block, "LEFT", "RIGHT")
            job = self.get(job_id)
        return job


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def run_command(conn, *, job_id: str, actor_name: str, user_id: str,
                effect: Callable[[Any], dict]) -> tuple[dict, list[dict] | None]:
    """Carry out `effect` exactly once for `job_id` and record its outcome with its effects.

    Returns the outcome and the outbox events its transaction wrote, now committed and to be
    published (None for a redelivery that changed nothing). A rule broken inside `effect`
    (CommandRejected) rolls everything back and is recorded as the job's failure in a
    transaction of its own, so the common path pays for no savepoint; any other exception rolls
    everything back and propagates to the retry policy.
    """
    try:
        return _record_once(conn, job_id, actor_name, user_id,
                            lambda: {"status": "succeeded", "result": effect(conn), "error": None})
    except CommandRejected as rejection:
        failed = {"status": "failed", "result": None, "error": rejection.as_error()}
        return _record_once(conn, job_id, actor_name, user_id, lambda: failed)


def _record_once(conn, job_id: str, actor_name: str, user_id: str,
                 outcome_of: Callable[[], dict]) -> tuple[dict, list[dict] | None]:
    """`outcome_of()` and its record in one transaction, unless the job has an outcome already."""
    with conn.transaction():
        Q.lock_job(conn, job_id=job_id)
        stored = Q.get_outcome(conn, job_id=job_id)
        if stored is not None:
            return dict(stored), None
        Q.ensure_user(conn, user_id=user_id)
        outcome = outcome_of()
        events = list(Q.record_outcome(conn, job_id=job_id, actor_name=actor_name, user_id=user_id,
                                       status=outcome["status"], result=_jsonb(outcome["result"]),
                                       error=_jsonb(outcome["error"])))
    return outcome, events


def _jsonb(value):
    return None if value is None else Jsonb(value)
