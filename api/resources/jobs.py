from api.dispatch import job_view
from api.errors import not_found
from api.openapi import ANY_JOB, Op


class JobItem:
    """A job as the worker left it: live status from Redis, or the outcome PostgreSQL recorded
    with the command's effects once Redis has forgotten it or never heard it."""

    openapi = {"get": Op("getJob", "A job you submitted", response=ANY_JOB,
                         description="Where a command stands: `result` once it succeeded, `error` "
                                     "if it failed. Jobs are kept 24 hours in Redis; after that "
                                     "the outcome recorded in PostgreSQL is served.")}

    def __init__(self, jobs):
        self.jobs = jobs

    def on_get(self, req, resp, job_id):
        job = self.jobs.get(req.context.caller.id, str(job_id))
        if job is None:
            raise not_found("No such job.")
        resp.media = job_view(job)
