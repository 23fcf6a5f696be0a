"""docs/walkthrough.sh, run verbatim with bash and curl against the app served over real HTTP,
its commands carried out by the session's worker, its events indexed into the session's
ChromaDB: the walk-through the README sends people to must work as written."""

import json
import os
import re
import socketserver
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from jobs.tokens import issue_token
from tests.conftest import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "docs" / "walkthrough.sh"


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """A thread per request: a client waiting with `Prefer: wait` holds one, as in gunicorn."""

    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def base_url(app, worker):
    """The app, built as the `app` fixture builds it, on a free 127.0.0.1 port."""
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="walkthrough-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1"
    server.shutdown()
    server.server_close()


def section(output: str, heading: str) -> str:
    """What the script printed under the `== heading...` line, up to the next heading."""
    _, _, rest = output.partition(f"\n== {heading}")
    assert rest, f"no step {heading!r} in the output"
    return rest.split("\n", 1)[1].split("\n== ", 1)[0].strip()


def run_walkthrough(base_url: str, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "CHALLENGES": str(Path(sys.executable).parent / "challenges"), **env}
    return subprocess.run(["bash", str(SCRIPT), base_url], env=environment, capture_output=True,
                          text=True, timeout=100, cwd=ROOT)


def test_the_walkthrough_script_runs_verbatim_against_a_real_server(base_url, conn):
    # Given the API on a real port, a worker, and a coach's token exported as `challenges dev`
    # prints it
    coach = str(uuid.uuid4())
    coach_token = issue_token(SETTINGS, coach, role="coach")

    # When the script runs as the docs say
    run = run_walkthrough(base_url, COACH_TOKEN=coach_token)

    # Then every step succeeded
    assert run.returncode == 0, f"stdout:\n{run.stdout[-6000:]}\nstderr:\n{run.stderr[-3000:]}"
    out = run.stdout
    # And each step shows what its heading says, as a user would notice it
    assert '"code": "no_profile"' in section(out, "John has sent no command yet")
    assert '"did_beat": true, "result": "victory"' in section(out, "Sarah is notified")
    notified = section(out, "John's notifications")
    assert '"notification_type": "challenge_beaten"' in notified
    assert '"activity_type": "challenge_victory"' in notified
    assert "Too hard for me 😓" in section(out, "She quits it")
    assert '"round": 2' in section(out, "Round 2") and "Round 2! 💪" in section(out, "Round 2")
    assert section(out, "Sarah's insights so far").strip() == '{"items": []}'
    assert '"code": "invalid_state"' in section(out, "Accepting the withdrawn one")
    assert '"won": 1, "lost": 1, "quit": 1' in section(out, "Sarah's stats")
    assert '"wins": 1, "losses": 1, "quits": 1' in section(out, "Leaderboard among friends")
    assert '"order": "rating"' in section(out, "This week's board")
    assert '"milestones": [25]' in section(out, "Sarah logs a workout")
    assert '"total": 55, "current_streak": 1' in section(out, "Her progress")
    assert '"marked_read": 6' in section(out, "John's notifications: read")
    assert ("Friends challenge you to leg workouts most: 3 of the 3 challenges you received."
            in section(out, "Insights follow"))
    found = json.loads(section(out, "Search her own events"))["items"]
    assert found[0]["event_type"] == "challenge_abandoned"
    assert re.search(r"HTTP/1\.\d 202", section(out, "Without Prefer"))
    replayed = section(out, "Idempotency-Key").splitlines()
    assert len(replayed) == 2 and len({json.loads(line)["job_id"] for line in replayed}) == 1
    # And the users it printed are the ones it used
    john = re.search(r"^John +([0-9a-f-]{36})$", out, re.MULTILINE).group(1)
    sarah = re.search(r"^Sarah +([0-9a-f-]{36})$", out, re.MULTILINE).group(1)
    rows = conn.execute("SELECT id::text, display_name FROM users WHERE id IN (%s, %s)", (john, sarah))
    names = {row["id"]: row["display_name"] for row in rows}
    assert names == {john: "Johnny", sarah: "Sarah"}
    # And the coach who made the community challenge is the one of COACH_TOKEN
    made_by = conn.execute("SELECT created_by::text FROM challenges WHERE name = '4 Workouts This Week'")
    assert [row["created_by"] for row in made_by] == [coach]


def test_the_walkthrough_script_stops_at_the_first_failing_step(base_url):
    # Given a base URL with nothing behind it (the API's path misspelt)
    wrong = base_url.replace("/api/v1", "/api/v0")

    # When the script runs against it
    run = run_walkthrough(wrong, COACH_TOKEN=issue_token(SETTINGS, str(uuid.uuid4()), role="coach"))

    # Then it fails at the first step that needs the API, saying which, and goes no further
    assert run.returncode != 0
    assert "walkthrough: PUT /me failed" in run.stderr
    assert '"code": "not_found"' in run.stderr
    assert "== Friends" not in run.stdout and "== Done" not in run.stdout
