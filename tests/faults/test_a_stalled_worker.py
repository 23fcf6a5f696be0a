"""A. A stalled worker (SIGSTOP: alive, holding its sockets, doing nothing): a client that asked
to wait gets its 202 when the wait is over, never a 500, and the command runs once the worker
goes on."""

import uuid

import pytest

from tests.faults import harness as h

pytestmark = pytest.mark.timeout(240)

WAIT_SECONDS = 10          # Prefer: wait=10, the API's maximum
ANSWER_NOT_BEFORE = 9.9    # the full wait, less a little clock slack between server and client
ANSWER_WITHIN = 12.0       # the wait plus the API's own work
JOB_DONE_WITHIN = 10.0     # after the worker goes on


def test_a_command_sent_to_a_stalled_worker_answers_202_after_the_wait_and_runs_once_resumed(
        healthy, servers, load_users):
    system, user = healthy, load_users[0]
    timeline = h.Timeline("A_stalled_worker")
    name = f"fault-A-{uuid.uuid4().hex[:8]}"

    with h.api_client(system.base_url) as client:
        # Given a worker that is stalled (SIGSTOP on its whole process group)
        system.pause("worker")
        timeline.fault()
        try:
            # When a workout is logged with `Prefer: wait=10`
            record = h.post_workout(client, user, name, wait=WAIT_SECONDS)
        finally:
            # and the worker goes on afterwards (SIGCONT)
            system.resume("worker")
            timeline.back()

    # Then the answer was a 202 with the job and its Location, after the full wait, never a 500
    answer = []
    if record.status != 202:
        answer.append(f"expected 202, got {record.describe()}")
    if record.latency is None or not ANSWER_NOT_BEFORE <= record.latency <= ANSWER_WITHIN:
        answer.append(f"expected the answer after {WAIT_SECONDS}-{ANSWER_WITHIN:.0f} s: {record.describe()}")
    if record.status == 202 and not record.job_id:
        answer.append("the 202 carries no job_id")
    if record.job_id and not (record.location or "").endswith(f"/api/v1/jobs/{record.job_id}"):
        answer.append(f"Location {record.location!r} does not point at job {record.job_id}")

    # and the job reads succeeded within a few seconds, the workout stored exactly once
    convergence = h.JobTracker(system.base_url, [user]).finish([record], JOB_DONE_WITHIN, timeline.back_at)
    exactly_once = h.check_exactly_once([record], h.workout_counts(servers.postgres, name))
    failures = {
        "answer_is_202_after_the_wait": answer,
        "a_exactly_once": exactly_once.problems,
        "b_no_5xx_but_503_and_no_hang": h.check_no_unexpected_5xx_or_hang([record]),
        "d_accepted_jobs_succeed": h.check_jobs_succeeded(convergence, JOB_DONE_WITHIN),
        "processes_still_running": h.check_processes_alive(system),
    }
    h.report(h.scenario_figures(timeline, [record], exactly_once, convergence), failures, system.notes)
    h.assert_checks(failures)
