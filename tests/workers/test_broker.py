"""How a job that failed through every retry ends: what the broker's middleware records."""

import psycopg
import psycopg_pool
import pytest
import redis

from core.event_log import EventLogUnavailable
from workers.broker import failure


@pytest.mark.parametrize("error,dependency", [
    (psycopg.OperationalError("server closed the connection"), "postgres"),
    (psycopg_pool.PoolTimeout("no connection"), "postgres"),
    (redis.ConnectionError("refused"), "redis"),
    (EventLogUnavailable("ChromaDB down"), "chromadb"),
])
def test_a_job_whose_dependency_stayed_down_fails_as_503_naming_it(error, dependency):
    # Given a command whose last retry failed because a service stayed unavailable
    # When its failure is recorded
    recorded = failure(error)

    # Then the job says which service, and that trying again later is the thing to do
    assert (recorded["status"], recorded["code"], recorded["dependency"]) == (503, "service_unavailable", dependency)


def test_a_job_that_failed_for_a_bug_of_ours_is_a_500():
    recorded = failure(KeyError("bogus"))
    assert (recorded["status"], recorded["code"]) == (500, "internal_error")
    assert "dependency" not in recorded
