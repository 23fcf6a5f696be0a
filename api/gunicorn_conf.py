"""gunicorn's settings beyond the Procfile's flags: `gunicorn --config python:api.gunicorn_conf`."""

import os
import re
import shutil
import tempfile
from pathlib import Path

from api.access_log import gunicorn_logging_config
from core.settings import Settings, load_settings

# Every line, the access log's included, as the other processes write them (LOG_FORMAT, LOG_LEVEL).
try:
    logconfig_dict = gunicorn_logging_config(Settings.from_env())
except ValueError:  # settings that do not load: on_starting names them and stops gunicorn
    logconfig_dict = {}


WORKER_READY = "worker ready"
# gunicorn's threaded worker (what --threads picks), with its own refusals as problem+json.
worker_class = "api.gunicorn_worker.ProblemThreadWorker"


def post_worker_init(worker):
    """Each worker says when its app is loaded: before that it accepts no connection of its own
    (the benchmark waits for one line per worker before sending anything)."""
    worker.log.info("%s pid=%s", WORKER_READY, worker.pid)


# Metrics (api/metrics.py): every worker writes its values to files in one directory, which
# /metrics adds up. prometheus_client picks that mode once, when it is imported, and workers
# inherit the master's modules: so it is imported here only in the hooks, after on_starting.


def on_starting(server):
    """Before it binds: with settings it cannot use gunicorn exits, naming them. PROMETHEUS_MULTIPROC_DIR,
    unless set, is one per address served, since two gunicorns cannot share one; emptied of a
    previous run's files."""
    load_settings()
    empty_metrics_directory(Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                                                       str(default_metrics_directory(server)))))


def when_ready(server):
    from api.metrics import serve_on_metrics_port

    serve_on_metrics_port(Settings.from_env(), server.log)


def post_request(worker, req, environ, resp):
    """A refused body's rest is read and dropped before gunicorn closes the connection, so the
    client sees the 413 (api/validation.py, BodySizeLimit)."""
    from api.validation import UNREAD_BODY_KEY, discard_unread_body

    if environ.get(UNREAD_BODY_KEY):
        discard_unread_body(req.body, environ["gunicorn.socket"], environ[UNREAD_BODY_KEY])


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if directory == default_metrics_directory(server):
        shutil.rmtree(directory, ignore_errors=True)
    else:
        empty_metrics_directory(directory)


def default_metrics_directory(server) -> Path:
    return Path(tempfile.gettempdir()) / ("challenges-web-metrics-" + re.sub(r"\W", "_", server.cfg.bind[0]))


def empty_metrics_directory(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for values in directory.glob("*.db"):
        values.unlink(missing_ok=True)
