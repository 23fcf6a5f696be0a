"""B. Redis killed (SIGKILL) under load and restarted on the same port and directory: its AOF
(fsync on every write) brings back every job and queued message it acknowledged, so nothing
accepted may be lost or done twice, and while it is gone the API answers 503 quickly."""

import pytest

from tests.faults import harness as h

pytestmark = pytest.mark.timeout(240)

LOAD_BEFORE = 3.0
DOWN = 5.0
LOAD_AFTER = 10.0
JOBS_CONVERGE_WITHIN = 30.0


def test_b_redis_killed_under_load_loses_and_doubles_nothing(healthy, servers, load_users):
    system = healthy
    timeline = h.Timeline("B_redis_killed")
    load = h.LoadGenerator(system.base_url, load_users, "B")
    jobs = h.JobTracker(system.base_url, load_users)

    # Given the system under load
    with load:
        # When Redis is killed with SIGKILL, and started again about 5 s later on the same port
        # and directory (it reloads its AOF), while the load goes on
        h.outage(timeline, load, jobs, take_down=servers.redis.kill, bring_back=servers.redis.start,
                 before=LOAD_BEFORE, down=DOWN, after=LOAD_AFTER)
    records = load.records

    # Then every accepted command is done exactly once, nothing but quick 503s (naming redis)
    # while it was gone, no hang, and every accepted job reads succeeded
    figures, failures = h.evaluate(timeline, records, system, servers, jobs, load.tag,
                                   dependencies={"redis"}, job_timeout=JOBS_CONVERGE_WITHIN)
    h.report(figures, failures, system.notes)
    h.assert_checks(failures)
