"""The asynchronous contract of every mutation: enqueue one command, answer 202 with the job,
honour `Prefer: wait=N` and `Idempotency-Key`; and the job as its owner reads it."""

import hashlib
import json
import logging
import re
import uuid

import falcon
from dramatiq.brokers.redis import RedisBroker

from api.db import Q
from api.errors import DEPENDENCIES, Problem, from_job_error, validation_error
from workers.commands import FINAL_STATUSES, JobStore, build_message
from workers.db import to_json

log = logging.getLogger(__name__)
MAX_WAIT_SECONDS = 10
WAIT = re.compile(r"^\s*wait\s*=\s*(\d{1,6})\s*$", re.IGNORECASE)
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
IN_FLIGHT = "in-flight"
# A reservation outlives an API process that died holding it by this long, not a whole TTL.
IN_FLIGHT_TTL_SECONDS = 30
REDIS_ERRORS, POSTGRES_ERRORS = DEPENDENCIES["redis"][2], DEPENDENCIES["postgres"][2]


def requested_wait(req) -> int:
    """N from `Prefer: wait=N` (RFC 7240), capped at MAX_WAIT_SECONDS; 0 when absent."""
    for preference in (req.get_header("Prefer") or "").split(","):
        wait = WAIT.match(preference)
        if wait:
            return min(int(wait.group(1)), MAX_WAIT_SECONDS)
    return 0


def job_view(job: dict) -> dict:
    """The job resource as clients see it: status, result, error and the ids it announced."""
    error = job["error"] and {k: v for k, v in job["error"].items() if k != "status"}
    return {"job_id": job["job_id"], "status": job["status"], "result": job["result"],
            "error": error, "created_at": job["created_at"], "updated_at": job["updated_at"],
            **job["ids"]}


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
    recorded in the command's own transaction, which wins whenever Redis has not heard it (the
    worker could not tell it, or Redis lost it), so a committed command never reads as running."""

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
        return self._settled(caller, live)

    def wait(self, caller: str, job: dict, seconds: float) -> dict:
        """The job once final, or as it stands after `seconds`. It has been accepted, so losing
        Redis meanwhile leaves it as last known (a 202), never an error."""
        try:
            job = self.store.wait(job["job_id"], seconds) or job
        except REDIS_ERRORS as error:
            log.warning("waiting for job %s: Redis unavailable: %s", job["job_id"], error)
        return self._settled(caller, job)

    def _settled(self, caller: str, live: dict) -> dict:
        """`live`, or the outcome recorded for it if Redis still has it unfinished; as Redis has
        it when PostgreSQL cannot say at once (a connection at hand, QUICK_TIMEOUT_SECONDS)."""
        if live["status"] in FINAL_STATUSES:
            return live
        try:
            recorded = self._recorded(caller, live["job_id"], quick=True)
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
    def __init__(self, redis, settings, jobs: JobReader):
        self.redis = redis
        self.settings = settings
        self.jobs = jobs
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
        job = self.jobs.store.create(job_id, owner, actor, ids)
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
        if not self.redis.set(redis_key, reservation, nx=True, ex=IN_FLIGHT_TTL_SECONDS):
            return self._replay(owner, redis_key, fingerprint)
        try:
            if precheck:
                precheck()
            job = self._enqueue(owner, actor, payload, ids)
        except BaseException:
            self.redis.delete(redis_key)
            raise
        self.redis.set(redis_key, json.dumps({"fingerprint": fingerprint, "job_id": job["job_id"]}),
                       xx=True, ex=ttl)
        return job

    def _replay(self, owner: str, redis_key: str, fingerprint: str) -> dict:
        stored = json.loads(self.redis.get(redis_key) or "null")
        if stored is None:
            raise Problem(409, "idempotency_key_in_flight", "Retry the request: the key just expired.")
        if stored["fingerprint"] != fingerprint:
            raise Problem(422, "idempotency_key_reused",
                          "This Idempotency-Key was used with a different request.")
        if stored["job_id"] == IN_FLIGHT:
            raise Problem(409, "idempotency_key_in_flight",
                          "A request with this Idempotency-Key is still being accepted.")
        job = self.jobs.get(owner, stored["job_id"])
        if job is None:
            raise Problem(409, "idempotency_key_in_flight", "The original job is no longer known.")
        return job

    def respond(self, req, resp, job: dict, *, creates: bool) -> None:
        wait = requested_wait(req)
        if wait:
            job = self.jobs.wait(req.context.caller.id, job, wait)
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
