"""Safe by default: no Procfile process starts with a setting it cannot use (it exits naming it,
as `challenges check-config` does); outside development (ENVIRONMENT unset) none starts with the
JWT secret published in the repository or one too short for HS256; a token forged with the
published secret opens nothing on a production-configured API; and the API's metrics are on their
own loopback port, not on the public one."""

import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from core.settings import DEV_JWT_SECRET, Settings
from jobs.tokens import issue_token
from tests.running import Process, environment, names, scrape

START_SECONDS = 60
COMMUNITY_CHALLENGE = {"name": "Forged", "challenge_type": "workouts", "target_value": 1,
                       "duration_days": 7, "points_reward": 100000}


def production(**overrides: str) -> dict[str, str]:
    """The test session's environment as a deployment would set it: a random secret of 32 bytes,
    and no ENVIRONMENT (so production) nor METRICS_PORT (so the shipped one)."""
    env = environment(**{"JWT_SECRET": secrets.token_hex(32), **overrides})
    for name in ("ENVIRONMENT", "METRICS_PORT"):
        env.pop(name, None)
    return env


def run_to_exit(name: str, env: dict[str, str], directory: Path) -> tuple[int, str]:
    """The Procfile's process `name` run until it exits by itself (stopped, and the test failed,
    if it is still running after START_SECONDS): its exit code and output."""
    process = Process(name, env, directory / f"{name}.log")
    try:
        exit_code = process.popen.wait(timeout=START_SECONDS)
    finally:
        if process.popen.poll() is None:
            process.stop()
    return exit_code, process.log.read_text(errors="replace")


@pytest.mark.parametrize("secret", [DEV_JWT_SECRET, "thirty-one-bytes-is-too-short!!"],
                         ids=["the-published-secret", "a-31-byte-secret"])
@pytest.mark.parametrize("name", ["web", "worker", "scheduler"])
def test_no_process_starts_in_production_with_an_unsafe_jwt_secret(tmp_path, name, secret):
    # Given a production environment whose JWT_SECRET anyone could sign with
    env = production(JWT_SECRET=secret)

    # When the Procfile's process is started with it
    exit_code, output = run_to_exit(name, env, tmp_path)

    # Then it exits with an error that names the setting
    assert exit_code != 0, output
    assert "JWT_SECRET" in output, output


@pytest.mark.parametrize("setting, value, accepted", [
    ("EMBEDDING_FUNCTION", "hashed", "must be one of minilm"),
    ("LOG_FORMAT", "xml", "must be one of json, human"),
    ("RATE_LIMIT_READS", "lots", "must be a rate such as 120/minute"),
    ("API_POOL_SIZE", "four", "must be a whole number"),
])
@pytest.mark.parametrize("name", ["web", "worker"])
def test_a_process_with_a_setting_it_cannot_use_exits_at_start_naming_it(tmp_path, name, setting, value,
                                                                         accepted):
    # Given a production environment with one setting no process can work with
    env = production(**{setting: value})

    # When the Procfile's process is started with it, and the operator checks the settings
    exit_code, output = run_to_exit(name, env, tmp_path)
    checked = subprocess.run([str(Path(sys.executable).parent / "challenges"), "check-config"], env=env,
                             capture_output=True, text=True, timeout=60)

    # Then the process exits at once with a line naming the setting and what it accepts, and
    # check-config prints that line too
    line = f"{setting}: {accepted}"
    assert exit_code != 0 and line in output, output
    assert checked.returncode == 1 and line in checked.stderr, checked


def test_check_config_passes_settings_a_production_process_accepts():
    # Given production settings with a secret of its own
    # When the operator checks them, then they pass
    checked = subprocess.run([str(Path(sys.executable).parent / "challenges"), "check-config"],
                             env=production(), capture_output=True, text=True, timeout=60)
    assert (checked.returncode, checked.stdout) == (0, "settings ok (production)\n"), checked


@pytest.fixture(scope="module")
def production_web(tmp_path_factory):
    """The Procfile's web line with production settings, until the module's tests are done."""
    env = production()
    web = Process("web", env, tmp_path_factory.mktemp("production-web") / "web.log")
    try:
        yield web.wait_for_port(int(env["PORT"])), env
    finally:
        web.stop()


def test_a_token_forged_with_the_published_secret_is_refused_in_production(production_web):
    # Given a production API, and an admin token forged with the secret published in the repository
    _, env = production_web
    api = f"http://127.0.0.1:{env['PORT']}/api/v1"
    forged = issue_token(Settings(jwt_secret=DEV_JWT_SECRET), str(uuid.uuid4()), role="admin")
    genuine = issue_token(Settings.from_env(env), str(uuid.uuid4()))

    # When it creates a community challenge worth 100,000 points
    refused = httpx.post(f"{api}/community-challenges", json=COMMUNITY_CHALLENGE,
                         headers={"Authorization": f"Bearer {forged}"}, timeout=10)

    # Then 401, while a token signed with the deployment's own secret is served
    assert refused.status_code == 401, refused.text
    assert refused.json()["code"] == "unauthorized"
    served = httpx.get(f"{api}/challenges/list", headers={"Authorization": f"Bearer {genuine}"}, timeout=10)
    assert served.status_code == 200, served.text


def test_the_apis_metrics_are_on_their_own_port_and_not_on_the_public_one(production_web):
    # Given a production API with the shipped metrics settings, which has served a request
    _, env = production_web
    assert httpx.get(f"http://127.0.0.1:{env['PORT']}/healthz", timeout=10).status_code == 200

    # When anyone asks its public port for the metrics
    public = httpx.get(f"http://127.0.0.1:{env['PORT']}/metrics", timeout=10)

    # Then there are none there, and Prometheus finds them on the metrics port
    assert public.status_code == 404, public.text
    shipped = f"http://{Settings().metrics_host}:{Settings().metrics_port}/metrics"
    assert "challenges_http_requests_total" in names(scrape(shipped))
