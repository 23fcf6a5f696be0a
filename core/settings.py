"""The one place that reads the environment; every process gets a `Settings` from here.

Kept free of imports from `api`, `workers` and `jobs` so any of them (and the tests) can build
settings without dragging in another process's code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from urllib.parse import urlsplit, urlunsplit

DEV_JWT_SECRET = "dev-only-secret-change-me-in-production-0123456789"
API_ROLE = "challenges_api"
DEVELOPMENT = "development"
ENVIRONMENTS = ("production", DEVELOPMENT)
# RFC 7518 section 3.2: an HS256 key at least as long as the hash (32 bytes).
MIN_HS256_SECRET_BYTES = 32


def _bool(value: str) -> bool:
    word = value.strip().lower()
    if word not in TRUE_WORDS | FALSE_WORDS:
        raise ValueError(value)
    return word in TRUE_WORDS


TRUE_WORDS, FALSE_WORDS = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})
# The annotations are strings (`from __future__ import annotations`): how each is read, and said.
READERS = {"str": str, "int": int, "float": float, "bool": _bool}
KINDS = {"str": "text", "int": "a whole number", "float": "a number", "bool": "true or false"}


class InvalidSettings(ValueError):
    """Settings a process must not start with; `problems` has a line per setting, naming it."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def with_user(database_url: str, user: str) -> str:
    """The same database URL, logging in as another role (password, if any, dropped)."""
    parts = urlsplit(database_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


@dataclass(frozen=True)
class Settings:
    # `development` (what `challenges dev` and the tests set) allows the published JWT secret
    # and metrics on the API's own port; anything else is production (safety_problems below).
    environment: str = "production"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/challenges"
    api_database_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_namespace: str = "challenges"
    chroma_url: str = "http://127.0.0.1:8000"
    chroma_collection: str = "challenge_events"
    embedding_function: str = "minilm"
    jwt_secret: str = DEV_JWT_SECRET
    jwt_public_key: str = ""
    jwt_audience: str = ""
    jwt_issuer: str = ""
    # A token whose `exp` lies further ahead than this is refused: a leaked one cannot live forever.
    jwt_max_ttl_seconds: int = 30 * 24 * 3600
    port: int = 8080
    auto_post_to_feed: bool = True
    challenge_ttl_seconds: int = 7 * 24 * 3600
    leaderboard_reconcile_seconds: int = 3600
    # A crowd figure is shown only with this many distinct athletes behind it (docs/domain.md).
    crowd_min_athletes: int = 5
    # How often the scheduler recomputes the kinds' figures and repairs the workouts' (jobs/crowd.py).
    crowd_refresh_seconds: int = 300
    expiry_interval_seconds: int = 60
    outbox_sweep_seconds: int = 30
    outbox_grace_seconds: int = 10
    job_ttl_seconds: int = 24 * 3600
    command_retention_seconds: int = 8 * 24 * 3600
    idempotency_ttl_seconds: int = 24 * 3600
    api_pool_size: int = 4
    worker_pool_size: int = 4
    # How long an API request waits for a pooled PostgreSQL connection before answering 503, and
    # how long opening one may take (libpq counts whole seconds, at least 2).
    database_pool_timeout: float = 1.5
    database_connect_timeout: int = 2
    # How long one statement may run (PostgreSQL's statement_timeout, and the client's bound on
    # waiting for any answer, a quarter second longer: a frozen server cancels nothing): the
    # API's reads, a worker's commands, the scheduler's batches (docs/operations.md).
    api_statement_timeout: float = 1.0
    worker_statement_timeout: float = 30.0
    scheduler_statement_timeout: float = 300.0
    # Every Redis client's limits: a command that takes longer has lost its server. Blocking
    # calls (Prefer: wait) block in slices shorter than this.
    redis_socket_timeout: float = 2.0
    redis_connect_timeout: float = 1.0
    chroma_auth_token: str = ""
    # Every request to ChromaDB is answered within this or fails as unavailable; after such a
    # failure the process leaves ChromaDB alone for 5 s (core/event_log.py).
    chroma_timeout_seconds: float = 2.0
    max_request_body_bytes: int = 64 * 1024
    rate_limit_enabled: bool = True
    rate_limit_mutations: str = "120/minute"
    rate_limit_reads: str = "600/minute"
    rate_limit_auth_failures: str = "30/minute"
    rate_limit_search: str = "30/minute"
    # Metrics (docs/operations.md, "Metrics"): the API's own port, the scheduler's, and the address
    # both bind to. 0 puts the API's /metrics on its public port, in development only.
    metrics_port: int = 9190
    metrics_host: str = "127.0.0.1"
    scheduler_metrics_port: int = 9192
    log_level: str = "INFO"
    log_format: str = "json"  # or "human" (`challenges dev`); core/logs.py

    def __post_init__(self):
        if not self.api_database_url:
            object.__setattr__(self, "api_database_url", with_user(self.database_url, API_ROLE))

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        """Every field from its upper-case variable, when set and not empty; InvalidSettings
        naming each one that is not a value of its field's type."""
        env = os.environ if environ is None else environ
        values, problems = {}, []
        for field in fields(cls):
            text = env.get(field.name.upper())
            if not text:
                continue
            try:
                values[field.name] = READERS[field.type](text)
            except ValueError:
                problems.append(f"{field.name.upper()}: must be {KINDS[field.type]}, not {text!r}")
        if problems:
            raise InvalidSettings(problems)
        if "database_url" in values and "api_database_url" not in values:
            values["api_database_url"] = ""
        return replace(cls(), **values)

    @property
    def development(self) -> bool:
        return self.environment == DEVELOPMENT

    def key(self, *parts: str) -> str:
        """A Redis key under this deployment's namespace, shared by the API and the workers."""
        return ":".join((self.redis_namespace, *map(str, parts)))


def problems(settings: Settings) -> list[str]:
    """Every setting these settings must not run with, a line each: `NAME: what it accepts`."""
    return [*value_problems(settings), *safety_problems(settings)]


def value_problems(settings: Settings) -> list[str]:
    """Values no process can work with, whatever the environment."""
    found = [f"{name.upper()}: must be one of {', '.join(choices)}, not {getattr(settings, name)!r}"
             for name, choices in CHOICES.items() if normalised(name, getattr(settings, name)) not in choices]
    found += [f"{name.upper()}: must be at least {least}, not {getattr(settings, name)}"
              for name, least in MINIMUMS.items() if getattr(settings, name) < least]
    found += [f"{name.upper()}: must be a port ({lowest}-65535), not {getattr(settings, name)}"
              for name, lowest in PORTS.items() if not lowest <= getattr(settings, name) < 65536]
    found += [f"{name.upper()}: must be a URL of {' or '.join(schemes)}, not {getattr(settings, name)!r}"
              for name, schemes in URL_SCHEMES.items() if not url_of(getattr(settings, name), schemes)]
    found += [f"{name.upper()}: must be a rate such as 120/minute, not {getattr(settings, name)!r}"
              for name in RATE_LIMITS if not is_rate(getattr(settings, name))]
    if settings.jwt_public_key and not is_rsa_public_key(settings.jwt_public_key):
        found.append("JWT_PUBLIC_KEY: must be an RSA public key in PEM (-----BEGIN PUBLIC KEY-----), "
                     "or unset for HS256")
    return found


CHOICES = {"environment": ENVIRONMENTS, "embedding_function": ("minilm",),
           "log_format": ("json", "human"), "log_level": ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")}
MINIMUMS = {"challenge_ttl_seconds": 1, "leaderboard_reconcile_seconds": 1, "crowd_min_athletes": 2,
            "crowd_refresh_seconds": 1, "expiry_interval_seconds": 1,
            "outbox_sweep_seconds": 1, "outbox_grace_seconds": 0, "job_ttl_seconds": 1,
            "command_retention_seconds": 1, "idempotency_ttl_seconds": 1, "api_pool_size": 1,
            "worker_pool_size": 1, "database_pool_timeout": 0.1, "database_connect_timeout": 2,
            "api_statement_timeout": 0.1, "worker_statement_timeout": 0.1, "scheduler_statement_timeout": 0.1,
            "redis_socket_timeout": 0.1, "redis_connect_timeout": 0.1, "max_request_body_bytes": 1,
            "jwt_max_ttl_seconds": 1, "chroma_timeout_seconds": 0.1}
# The lowest port each may name: METRICS_PORT=0 is metrics on the API's own port (development).
PORTS = {"port": 1, "scheduler_metrics_port": 1, "metrics_port": 0}
URL_SCHEMES = {"database_url": ("postgresql", "postgres"), "api_database_url": ("postgresql", "postgres"),
               "redis_url": ("redis", "rediss", "unix"), "chroma_url": ("http", "https")}
RATE_LIMITS = ("rate_limit_mutations", "rate_limit_reads", "rate_limit_auth_failures", "rate_limit_search")


def normalised(name: str, value: str) -> str:
    """LOG_FORMAT and LOG_LEVEL are read in any case; the others exactly."""
    return {"log_format": value.lower(), "log_level": value.upper()}.get(name, value)


def url_of(url: str, schemes: tuple[str, ...]) -> bool:
    parts = urlsplit(url)
    return parts.scheme in schemes and bool(parts.hostname or parts.path)


def is_rate(text: str) -> bool:
    from limits import parse  # the notation the rate limiter reads

    try:
        parse(text)
    except ValueError:
        return False
    return True


def is_rsa_public_key(text: str) -> bool:
    """Whether RS256 tokens can be verified with `text`, as the API's verifier will (PyJWT)."""
    from jwt.algorithms import RSAAlgorithm
    from jwt.exceptions import InvalidKeyError

    try:
        RSAAlgorithm(RSAAlgorithm.SHA256).prepare_key(text)
    except (InvalidKeyError, ValueError, TypeError):
        return False
    return True


def safety_problems(settings: Settings) -> list[str]:
    """What would make a process with these settings unsafe in production. Development
    (ENVIRONMENT=development) is allowed the conveniences production is not."""
    if settings.development:
        return []
    # JWT_SECRET signs the pagination cursors too (api/validation.py), so an RS256 deployment
    # needs one as well.
    found = []
    if settings.jwt_secret == DEV_JWT_SECRET:
        found.append("JWT_SECRET: is the development secret published in the repository: set a random "
                     f"secret of at least {MIN_HS256_SECRET_BYTES} bytes (it signs tokens under HS256 and "
                     "pagination cursors always), or ENVIRONMENT=development")
    elif len(settings.jwt_secret.encode()) < MIN_HS256_SECRET_BYTES:
        found.append(f"JWT_SECRET: must be at least {MIN_HS256_SECRET_BYTES} bytes, "
                     f"not {len(settings.jwt_secret.encode())}")
    if not settings.metrics_port:
        found.append("METRICS_PORT: 0 serves the API's metrics on its public port: a port of their own "
                     "(9190), or ENVIRONMENT=development")
    return found


def load_settings(environ=None) -> Settings:
    """The process's settings from the environment, or SystemExit (status 1) with a line per
    setting it must not start with: a process never serves with settings it cannot use."""
    try:
        settings = Settings.from_env(environ)
    except InvalidSettings as invalid:
        found = invalid.problems
    else:
        found = problems(settings)
    if found:
        raise SystemExit("invalid settings:\n" + "\n".join(f"  {line}" for line in found))
    return settings
