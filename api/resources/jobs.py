from api.db import Q
from api.dispatch import job_view
from api.errors import not_found
from api.openapi import Op
from api.schemas import Job


class JobItem:
    """A job as the worker left it: live status from Redis, or the outcome PostgreSQL recorded
    with the command's effects once Redis has forgotten it."""

    openapi = {"get": Op("A job you submitted.", response=Job, errors=(404,))}

    def __init__(self, db, dispatcher):
        self.db, self.dispatcher = db, dispatcher

    def on_get(self, req, resp, job_id):
        caller = req.context.caller.id
        job = self.dispatcher.jobs.get(str(job_id))
        if job is None or job["owner"] != caller:
            job = self._recorded(caller, str(job_id))
        resp.media = job_view(job)

    def _recorded(self, caller: str, job_id: str) -> dict:
        with self.db.reading(caller) as conn:
            row = Q.get_processed_command(conn, job_id=job_id)
        if row is None or str(row["user_id"]) != caller:
            raise not_found("No such job.")
        finished = row["finished_at"].isoformat()
        return {"job_id": job_id, "status": row["status"], "result": row["result"],
                "error": row["error"], "created_at": None, "updated_at": finished, "ids": {}}
