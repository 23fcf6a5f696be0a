"""docs/ops/: the Grafana dashboard and the Prometheus alert rules name only metrics that the
processes export. The names come from the API's, the worker's and the scheduler's metrics after
each has done what makes them appear (a labelled series exists once counted), the worker's from
the Procfile's running `dramatiq`, where Dramatiq's own are."""

import dataclasses
import json
import re
import uuid
from pathlib import Path

import pytest
import yaml
from prometheus_client import generate_latest

from jobs.metrics import SchedulerMetrics
from jobs.scheduler import build_scheduler
from tests.api.support import auth
from tests.conftest import SETTINGS
from tests.helpers import API, serving
from tests.running import (Process, broker_for, environment, local_url, names, samples, scrape,
                           send_command_retried_once, send_failing_command, wait_until, wipe, workout_message)

OPS = Path(__file__).resolve().parents[1] / "docs" / "ops"
STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'')
MATCHERS_AND_RANGES = re.compile(r"\{[^}]*\}|\[[^\]]*\]")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENTIFIER = re.compile(r"(?<![\w$.])[a-zA-Z_:][\w:]*+(?!\s*\()")
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def metric_names(expression: str) -> set[str]:
    """The metrics a PromQL expression selects: what is left once strings, label matchers,
    ranges and grouping labels are gone, but functions (followed by `(`) and keywords."""
    bare = GROUPING.sub("", MATCHERS_AND_RANGES.sub("", STRINGS.sub('""', expression)))
    return {name for name in IDENTIFIER.findall(bare) if name not in KEYWORDS}


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((OPS / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((OPS / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def test_metric_names_are_read_from_promql():
    assert metric_names('time() - max by (job_name) (a_seconds{job_name="x"}) > 3 * max(b[5m] offset 1h)') \
        == {"a_seconds", "b"}
    assert metric_names('histogram_quantile(0.99, sum by (le) (rate(c_bucket{q=~"a|b"}[5m])))') \
        == {"c_bucket"}


def test_every_alert_has_a_severity_and_a_summary():
    rules = yaml.safe_load((OPS / "alerts.yml").read_text())
    for rule in (rule for group in rules["groups"] for rule in group["rules"]):
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def api_metric_names() -> set[str]:
    """After a command that outlasted its wait and a request refused by its rate limit."""
    settings = dataclasses.replace(SETTINGS, redis_namespace=SETTINGS.key("ops"),
                                   rate_limit_mutations="1/minute")
    with serving(settings) as client:
        headers = {**auth(str(uuid.uuid4())), "Prefer": "wait=1"}
        workout = {"workout_name": "Leg Day", "duration_minutes": 30, "total_volume": 1000}
        assert client.simulate_post(API + "/workouts", json=workout, headers=headers).status_code == 202
        assert client.simulate_post(API + "/workouts", json=workout, headers=headers).status_code == 429
        return names(samples(client.simulate_get("/metrics").text))


def scheduler_metric_names(conn, redis_client) -> set[str]:
    metrics = SchedulerMetrics()
    build_scheduler(SETTINGS, None, None, None, metrics)
    metrics.measure(conn, redis_client, SETTINGS)
    return names(samples(generate_latest(metrics.registry).decode()))


@pytest.fixture
def worker_metric_names(database, redis_client, tmp_path):
    """After a command that succeeded, one retried after a transient fault, and one that failed
    for good."""
    env = environment(WORKER_METRICS_DIR=str(tmp_path / "worker-metrics"), WORKER_PROCESSES="1")
    worker = Process("worker", env, tmp_path / "worker.log")
    try:
        url = local_url(env, "WORKER_METRICS_PORT")
        worker.wait_for_port(int(env["WORKER_METRICS_PORT"]))
        broker = broker_for(redis_client, env["REDIS_NAMESPACE"])
        broker.enqueue(workout_message(str(uuid.uuid4())))
        send_command_retried_once(broker, database)
        send_failing_command(broker)
        worked = {"challenges_commands_total", "dramatiq_message_retries_total",
                  "dramatiq_message_rejects_total"}
        assert wait_until(lambda: worked <= names(scrape(url)))
        yield names(scrape(url))
    finally:
        worker.stop()
        wipe(redis_client, env["REDIS_NAMESPACE"])


def test_the_dashboard_and_the_alerts_name_only_metrics_the_processes_export(conn, redis_client,
                                                                             worker_metric_names):
    # Given every metric the API, the worker and the scheduler export once they have worked
    exported = api_metric_names() | worker_metric_names | scheduler_metric_names(conn, redis_client)

    # When the dashboard's panels and the alert rules are read
    dashboard = set().union(*map(metric_names, dashboard_expressions()))
    alerts = set().union(*map(metric_names, alert_expressions()))

    # Then each metric they name is one of those, and they watch every process
    assert dashboard - exported == set()
    assert alerts - exported == set()
    for process_metric in ("challenges_http_requests_total", "dramatiq_messages_total",
                           "challenges_commands_total", "challenges_queue_messages"):
        assert process_metric in dashboard, process_metric
