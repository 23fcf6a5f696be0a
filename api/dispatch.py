"""The asynchronous contract of every mutation: enqueue one command, answer 202 with the job,
honour `Prefer: wait=N` and `Idempotency-Key`; and the job as its owner reads it."""

import hashlib
import json
import logging
import re
import time
import uuid

import falcon

from api.broker import ApiBroker
from api.db import Q
from api.errors import Problem, from_job_error, validation_error
from core.commands import FINAL_STATUSES, JobStore, build_message
from core.connections import UNAVAILABLE
from core.db import to_json

log = logging.getLogger(__name__)
MAX_WAIT_SECONDS = 10
WAIT = re.compile(r"^\s*wait\s*=\s*(\d+)\s*$", re.IGNORECASE)
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# A request is being accepted for at most this long (its checks wait 1.5 s at most for the
# database); a claim older than that with no job behind it was left by a request that died.
IN_FLIGHT_SECONDS = 10
REDIS_ERRORS, POSTGRES_ERRORS = UNAVAILABLE["redis"], UNAVAILABLE["postgres"]


def requested_wait(req) -> int:
    """N from `Prefer: wait=N` (RFC 7240), capped at MAX_WAIT_SECONDS; 0 when absent."""
    for preference in (req.get_header("Prefer") or "").split(","):
        wait = WAIT.match(preference)
        if wait:  # compared as text first: int() refuses numbers of over 4,300 digits
            digits = wait.group(1).lstrip("0") or "0"
            return MAX_WAIT_SECONDS if len(digits) > 2 else min(int(digits), MAX_WAIT_SECONDS)
    return 0


def job_view(job: dict) -> dict:
    """The job resource as clients see it: status, result, error and the ids it announced."""
    error = job["error"] and {k: v for k, v in job["error"].items() if k != "status"}
    return {"job_id": job["job_id"], "status": job["status"], "result": job["result"],
            "error": error, "created_at": job["created_at"], "updated_at": job["updated_at"],
            **job["ids"]}


def request_fingerprint(method: str, path: str, payload: dict) -> str:
    """What makes two requests under one Idempotency-Key the same request."""
    return hashlib.sha256(json.dumps({"method": method, "path": path, "body": payload}, sort_keys=True,
                                     default=str).encode()).hexdigest()


def recorded_job(conn, job_id: str) -> dict | None:
    """The outcome PostgreSQL recorded with the command's effects, as a job (RLS: the caller's)."""
    row = Q.get_processed_command(conn, job_id=job_id)
    if row is None:
        return None
    return {"job_id": job_id, "owner": str(row["user_id"]), "status": row["status"],
            "result": row["result"], "error": row["error"], "created_at": None,
            "updated_at": row["finished_at"], "ids": {}}


def with_outcome(live: dict | None, recorded: dict) -> dict:
    """The recorded outcome, keeping what only Redis knows (the ids announced, when it began)."""
    if live is None:
        return recorded
    return {**recorded, "ids": live["ids"], "created_at": live["created_at"]}


class JobReader:
    """A job as its owner reads it. Redis holds its live status; PostgreSQL holds the outcome
    recorded in the command's own transaction, which wins over anything but `succeeded` in Redis:
    the worker may not have been able to tell Redis (it was down), Redis may have lost it, or the
    worker may have marked `failed` a command that had committed before PostgreSQL went away."""

    def __init__(self, store: JobStore, db):
        self.store, self.db = store, db

    def get(self, caller: str, job_id: str) -> dict | None:
        try:
            live = self._live(caller, job_id)
        except REDIS_ERRORS:
            recorded = self._recorded(caller, job_id)
            if recorded is None:
                raise  # not finished, or not known at all: only Redis can say which
            return recorded
        if live is None:
            return self._recorded(caller, job_id)
        return self._settled(caller, live, quick=False)

    def wait(self, caller: str, job: dict, seconds: float) -> dict:
        """The job once final, or as it stands after `seconds`. It has been accepted, so losing
        Redis meanwhile leaves it as last known (a 202), never an error."""
        try:
            job = self.store.wait(job["job_id"], seconds) or job
        except REDIS_ERRORS as error:
            log.warning("waiting for job %s: Redis unavailable: %s", job["job_id"], error)
        return self._settled(caller, job, quick=True)

    def _settled(self, caller: str, live: dict, quick: bool) -> dict:
        """`live`, or the outcome recorded for it unless Redis says it succeeded; as Redis has
        it when PostgreSQL cannot say (at once, when `quick`: a client is waiting)."""
        if live["status"] == "succeeded":
            return live
        try:
            recorded = self._recorded(caller, live["job_id"], quick=quick)
        except POSTGRES_ERRORS:
            return live
        return with_outcome(live, recorded) if recorded else live

    def _live(self, caller: str, job_id: str) -> dict | None:
        job = self.store.get(job_id)
        return job if job is not None and job["owner"] == caller else None

    def _recorded(self, caller: str, job_id: str, quick: bool = False) -> dict | None:
        with self.db.reading(caller, quick=quick) as conn:
            job = recorded_job(conn, job_id)
        return job if job is not None and job["owner"] == caller else None


