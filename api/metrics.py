"""The API's metrics, in Prometheus' text format: requests by route template, method and status,
their latency, 503s by the dependency that was out of reach, commands enqueued, how `Prefer:
wait` ended, and rate-limit refusals.

Each app has its own registry (create_app makes its ApiMetrics), so a test reads the metrics of
the app it built. Under gunicorn every worker process writes its values to files in
PROMETHEUS_MULTIPROC_DIR instead (prometheus_client's multiprocess mode, which
api/gunicorn_conf.py turns on before anything imports prometheus_client), and /metrics adds up
the files of every worker, whichever one answers.
"""

import os
import time

import falcon
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from api.errors import DEPENDENCIES

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable
UNMATCHED = "unmatched"  # the route of a request that no route took (a 404)
OTHER_METHOD = "other"  # a method nobody routes, so that clients cannot make up label values


def multiprocess_registry() -> CollectorRegistry:
    """A registry that reads what every process wrote in PROMETHEUS_MULTIPROC_DIR."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


class ApiMetrics:
    """One app's metrics, in a registry of its own."""

    def __init__(self):
        self.registry = registry = CollectorRegistry()
        self.exposed = multiprocess_registry() if MULTIPROCESS_DIR in os.environ else registry
        self.requests = Counter("challenges_http_requests", "Requests answered, by route template, "
                                "method and status.", ["route", "method", "status"], registry=registry)
        self.latency = Histogram("challenges_http_request_duration_seconds", "Time to answer a request, "
                                 "a `Prefer: wait` included, by route template and method.",
                                 ["route", "method"], registry=registry)
        self.unavailable = Counter("challenges_http_unavailable", "503 answers, by the dependency out "
                                   "of reach (postgres, redis, chromadb).", ["dependency"], registry=registry)
        self.enqueued = Counter("challenges_jobs_enqueued", "Commands enqueued, by actor.", ["actor"],
                                registry=registry)
        self.waits = Counter("challenges_prefer_wait", "Mutations sent with `Prefer: wait`, by actor and "
                             "outcome: `done` (the job was final within the wait) or `timed_out` (still "
                             "queued or running when it ended: answered 202).", ["actor", "outcome"],
                             registry=registry)
        self.refusals = Counter("challenges_rate_limit_refusals", "Requests refused with 429, by budget.",
                                ["budget"], registry=registry)
        for dependency in DEPENDENCIES:  # at 0 from the start, so that a rate over them is 0, not absent
            self.unavailable.labels(dependency)

    def answered(self, route: str, method: str, status: int, seconds: float, dependency: str | None) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)
        if dependency in DEPENDENCIES:
            self.unavailable.labels(dependency).inc()

    def job_enqueued(self, actor: str) -> None:
        self.enqueued.labels(actor).inc()

    def waited(self, actor: str, done: bool) -> None:
        self.waits.labels(actor, "done" if done else "timed_out").inc()

    def refused(self, budget: str) -> None:
        self.refusals.labels(budget).inc()


class RequestMetrics:
    """Counts and times every request under the route template Falcon matched, never its path
    (one series per route, not one per id). First in the middleware, so it times the rest too."""

    def __init__(self, metrics: ApiMetrics):
        self.metrics = metrics

    def process_request(self, req, resp):
        req.context.started_at = time.perf_counter()

    def process_response(self, req, resp, resource, req_succeeded):
        method = req.method if req.method in falcon.COMBINED_METHODS else OTHER_METHOD
        problem = resp.media if resp.status_code == 503 and isinstance(resp.media, dict) else {}
        self.metrics.answered(req.uri_template or UNMATCHED, method, resp.status_code,
                              time.perf_counter() - req.context.started_at, problem.get("dependency"))


class MetricsEndpoint:
    """GET /metrics for Prometheus: outside /api/v1, with no token and no rate limit (`public`),
    and not in the OpenAPI document (`openapi = None`): it is for operators, not clients."""

    public = True
    openapi = None

    def __init__(self, metrics: ApiMetrics):
        self.metrics = metrics

    def on_get(self, req, resp):
        encode, resp.content_type = choose_encoder(req.get_header("Accept"))  # as Prometheus asks
        resp.data = encode(self.metrics.exposed)


def serve_on_metrics_port(settings, log) -> None:
    """With METRICS_PORT set, every worker's metrics there (bound to METRICS_HOST), served by
    gunicorn's master, which outlives its workers. A port already taken is logged as an error
    and the API serves on: metrics are not worth an outage."""
    if not settings.metrics_port:
        return
    try:
        start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=multiprocess_registry())
    except OSError as error:
        log.error("metrics not served on %s:%s: %s", settings.metrics_host, settings.metrics_port, error)
