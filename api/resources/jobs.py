from api.dispatch import job_view
from api.errors import not_found
from api.openapi import Op
from api.schemas import Job


class JobItem:
    """A job as the worker left it: live status from Redis, or the outcome PostgreSQL recorded
    with the command's effects once Redis has forgotten it or never heard it."""

    openapi = {"get": Op("A job you submitted.", response=Job, errors=(404,))}

    def __init__(self, jobs):
        self.jobs = jobs

    def on_get(self, req, resp, job_id):
        job = self.jobs.get(req.context.caller.id, str(job_id))
        if job is None:
            raise not_found("No such job.")
        resp.media = job_view(job)
