"""H. Redis frozen (SIGSTOP of redis-server) for 20 s under load, then thawed: its connections stay
open and nothing answers, so every client's socket timeout is what ends a wait. Every request
must still be answered within 3 s (commands a quick 503 naming redis, reads of PostgreSQL as
usual), /healthz within 1 s throughout, and nothing accepted lost or done twice: what a timed-out
client sent may still be carried out once Redis reads it after the thaw, at most once."""

import pytest

from tests.faults import harness as h

pytestmark = pytest.mark.timeout(240)

JOBS_CONVERGE_WITHIN = 45.0


def test_h_redis_frozen_under_load_every_answer_within_3s(healthy, servers, load_users):
    # Given the system under load, /healthz probed throughout
    # When redis-server is frozen (SIGSTOP) for 20 s, then thawed (SIGCONT), while the load goes on
    # Then every request was answered within 3 s, /healthz within 1 s, no 5xx but 503s naming
    # redis, every accepted command done exactly once and every job reads succeeded
    h.freeze_under_load("H_redis_frozen", healthy, servers, load_users, dependency="redis",
                        job_timeout=JOBS_CONVERGE_WITHIN)
