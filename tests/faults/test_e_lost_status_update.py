"""E. A lost status update: the worker commits a command while Redis is gone, so the job's
`succeeded` never reaches Redis (which comes back from its AOF saying `running`). The outcome
PostgreSQL recorded with the effects is the truth, and `GET /jobs/{id}` must say so.

Staged as tests/api/test_races.py stages its races: a test connection holds the challenge's row
lock, so the worker's accept waits inside its transaction; Redis is killed while it waits, the
lock is let go, the worker commits, and Redis comes back."""

import time

import pytest

from tests.api.support import lock_waiters
from tests.faults import harness as h

pytestmark = pytest.mark.timeout(240)

LOCK_WAIT_WITHIN = 10.0
WORKER_SECONDS = 1.0
SUCCEEDED_WITHIN = 5.0


def command(client, user, method, path, body=None, wait=5) -> h.Record:
    return h.send(client, "challenge", user, method, path, json_body=body, wait=wait, keep_body=True)


def recorded_outcome(servers, job_id: str, challenge_id: str) -> tuple:
    """(the outcome in processed_commands, the challenge's status), as the owner role sees them."""
    with servers.postgres.connect() as conn:
        outcome = conn.execute("SELECT status FROM processed_commands WHERE job_id = %s", (job_id,)).fetchone()
        status = conn.execute("SELECT status FROM workout_challenges WHERE id = %s", (challenge_id,)).fetchone()
    return (outcome and outcome[0], status and status[0])


def reads_succeeded(record: h.Record) -> bool:
    return record.status == 200 and isinstance(record.body, dict) and record.body.get("status") == "succeeded"


def test_e_a_job_finished_while_redis_was_down_reads_succeeded(healthy, servers):
    system = healthy
    timeline = h.Timeline("E_lost_status_update")
    alice, bob = h.sign_up(system.base_url, ["Alice", "Bob"])
    with h.api_client(system.base_url) as client:
        # Given A and B friends, A has challenged B (all through the API, waiting for the worker)
        setup = [command(client, alice, "POST", "/friends/requests", {"user_id": bob.id}),
                 command(client, bob, "POST", f"/friends/requests/{alice.id}/accept"),
                 command(client, alice, "POST", "/workouts", h.workout_body("fault-E-target"))]
        setup.append(command(client, alice, "POST", "/challenges/create",
                             {"to_user_ids": [bob.id], "workout_log_id": (setup[-1].body or {}).get("workout_log_id")}))
        assert [r.status for r in setup] == [201, 200, 201, 201], [r.describe() for r in setup]
        [challenge_id] = setup[-1].body["challenge_ids"]

        # and the challenge's row lock held by a test connection
        holder = servers.postgres.connect()
        try:
            assert holder.execute("SELECT id FROM workout_challenges WHERE id = %s FOR UPDATE",
                                  (challenge_id,)).fetchone()
            # When B accepts it without waiting
            accept = command(client, bob, "POST", f"/challenges/accept/{challenge_id}", wait=None)
            assert accept.status == 202 and accept.job_id, accept.describe()
            # and the worker's transaction is waiting on the lock
            waited = h.wait_until(lambda: lock_waiters(servers.postgres.url) > 0, LOCK_WAIT_WITHIN, 0.05)
            # and Redis is killed
            timeline.fault()
            servers.redis.kill()
        finally:
            # and the lock is let go (the worker commits while Redis is gone)
            holder.commit()
            holder.close()
        time.sleep(WORKER_SECONDS)
        # and Redis starts again (from its AOF, where the job still reads `running`)
        servers.redis.start()
        timeline.back()

        # Then GET /jobs/{id} reads succeeded within a few seconds
        polls = []
        deadline = h.monotonic() + SUCCEEDED_WITHIN
        while True:
            polls.append(h.send(client, "job", bob, "GET", f"/jobs/{accept.job_id}", keep_body=True))
            last = polls[-1]
            if reads_succeeded(last) or h.monotonic() > deadline:
                break
            time.sleep(0.2)
    committed, status = recorded_outcome(servers, accept.job_id, challenge_id)

    failures = {
        "worker_waited_on_the_lock": [] if waited else [
            f"no transaction waited on the row lock within {LOCK_WAIT_WITHIN:.0f}s: the scenario was not staged"],
        "worker_committed_while_redis_was_down": [] if (committed, status) == ("succeeded", "accepted") else [
            f"processed_commands says {committed!r}, the challenge is {status!r}"],
        "job_reads_succeeded": [] if reads_succeeded(last) else [
            (f"{SUCCEEDED_WITHIN:.0f}s after Redis came back GET /jobs/{accept.job_id} reads {last.describe()} "
             f"{last.body if last.status == 200 else ''} (answers: {[r.status for r in polls]})")],
        "b_no_5xx_but_503_and_no_hang": h.check_no_unexpected_5xx_or_hang(polls),
        "c_503_is_a_quick_problem": h.check_service_unavailable(polls, {"redis"}),
        "processes_still_running": h.check_processes_alive(system),
    }
    exactly_once = h.ExactlyOnce(1, [] if committed else [accept], [], [])
    figures = h.scenario_figures(timeline, [accept, *polls], exactly_once, None)
    figures["job_status_read"] = last.body.get("status") if isinstance(last.body, dict) else last.status
    figures["recover_job_reads_succeeded_s"] = (round(last.ended - timeline.back_at, 3)
                                                if reads_succeeded(last) else None)
    h.report(figures, failures, system.notes)
    h.assert_checks(failures)
