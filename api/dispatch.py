"""The asynchronous contract of every mutation (DESIGN.md section 3): enqueue one command, answer
202 with the job, honour `Prefer: wait=N` and `Idempotency-Key`."""

import hashlib
import json
import re
import uuid

import falcon
from dramatiq.brokers.redis import RedisBroker

from api.errors import Problem, from_job_error, validation_error
from workers.commands import FINAL_STATUSES, JobStore, build_message
from workers.db import to_json

MAX_WAIT_SECONDS = 10
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
IN_FLIGHT = "in-flight"


def requested_wait(req) -> int:
    """N from `Prefer: wait=N` (RFC 7240), capped at MAX_WAIT_SECONDS; 0 when absent."""
    for preference in (req.get_header("Prefer") or "").split(","):
        name, _, value = preference.strip().partition("=")
        if name.strip().lower() == "wait" and value.strip().isdigit():
            return min(int(value.strip()), MAX_WAIT_SECONDS)
    return 0


def job_view(job: dict) -> dict:
    """The job resource as clients see it: status, result, error and the ids it announced."""
    error = job["error"] and {k: v for k, v in job["error"].items() if k != "status"}
    return {"job_id": job["job_id"], "status": job["status"], "result": job["result"],
            "error": error, "created_at": job["created_at"], "updated_at": job["updated_at"],
            **job["ids"]}


class Dispatcher:
    def __init__(self, redis, settings):
        self.redis = redis
        self.settings = settings
        self.jobs = JobStore(redis, settings)
        self.broker = RedisBroker(client=redis, namespace=settings.key("dramatiq"), middleware=[])

    def submit(self, req, resp, *, actor: str, payload: dict, ids: dict | None = None,
               precheck=None, creates: bool = False) -> None:
        """Enqueue `actor` with `payload` for the caller and answer with its job.

        `precheck()` runs the cheap read-only checks; it is skipped for an idempotent replay,
        which returns the original job whatever has happened since.
        """
        caller = req.context.caller
        key = req.get_header("Idempotency-Key")
        if key is None:
            if precheck:
                precheck()
            job = self._enqueue(caller.id, actor, payload, ids or {})
        else:
            job = self._submit_once(caller.id, key, req, actor, payload, ids or {}, precheck)
        self.respond(req, resp, job, creates=creates)

    def _enqueue(self, owner: str, actor: str, payload: dict, ids: dict) -> dict:
        job_id = str(uuid.uuid4())
        # Loaded values (timestamps) travel as the JSON text the worker's SQL takes; encoded
        # before the job exists, so a value that cannot be encoded leaves no job behind.
        message_kwargs = json.loads(to_json({"user_id": owner, **payload, **ids}))
        job = self.jobs.create(job_id, owner, actor, ids)
        self.broker.enqueue(build_message(actor, job_id, message_kwargs))
        return job

    def _submit_once(self, owner, key, req, actor, payload, ids, precheck) -> dict:
        if not IDEMPOTENCY_KEY.match(key):
            raise validation_error({"Idempotency-Key": ["Must be 1 to 255 visible ASCII characters."]})
        fingerprint = hashlib.sha256(json.dumps(
            {"method": req.method, "path": req.path, "body": payload}, sort_keys=True, default=str
        ).encode()).hexdigest()
        redis_key = self.settings.key("idempotency", owner, key)
        ttl = self.settings.idempotency_ttl_seconds
        reservation = json.dumps({"fingerprint": fingerprint, "job_id": IN_FLIGHT})
        if not self.redis.set(redis_key, reservation, nx=True, ex=ttl):
            return self._replay(redis_key, fingerprint)
        try:
            if precheck:
                precheck()
            job = self._enqueue(owner, actor, payload, ids)
        except BaseException:
            self.redis.delete(redis_key)
            raise
        self.redis.set(redis_key, json.dumps({"fingerprint": fingerprint, "job_id": job["job_id"]}),
                       xx=True, keepttl=True)
        return job

    def _replay(self, redis_key: str, fingerprint: str) -> dict:
        stored = json.loads(self.redis.get(redis_key) or "null")
        if stored is None:
            raise Problem(409, "idempotency_key_in_flight", "Retry the request: the key just expired.")
        if stored["fingerprint"] != fingerprint:
            raise Problem(422, "idempotency_key_reused",
                          "This Idempotency-Key was used with a different request.")
        if stored["job_id"] == IN_FLIGHT:
            raise Problem(409, "idempotency_key_in_flight",
                          "A request with this Idempotency-Key is still being accepted.")
        job = self.jobs.get(stored["job_id"])
        if job is None:
            raise Problem(409, "idempotency_key_in_flight", "The original job is no longer known.")
        return job

    def respond(self, req, resp, job: dict, *, creates: bool) -> None:
        wait = requested_wait(req)
        if wait:
            job = self.jobs.wait(job["job_id"], wait) or job
            resp.set_header("Preference-Applied", f"wait={wait}")
        location = f"/api/v1/jobs/{job['job_id']}"
        if job["status"] == "failed":
            raise from_job_error(job["error"], job["job_id"])
        if job["status"] in FINAL_STATUSES:
            resp.status = falcon.HTTP_201 if creates else falcon.HTTP_200
            resp.set_header("Content-Location", location)
        else:
            resp.status = falcon.HTTP_202
            resp.set_header("Location", location)
        resp.media = job_view(job)
