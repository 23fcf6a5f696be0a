"""G. PostgreSQL frozen (SIGSTOP of the postmaster and every backend) for 20 s under load, then
thawed: unlike a stopped server (C), a frozen one keeps every connection open and answers
nothing, so only the clients' own deadlines end their waits. Every request must still be
answered within 3 s (commands accepted, reads a quick 503 naming postgres), /healthz within 1 s
throughout, and every accepted command carried out exactly once after the thaw."""

import pytest

from tests.faults import harness as h

pytestmark = pytest.mark.timeout(240)

LOAD_BEFORE = 3.0
LOAD_AFTER = 10.0
JOBS_CONVERGE_WITHIN = 45.0   # retries back off up to 30 s between attempts


def test_g_postgres_frozen_under_load_every_answer_within_3s(healthy, servers, load_users):
    system = healthy
    timeline = h.Timeline("G_postgres_frozen")
    load = h.LoadGenerator(system.base_url, load_users, "G", timeout=h.FROZEN_CLIENT_TIMEOUT)
    jobs = h.JobTracker(system.base_url, load_users)
    healthz = h.Prober(system.base_url, "/healthz", h.HEALTHZ_INTERVAL, "healthz",
                       timeout=h.FROZEN_CLIENT_TIMEOUT)

    frozen: list[int] = []

    # Given the system under load, /healthz probed throughout
    with healthz, load:
        try:
            # When every PostgreSQL process is frozen (SIGSTOP) for 20 s, then thawed (SIGCONT),
            # while the load goes on
            h.outage(timeline, load, jobs, take_down=lambda: frozen.extend(h.freeze(servers.postgres)),
                     bring_back=lambda: h.thaw(servers.postgres), before=LOAD_BEFORE, down=h.FROZEN_FOR,
                     after=LOAD_AFTER)
        finally:
            h.thaw(servers.postgres)
    records = load.records

    # Then every request was answered within 3 s, /healthz within 1 s, no 5xx but 503s naming
    # postgres, every accepted command done exactly once and every job reads succeeded
    figures, failures = h.evaluate_frozen(timeline, records, healthz.records, system, servers, jobs, load.tag,
                                          dependency="postgres", job_timeout=JOBS_CONVERGE_WITHIN)
    figures["frozen_processes"] = len(frozen)
    h.report(figures, failures, system.notes)
    h.assert_checks(failures)
