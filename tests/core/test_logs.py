"""Logs that follow a command, as the Procfile's processes write them: the request id the API
answers with is on gunicorn's access line for that request and on the worker's line for the
command it queued, with the job, the actor and the caller."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from dramatiq.brokers.redis import RedisBroker

from core.commands import build_message
from jobs.dev import procfile_commands
from jobs.local_servers import free_port, wait_for_port
from jobs.tokens import issue_token
from tests.conftest import RUN_ID, SETTINGS

ROOT = Path(__file__).resolve().parents[2]
WORKER_READY = "Worker process is ready for action."
# These processes get a Redis namespace of their own: the session's in-process worker, if a test
# has started it, must not take their messages.
NAMESPACE = f"wc-test-logs-{RUN_ID}"
LINE_TIMEOUT_SECONDS = 60


def json_lines(text: str) -> list[dict]:
    """The lines that are JSON objects (Dramatiq's parent process writes a few text lines of its
    own: it loads none of our code)."""
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def json_line(matches):
    return lambda text: next((line for line in json_lines(text) if matches(line)), None)


def text_line(containing: str):
    return lambda text: next((line for line in text.splitlines() if containing in line), None)


def wait_for(path: Path, process: subprocess.Popen, find):
    """What `find` finds in the log `path` of `process`, once it has been written."""
    deadline = time.monotonic() + LINE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        found = find(path.read_text(errors="replace"))
        if found is not None:
            return found
        assert process.poll() is None, f"{path.name}: the process exited:\n{path.read_text()[-3000:]}"
        time.sleep(0.1)
    raise AssertionError(f"not in {path.name}:\n{path.read_text()[-3000:]}")


@contextmanager
def procfile_process(name: str, log_path: Path, **env):
    """The Procfile's `name` line on NAMESPACE and 127.0.0.1, its output in `log_path`."""
    environment = dict(os.environ, REDIS_NAMESPACE=NAMESPACE, CHROMA_COLLECTION=f"logs-{RUN_ID}",
                       PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
                       **env)
    command = procfile_commands()[name].replace("0.0.0.0", "127.0.0.1")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(["sh", "-c", command], cwd=ROOT, env=environment,
                                   start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@contextmanager
def procfile_worker(log_path: Path, log_format: str):
    """One worker process of two threads, ready for messages."""
    with procfile_process("worker", log_path, LOG_FORMAT=log_format, WORKER_PROCESSES="1",
                          WORKER_THREADS="2") as worker:
        wait_for(log_path, worker, text_line(WORKER_READY))
        yield worker


@contextmanager
def procfile_web(log_path: Path, log_format: str):
    """One gunicorn worker of two threads, listening; yields the API's base URL and gunicorn."""
    port = free_port()
    with procfile_process("web", log_path, LOG_FORMAT=log_format, PORT=str(port), WEB_CONCURRENCY="1",
                          WEB_THREADS="2") as web:
        wait_for_port(port, "the Procfile's web")
        yield f"http://127.0.0.1:{port}/api/v1", web


def call(method: str, url: str, user: str, body: dict | None = None, **headers):
    """An HTTP request as John's app sends it; the response (error statuses included)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {issue_token(SETTINGS, user)}", "Content-Type": "application/json",
        "User-Agent": "challenges-app/1.0", **headers})
    try:
        return urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as error:
        return error


@pytest.fixture
def namespace(redis_client):
    """NAMESPACE's settings; its keys are deleted afterwards."""
    yield replace(SETTINGS, redis_namespace=NAMESPACE)
    keys = list(redis_client.scan_iter(match=f"{NAMESPACE}:*", count=1000))
    if keys:
        redis_client.delete(*keys)


def test_the_request_id_follows_a_command_from_the_api_into_the_workers_json_log(tmp_path, namespace):
    # Given the Procfile's web and worker processes, logging JSON
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    john = str(uuid.uuid4())
    with procfile_worker(worker_log, "json") as worker, procfile_web(web_log, "json") as (api, web):
        # When John sets his profile and waits for it
        response = call("PUT", f"{api}/me", john, {"display_name": "John"}, Prefer="wait=5")
        assert response.status == 200, response.read()
        request_id, job_id = response.headers["X-Request-ID"], json.load(response)["job_id"]

        # Then gunicorn's access line for the request carries the request id the API answered with
        access = wait_for(web_log, web, json_line(lambda line: line.get("request_id") == request_id))
        # and so does the worker's line about the command, with the job, the actor and John
        command = wait_for(worker_log, worker, json_line(lambda line: line.get("request_id") == request_id))
    assert uuid.UUID(request_id)
    assert {key: access[key] for key in ("logger", "method", "path", "route", "status", "user_id",
                                         "remote_addr", "user_agent")} == {
        "logger": "gunicorn.access", "method": "PUT", "path": "/api/v1/me", "route": "/api/v1/me",
        "status": 200, "user_id": john, "remote_addr": "127.0.0.1", "user_agent": "challenges-app/1.0"}
    assert access["duration_ms"] >= 0
    assert {key: command[key] for key in ("level", "logger", "job_id", "actor", "user_id", "outcome")} == {
        "level": "INFO", "logger": "workers.commands", "job_id": job_id, "actor": "users.update_profile",
        "user_id": john, "outcome": "succeeded"}
    assert command["message"].startswith("command succeeded in ")


def test_the_clients_request_id_is_on_its_short_human_access_line(tmp_path, namespace):
    # Given the Procfile's web process, logging for humans
    web_log = tmp_path / "web.log"
    john = str(uuid.uuid4())
    with procfile_web(web_log, "human") as (api, web):
        # When John reads his feed under his own request id
        response = call("GET", f"{api}/feed", john, **{"X-Request-ID": "trace-feed-1"})
        assert response.status == 200, response.read()
        assert response.headers["X-Request-ID"] == "trace-feed-1"

        # Then the access line says what was asked and how it went, then the request id and John
        line = wait_for(web_log, web, text_line("rid=trace-feed-1"))
    assert " INFO gunicorn.access: GET /api/v1/feed 200 " in line
    assert line.endswith(f"ms rid=trace-feed-1 user={john}")


def test_a_path_and_a_header_cannot_forge_a_human_line_or_drive_the_terminal(tmp_path, namespace):
    # Given the Procfile's web process, logging for humans
    web_log = tmp_path / "web.log"
    with procfile_web(web_log, "human") as (api, web):
        # When a client asks for a path holding a newline, a forged line and an escape code,
        # and sends an escape code in a header (which gunicorn refuses with a 400)
        forged = "zz%0A18:59:59%20INFO%20FORGED-LINE%1B[2J"
        assert call("GET", f"{api}/{forged}", str(uuid.uuid4())).status == 404
        assert call("GET", f"{api}/feed", str(uuid.uuid4()), **{"X-Request-ID": "trace\x1b[2J"}).status == 400

        # Then its access line is one line, the newline and the escape codes written out
        line = wait_for(web_log, web, text_line("gunicorn.access: GET /api/v1/zz"))
    text = web_log.read_text(errors="replace")
    assert line.endswith(f"GET /api/v1/zz\\n18:59:59 INFO FORGED-LINE\\x1b[2J 404 {line.split(' 404 ')[1]}")
    assert not [other for other in text.splitlines() if other.startswith("18:59:59 INFO FORGED-LINE")]
    assert "\x1b" not in text


def test_a_rejected_command_says_why_in_a_human_line(tmp_path, namespace, redis_client):
    # Given the Procfile's worker, logging for humans
    worker_log = tmp_path / "worker.log"
    john, job_id = str(uuid.uuid4()), str(uuid.uuid4())
    with procfile_worker(worker_log, "human") as worker:
        # When a command its rule refuses reaches it (John befriending himself, which the API
        # would refuse before queuing), queued as the API queues it under John's request id
        broker = RedisBroker(client=redis_client, namespace=namespace.key("dramatiq"), middleware=[])
        broker.enqueue(build_message("friends.request", job_id, {"user_id": john, "friend_id": john},
                                     request_id="trace-john-1"))

        # Then its line says which rule refused it, under the request id, job, actor and caller
        line = wait_for(worker_log, worker, text_line("rid=trace-john-1"))
    assert " INFO workers.commands: command rejected: validation_error in " in line
    assert line.endswith(f" rid=trace-john-1 job={job_id} actor=friends.request user={john}")
