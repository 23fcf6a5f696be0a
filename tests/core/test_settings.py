"""core/settings.py: what every process checks before it starts (load_settings)."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.settings import DEV_JWT_SECRET, InvalidSettings, Settings, problems

SECRET = "s" * 32


def test_a_value_that_is_not_of_its_settings_type_is_named_with_the_type():
    # Given variables that do not read as their settings' types (a typo of `false` included)
    environ = {"PORT": "80a", "RATE_LIMIT_ENABLED": "flase", "DATABASE_POOL_TIMEOUT": "soon"}

    # When the settings are read, then each is named with what it must be
    with pytest.raises(InvalidSettings) as invalid:
        Settings.from_env(environ)
    assert sorted(invalid.value.problems) == ["DATABASE_POOL_TIMEOUT: must be a number, not 'soon'",
                                              "PORT: must be a whole number, not '80a'",
                                              "RATE_LIMIT_ENABLED: must be true or false, not 'flase'"]


@pytest.mark.parametrize("changes, line", [
    ({"embedding_function": "hashed"}, "EMBEDDING_FUNCTION: must be one of minilm, not 'hashed'"),
    ({"environment": "staging"}, "ENVIRONMENT: must be one of production, development, not 'staging'"),
    ({"log_level": "loud"}, "LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'loud'"),
    ({"api_pool_size": 0}, "API_POOL_SIZE: must be at least 1, not 0"),
    ({"port": 70000}, "PORT: must be a port (1-65535), not 70000"),
    ({"metrics_port": 70000}, "METRICS_PORT: must be a port (0-65535), not 70000"),
    ({"jwt_public_key": "not a key"}, "JWT_PUBLIC_KEY: must be an RSA public key in PEM (-----BEGIN PUBLIC KEY-----), "
                                      "or unset for HS256"),
    ({"redis_url": "localhost:6379"}, "REDIS_URL: must be a URL of redis or rediss or unix, not 'localhost:6379'"),
    ({"rate_limit_search": "often"}, "RATE_LIMIT_SEARCH: must be a rate such as 120/minute, not 'often'"),
    ({"jwt_secret": "short"}, "JWT_SECRET: must be at least 32 bytes, not 5"),
    ({"metrics_port": 0}, "METRICS_PORT: 0 serves the API's metrics on its public port: a port of their own "
                          "(9190), or ENVIRONMENT=development"),
])
def test_each_setting_a_process_cannot_use_is_one_line_naming_it(changes, line):
    # Given production settings with a good secret and one bad value
    settings = Settings(**{"jwt_secret": SECRET, **changes})

    # When they are checked, then that value is the one problem, said in one line
    assert problems(settings) == [line]


def test_development_may_use_the_published_secret_and_the_public_metrics_port_and_production_may_not():
    # Given the shipped defaults with the API's metrics on its public port
    shipped = {"jwt_secret": DEV_JWT_SECRET, "metrics_port": 0}

    # Then only development accepts them
    assert problems(Settings(environment="development", **shipped)) == []
    assert [line.split(":")[0] for line in problems(Settings(**shipped))] == ["JWT_SECRET", "METRICS_PORT"]


def test_an_rs256_deployment_still_needs_a_secret_of_its_own_for_the_cursors():
    # Given production verifying tokens with an RSA public key
    public_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    # Then the published secret is still refused (it signs the pagination cursors), a random one is not
    assert [line.split(":")[0] for line in problems(Settings(jwt_public_key=public_key))] == ["JWT_SECRET"]
    assert problems(Settings(jwt_public_key=public_key, jwt_secret=SECRET)) == []
