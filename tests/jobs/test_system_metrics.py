"""The scheduler's gauges, what an operator watches the whole system by: each Dramatiq queue by
state, how long events wait to be published and indexed, challenges pending, leaderboard rows
repaired, when each scheduler job last succeeded; measured by a job of its own and served on the
scheduler's metrics port."""

import dataclasses
import time
import uuid

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent

from jobs import leaderboards
from jobs.metrics import MEASURE_INTERVAL_SECONDS, SchedulerMetrics
from jobs.scheduler import build_scheduler
from tests.conftest import SETTINGS
from tests.running import (Process, broker_for, environment, local_url, scrape, value, wait_until, wipe,
                           workout_message)

# Its own namespace under the session's (wiped before every test), which no worker consumes.
MEASURED = dataclasses.replace(SETTINGS, redis_namespace=SETTINGS.key("measured"))
LAST_SUCCESS = "challenges_scheduler_job_last_success_timestamp_seconds"


def gauge(metrics: SchedulerMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def add_event(conn, seconds_ago: int, published: bool) -> None:
    conn.execute("INSERT INTO events (event_type, payload, created_at, published_at)"
                  " VALUES ('challenge_created', '{}', now() - make_interval(secs => %s),"
                  " CASE WHEN %s THEN now() END)", (seconds_ago, published))
    conn.commit()


def test_each_queue_is_measured_by_state(conn, redis_client):
    # Given five commands queued, two delayed; a worker has taken two, and given up on one
    broker = broker_for(redis_client, MEASURED.redis_namespace)
    for _ in range(5):
        broker.enqueue(workout_message(str(uuid.uuid4())))
    for _ in range(2):
        broker.enqueue(workout_message(str(uuid.uuid4())), delay=60_000)
    consumer = broker.consume("commands", prefetch=2, timeout=100)
    next(consumer)
    consumer.nack(next(consumer))

    # When the scheduler measures the system
    metrics = SchedulerMetrics()
    metrics.measure(conn, redis_client, MEASURED)

    # Then each state of the commands queue has its count, and the other queues are empty
    commands = {state: gauge(metrics, "challenges_queue_messages", queue="commands", state=state)
                for state in ("ready", "unacked", "delayed", "dead")}
    assert commands == {"ready": 3, "unacked": 1, "delayed": 2, "dead": 1}
    for queue in ("events", "event_log"):
        assert gauge(metrics, "challenges_queue_messages", queue=queue, state="ready") == 0


def test_events_waiting_to_be_published_or_indexed_are_measured_by_the_oldest(conn, redis_client):
    # Given nothing waiting, then an event published five minutes ago but not yet in the event
    # log, and one that has waited two minutes to be published
    metrics = SchedulerMetrics()
    metrics.measure(conn, redis_client, MEASURED)
    assert gauge(metrics, "challenges_outbox_oldest_unpublished_age_seconds") == 0
    assert gauge(metrics, "challenges_event_log_oldest_unindexed_age_seconds") == 0
    add_event(conn, 300, published=True)
    add_event(conn, 120, published=False)

    # When the scheduler measures the system
    metrics.measure(conn, redis_client, MEASURED)

    # Then the oldest unpublished event is two minutes old, the oldest unindexed one five
    assert 120 <= gauge(metrics, "challenges_outbox_oldest_unpublished_age_seconds") < 300
    assert 300 <= gauge(metrics, "challenges_event_log_oldest_unindexed_age_seconds") < 3600


def test_pending_challenges_and_leaderboard_repairs_are_measured(api, conn, scheduler_conn, redis_client):
    # Given a challenge waiting for an answer, and John's sent count wrong on the all-time board
    john, sarah = api.sign_up("John"), api.sign_up("Sarah")
    api.befriend(john, sarah)
    api.challenge(john, [sarah], api.log_workout(john))
    conn.execute("UPDATE leaderboard_counters SET challenges_sent = 7 WHERE user_id = %s AND season = 'all'",
                 (john,))
    conn.commit()

    # When the scheduler measures the system and reconciles the leaderboards, as its jobs do
    metrics = SchedulerMetrics()
    metrics.measure(conn, redis_client, MEASURED)
    metrics.leaderboard_repaired(leaderboards.reconcile_leaderboards(scheduler_conn))

    # Then one challenge is pending, and one counter row was repaired
    assert gauge(metrics, "challenges_pending_challenges") == 1
    assert gauge(metrics, "challenges_leaderboard_repairs_total", kind="counters") == 1


def test_every_job_reports_its_interval_and_its_last_success_but_not_a_run_another_scheduler_did():
    # Given the scheduler's jobs
    metrics = SchedulerMetrics()
    build_scheduler(SETTINGS, None, None, None, metrics)
    last_success = {"job_name": "sweep_outbox"}
    started = gauge(metrics, LAST_SUCCESS, **last_success)

    # Then each reports how often it runs, and until it succeeds, when the scheduler started
    assert gauge(metrics, "challenges_scheduler_job_interval_seconds", job_name="reconcile_leaderboards") == \
        SETTINGS.leaderboard_reconcile_seconds
    assert gauge(metrics, "challenges_scheduler_job_interval_seconds", job_name="measure_system") == \
        MEASURE_INTERVAL_SECONDS
    assert started <= time.time()

    # When the outbox sweep is skipped (another scheduler held its lock), it has not succeeded
    metrics.job_executed(JobExecutionEvent(EVENT_JOB_EXECUTED, "sweep_outbox", None, None, retval=False))
    assert gauge(metrics, LAST_SUCCESS, **last_success) == started

    # When it runs, it has, just now
    before = time.time()
    metrics.job_executed(JobExecutionEvent(EVENT_JOB_EXECUTED, "sweep_outbox", None, None, retval=True))
    assert gauge(metrics, LAST_SUCCESS, **last_success) >= before


def test_the_running_scheduler_serves_the_systems_gauges_on_its_metrics_port(conn, redis_client, tmp_path):
    # Given four commands waiting for a worker, and an event that has waited two minutes to be
    # published
    env = environment()
    broker = broker_for(redis_client, env["REDIS_NAMESPACE"])
    for _ in range(4):
        broker.enqueue(workout_message(str(uuid.uuid4())))
    add_event(conn, 120, published=False)

    # When the Procfile's scheduler starts
    scheduler = Process("scheduler", env, tmp_path / "scheduler.log")
    try:
        scheduler.wait_for_port(int(env["SCHEDULER_METRICS_PORT"]))
        url = local_url(env, "SCHEDULER_METRICS_PORT")

        # Then its metrics port reports them, measured as it started
        assert wait_until(lambda: value(scrape(url), "challenges_queue_messages", queue="commands",
                                        state="ready") == 4)
        found = scrape(url)
        assert value(found, "challenges_outbox_oldest_unpublished_age_seconds") >= 120
        assert value(found, "challenges_scheduler_job_interval_seconds", job_name="sweep_outbox") == \
            SETTINGS.outbox_sweep_seconds
    finally:
        scheduler.stop()
        wipe(redis_client, env["REDIS_NAMESPACE"])
