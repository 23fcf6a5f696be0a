"""C. PostgreSQL stopped (`pg_ctl stop -m fast`: every client's connection closed) for 20 s
under load, then started again: commands keep being accepted (they only need Redis) and are
carried out once it is back, reads answer 503 quickly, /healthz stays fast (it touches no
dependency) and /readyz tells the load balancer the truth."""

import pytest

from tests.faults import harness as h

pytestmark = pytest.mark.timeout(240)

LOAD_BEFORE = 3.0
DOWN = 20.0
LOAD_AFTER = 10.0
JOBS_CONVERGE_WITHIN = 45.0   # retries back off up to 30 s between attempts
HEALTHZ_WITHIN = 0.5


def postgres_reported_down(body) -> str | None:
    checks = body.get("checks") if isinstance(body, dict) else None
    if not isinstance(checks, dict) or not str(checks.get("postgres", "")).startswith("error"):
        return f"checks do not name postgres as failing: {checks!r}"
    return None


def check_healthz(records: list[h.Record], timeline: h.Timeline) -> list[str]:
    if not records:
        return ["/healthz was never probed"]
    return [f"at {timeline.when(r)}: {r.describe()}" for r in records
            if r.status != 200 or r.latency is None or r.latency > HEALTHZ_WITHIN]


def test_c_postgres_stopped_under_load_then_back(healthy, servers, load_users):
    system = healthy
    timeline = h.Timeline("C_postgres_stopped")
    load = h.LoadGenerator(system.base_url, load_users, "C")
    jobs = h.JobTracker(system.base_url, load_users)
    healthz = h.Prober(system.base_url, "/healthz", 0.25, "healthz")
    readyz = h.Prober(system.base_url, "/readyz", 1.0, "readyz")

    # Given the system under load, /healthz and /readyz probed throughout
    with healthz, readyz, load:
        # When PostgreSQL is stopped (fast: open connections are closed) for 20 s, and started
        # again on the same port, while the load goes on
        down_at, up_at = h.outage(timeline, load, jobs, take_down=lambda: servers.postgres.stop("fast"),
                                  bring_back=servers.postgres.start, before=LOAD_BEFORE, down=DOWN,
                                  after=LOAD_AFTER)
    records = load.records

    # Then: (a)-(e) over the load, every 503 naming postgres
    figures, failures = h.evaluate(timeline, records, system, servers, jobs, load.tag,
                                   dependencies={"postgres"}, job_timeout=JOBS_CONVERGE_WITHIN)
    # and /healthz answered within 0.5 s throughout
    failures["healthz_fast_throughout"] = check_healthz(healthz.records, timeline)
    # and /readyz answered 503 within 3 s naming postgres in `checks` while it was down
    failures["readyz_503_naming_postgres"] = h.check_unavailable_while_down(
        readyz.records, down_at, up_at, "/readyz probe", body_check=postgres_reported_down)
    # and reads (GET /workouts) answered 503 within 3 s while it was down
    reads = [r for r in records if r.kind == "read"]
    failures["reads_503_while_down"] = h.check_unavailable_while_down(reads, down_at, up_at, "read")
    figures["readyz_answers_while_down"] = sorted({str(r.status) for r in readyz.records
                                                   if down_at <= r.started <= up_at})
    figures["healthz_slowest_s"] = round(max((r.latency or h.CLIENT_TIMEOUT for r in healthz.records),
                                             default=0), 3)
    h.report(figures, failures, system.notes)
    h.assert_checks(failures)