class Dispatcher:
    def __init__(self, redis, settings, jobs: JobReader, metrics):
        self.redis = redis
        self.metrics = metrics
        self.settings = settings
        self.jobs = jobs
        self.broker = ApiBroker(client=redis, namespace=settings.key("dramatiq"), middleware=[])

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
            job = self._enqueue(caller.id, actor, payload, ids or {}, request_id=req.context.request_id)
        else:
            job = self._submit_once(caller.id, key, req, actor, payload, ids or {}, precheck)
        self.respond(req, resp, job, actor, creates=creates)

    def _enqueue(self, owner: str, actor: str, payload: dict, ids: dict,
                 job_id: str | None = None, request_id: str | None = None) -> dict:
        job_id = job_id or str(uuid.uuid4())
        # Loaded values (timestamps) travel as the JSON text the worker's SQL takes; encoded
        # before the job exists, so a value that cannot be encoded leaves no job behind.
        message_kwargs = json.loads(to_json({"user_id": owner, **payload, **ids}))
        # The message first, then its job, in one round trip: a job never stays `queued` with no
        # message behind it (Redis lost between the two); if the worker runs first, the job keeps
        # what it wrote.
        job = self.broker.enqueue_with(build_message(actor, job_id, message_kwargs, request_id), lambda pipe:
                                        self.jobs.store.queue_creation(pipe, job_id, owner, actor, ids))
        self.metrics.job_enqueued(actor)
        return job

    def _submit_once(self, owner, key, req, actor, payload, ids, precheck) -> dict:
        """The command carried out once per key and body. The key's claim names the job id (and
        ids) before anything is queued, so every retry means the same command: the job once it
        exists, 409 while the first request is still being accepted, and if that request died
        before its job existed, the same command under the same job id, which the worker carries
        out once even if the first had been queued after all."""
        if not IDEMPOTENCY_KEY.match(key):
            raise validation_error({"Idempotency-Key": ["Must be 1 to 255 visible ASCII characters."]})
        fingerprint = request_fingerprint(req.method, req.path, payload)
        redis_key = self.settings.key("idempotency", owner, key)
        claim = {"fingerprint": fingerprint, "job_id": str(uuid.uuid4()), "ids": ids, "since": time.time()}
        if not self.redis.set(redis_key, json.dumps(claim), nx=True, ex=self.settings.idempotency_ttl_seconds):
            claim = json.loads(self.redis.get(redis_key) or "null")
            job = self._replay(owner, claim, fingerprint)
            if job is not None:
                return job
        try:
            if precheck:
                precheck()
        except BaseException:
            self.redis.delete(redis_key)  # refused before it was queued: the key is free again
            raise
        return self._enqueue(owner, actor, payload, claim["ids"], claim["job_id"], req.context.request_id)

    def _replay(self, owner: str, claim: dict | None, fingerprint: str) -> dict | None:
        """The claimed job, or None when the request that claimed the key died before its job
        existed (the caller carries the command out in its stead)."""
        if claim is None:
            raise Problem(409, "idempotency_key_in_flight", "Retry the request: the key just expired.")
        if claim["fingerprint"] != fingerprint:
            raise Problem(422, "idempotency_key_reused",
                          "This Idempotency-Key was used with a different request.")
        job = self.jobs.get(owner, claim["job_id"])
        if job is None and time.time() - claim["since"] < IN_FLIGHT_SECONDS:
            raise Problem(409, "idempotency_key_in_flight",
                          "A request with this Idempotency-Key is still being accepted.")
        return job

    def respond(self, req, resp, job: dict, actor: str, *, creates: bool) -> None:
        wait = requested_wait(req)
        if wait:
            job = self.jobs.wait(req.context.caller.id, job, wait)
            self.metrics.waited(actor, done=job["status"] in FINAL_STATUSES)
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
