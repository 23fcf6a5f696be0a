"""G. PostgreSQL frozen (SIGSTOP of the postmaster and every backend) for 20 s under load, then
thawed: unlike a stopped server (C), a frozen one keeps every connection open and answers
nothing, so only the clients' own deadlines end their waits. Every request must still be
answered within 3 s (commands accepted, reads a quick 503 naming postgres), /healthz within 1 s
throughout, and every accepted command carried out exactly once after the thaw."""

import pytest

from tests.faults import harness as h

pytestmark = pytest.mark.timeout(240)

JOBS_CONVERGE_WITHIN = 45.0   # retries back off up to 30 s between attempts


def test_g_postgres_frozen_under_load_every_answer_within_3s(healthy, servers, load_users):
    # Given the system under load, /healthz probed throughout
    # When every PostgreSQL process is frozen (SIGSTOP) for 20 s, then thawed (SIGCONT), while the load goes on
    # Then every request was answered within 3 s, /healthz within 1 s, no 5xx but 503s naming
    # postgres, every accepted command done exactly once and every job reads succeeded
    h.freeze_under_load("G_postgres_frozen", healthy, servers, load_users, dependency="postgres",
                        job_timeout=JOBS_CONVERGE_WITHIN)
