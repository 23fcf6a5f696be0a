"""H. Redis frozen (SIGSTOP of redis-server) for 20 s under load, then thawed: its connections stay
open and nothing answers, so every client's socket timeout is what ends a wait. Every request
must still be answered within 3 s (commands a quick 503 naming redis, reads of PostgreSQL as
usual), /healthz within 1 s throughout, and nothing accepted lost or done twice: what a timed-out
client sent may still be carried out once Redis reads it after the thaw, at most once."""

import pytest

from tests.faults import harness as h

pytestmark = pytest.mark.timeout(240)

LOAD_BEFORE = 3.0
LOAD_AFTER = 10.0
JOBS_CONVERGE_WITHIN = 45.0


def test_h_redis_frozen_under_load_every_answer_within_3s(healthy, servers, load_users):
    system = healthy
    timeline = h.Timeline("H_redis_frozen")
    load = h.LoadGenerator(system.base_url, load_users, "H", timeout=h.FROZEN_CLIENT_TIMEOUT)
    jobs = h.JobTracker(system.base_url, load_users)
    healthz = h.Prober(system.base_url, "/healthz", h.HEALTHZ_INTERVAL, "healthz",
                       timeout=h.FROZEN_CLIENT_TIMEOUT)

    frozen: list[int] = []

    # Given the system under load, /healthz probed throughout
    with healthz, load:
        try:
            # When redis-server is frozen (SIGSTOP) for 20 s, then thawed (SIGCONT), while the
            # load goes on
            h.outage(timeline, load, jobs, take_down=lambda: frozen.extend(h.freeze(servers.redis)),
                     bring_back=lambda: h.thaw(servers.redis), before=LOAD_BEFORE, down=h.FROZEN_FOR,
                     after=LOAD_AFTER)
        finally:
            h.thaw(servers.redis)
    records = load.records

    # Then every request was answered within 3 s, /healthz within 1 s, no 5xx but 503s naming
    # redis, every accepted command done exactly once and every job reads succeeded
    figures, failures = h.evaluate_frozen(timeline, records, healthz.records, system, servers, jobs, load.tag,
                                          dependency="redis", job_timeout=JOBS_CONVERGE_WITHIN)
    figures["frozen_processes"] = len(frozen)
    h.report(figures, failures, system.notes)
    h.assert_checks(failures)
