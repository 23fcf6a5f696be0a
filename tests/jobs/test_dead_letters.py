"""`challenges dead-letters`: commands that died for real are listed, retried once their cause is
gone and then carried out once, and purged by age.

The real failure: a worker deployed before `challenges migrate` ran, on a database without the
tables. Each test has its own empty database, its own Redis namespace and its own `dramatiq
workers.app` process on them, so nothing else consumes its queues.
"""

import json
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from jobs import dead_letters
from jobs.cli import main
from tests.conftest import SETTINGS, empty_database
from tests.faults.harness import wait_until
from tests.helpers import Api

ROOT = Path(__file__).resolve().parents[2]
DRAMATIQ = Path(sys.executable).parent / "dramatiq"
WORKER_READY_WITHIN = 60.0
DIES_WITHIN = 30.0
DONE_WITHIN = 30.0
THREE_DAYS_MS = 3 * 86_400_000


@pytest.fixture
def settings():
    """A deployment of its own: an empty database, a Redis namespace nobody else uses."""
    run = uuid.uuid4().hex[:10]
    with empty_database(f"wc_dead_letters_{run}") as url:
        yield replace(SETTINGS, database_url=url, api_database_url="", redis_namespace=f"wc-dead-letters-{run}")


@pytest.fixture
def redis(redis_client, settings):
    yield redis_client
    keys = list(redis_client.scan_iter(match=f"{settings.redis_namespace}:*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def operator(settings, monkeypatch):
    """`challenges ...` as an operator of that deployment runs it."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_NAMESPACE", settings.redis_namespace)

    def run(capsys, *argv: str) -> str:
        main(list(argv))
        return capsys.readouterr().out

    return run


@pytest.fixture
def deployed_worker(settings, redis, tmp_path):
    """`dramatiq workers.app` on the deployment's commands queue, once it polls Redis."""
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_NAMESPACE": settings.redis_namespace,
           "dramatiq_worker_timeout": "100", "PYTHONPATH": str(ROOT)}
    with open(tmp_path / "worker.log", "wb") as log:
        process = subprocess.Popen(
            [str(DRAMATIQ), "workers.app", "--processes", "1", "--threads", "2", "--queues", "commands"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_until(lambda: redis.zcard(settings.key("dramatiq", "__heartbeats__")),
                          WORKER_READY_WITHIN), (tmp_path / "worker.log").read_text()
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def api(settings):
    """The deployment's API (overrides the session's: this one sends to the deployment)."""
    from api.app import create_app

    app = create_app(settings)
    yield Api(app)
    app.close()


def log_workout(api, user: str, name: str) -> str:
    """A workout the user logs, without waiting for it; its job id."""
    response = api.post("/workouts", user, {"workout_name": name, "duration_minutes": 30,
                                             "total_volume": 1000, "volume_unit": "kg"}, wait=0)
    assert response.status_code == 202, response.text
    return response.json["job_id"]


def dead_ids(redis, settings) -> set[str]:
    return {letter.message_id for letter in dead_letters.dead_letters(redis, settings.key("dramatiq"))}


def died(redis, settings, job_ids: set[str]) -> bool:
    return wait_until(lambda: dead_ids(redis, settings) == job_ids, DIES_WITHIN)


def test_commands_that_died_are_listed_then_retried_once_the_cause_is_gone_and_carried_out_once(
        settings, redis, deployed_worker, api, operator, capsys):
    # Given a worker deployed before the migrations ran, and two workouts it could not log
    ann, bob = str(uuid.uuid4()), str(uuid.uuid4())
    first, second = log_workout(api, ann, "Legs"), log_workout(api, bob, "Arms")
    assert died(redis, settings, {first, second})

    # When the operator lists the dead letters
    listing = operator(capsys, "dead-letters", "list")

    # Then each is one line: its id, queue, actor, job, the failure its job recorded and the
    # exception it died of
    lines = {line.split()[0]: line for line in listing.splitlines()
             if line.split()[:1] in ([first], [second])}
    assert set(lines) == {first, second}
    for job_id, line in lines.items():
        assert line.split()[1:3] == ["commands", "workouts.log"] and line.count(job_id) == 2, line
        assert "internal_error" in line and "UndefinedTable" in line, line
    assert "2 dead letter(s)" in listing
    # And the JSON says the same to a script
    described = {row["id"]: row for row in json.loads(operator(capsys, "dead-letters", "list", "--json"))}
    assert {(row["queue"], row["actor"], row["job_id"], row["retries"]) for row in described.values()} == {
        ("commands", "workouts.log", first, 1), ("commands", "workouts.log", second, 1)}

    # When the cause is gone (the migrations run), and two operators retry the first at once:
    # one read the dead letters just before the other retried it
    assert "applied" in operator(capsys, "migrate")
    [read_before] = dead_letters.find(dead_letters.dead_letters(redis, settings.key("dramatiq")), first)
    retried = operator(capsys, "dead-letters", "retry", first)
    retried_again = dead_letters.retry(redis, settings.key("dramatiq"), read_before)
    # and the rest are retried together
    rest = operator(capsys, "dead-letters", "retry", "--all")

    # Then the first went back on its queue once, the second with the rest
    assert retried.strip() == f"re-enqueued {first} (workouts.log) on commands"
    assert retried_again is False
    assert rest.strip() == f"re-enqueued {second} (workouts.log) on commands"
    # And the worker carries out both, each once: its job succeeded, one workout logged
    def statuses():
        return [api.get(f"/jobs/{job}", owner).json["status"] for job, owner in ((first, ann), (second, bob))]

    assert wait_until(lambda: statuses() == ["succeeded", "succeeded"], DONE_WITHIN), statuses()
    with psycopg.connect(settings.database_url) as conn:
        logged = conn.execute("SELECT user_id::text, workout_name FROM workout_logs "
                              "ORDER BY workout_name").fetchall()
        outcomes = conn.execute("SELECT job_id::text, status FROM processed_commands").fetchall()
    assert logged == [(bob, "Arms"), (ann, "Legs")]
    assert sorted(outcomes) == sorted([(first, "succeeded"), (second, "succeeded")])
    # And nothing is dead any more; retrying again finds nothing
    assert operator(capsys, "dead-letters", "list").strip() == "no dead letters"
    with pytest.raises(SystemExit, match=f"no dead letter with id {first}"):
        operator(capsys, "dead-letters", "retry", first)


def test_purge_deletes_the_dead_letters_older_than_the_duration_and_keeps_the_others(
        settings, redis, deployed_worker, api, operator, capsys):
    # Given two workouts that died on a worker without its tables, one as if three days ago
    user = str(uuid.uuid4())
    old, young = log_workout(api, user, "Old"), log_workout(api, user, "Young")
    assert died(redis, settings, {old, young})
    dead = settings.key("dramatiq", "commands.XQ")
    [old_letter] = dead_letters.find(dead_letters.dead_letters(redis, settings.key("dramatiq")), old)
    redis.zadd(dead, {old_letter.redis_id: old_letter.died_at_ms - THREE_DAYS_MS}, xx=True)

    # When the operator purges those older than two days, then those of another queue
    purged = operator(capsys, "dead-letters", "purge", "--older-than", "2d")
    elsewhere = operator(capsys, "dead-letters", "purge", "--older-than", "1s", "--queue", "event_log")

    # Then the old one is gone, message and all, and the young one is still listed
    assert purged.strip() == "purged 1 dead letter(s) older than 2d: commands 1"
    assert elsewhere.strip() == "purged 0 dead letter(s) older than 1s"
    assert dead_ids(redis, settings) == {young}
    assert redis.hkeys(dead + ".msgs") == [redis.zrange(dead, 0, -1)[0]]
    assert young in operator(capsys, "dead-letters", "list", "--queue", "commands")


@pytest.mark.parametrize("text, milliseconds", [("7d", 604_800_000), ("12h", 43_200_000), ("30m", 1_800_000),
                                                ("45s", 45_000)])
def test_a_duration_is_a_number_and_a_unit(text, milliseconds):
    assert dead_letters.duration(text) == milliseconds


@pytest.mark.parametrize("text", ["7", "d", "7w", "-1d", "1.5h", "7 days"])
def test_anything_else_is_refused_before_anything_is_purged(text, capsys):
    # When an operator mistypes the duration
    with pytest.raises(SystemExit) as refused:
        main(["dead-letters", "purge", f"--older-than={text}"])

    # Then argparse refuses it, saying what it expected
    assert refused.value.code == 2
    assert "invalid duration value" in capsys.readouterr().err


@pytest.mark.parametrize("milliseconds, shown", [
    (0, "0s"), (45_999, "45s"), (125_000, "2m 5s"), (3 * 3_600_000, "3h"),
    (THREE_DAYS_MS + 4 * 3_600_000 + 60_000, "3d 4h")])
def test_ages_read_in_their_two_largest_units(milliseconds, shown):
    assert dead_letters.age(milliseconds) == shown
