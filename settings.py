"""The one place that reads the environment; every process gets a `Settings` from here.

Kept free of imports from `api`, `workers` and `jobs` so any of them (and the tests) can build
settings without dragging in another process's code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from urllib.parse import urlsplit, urlunsplit

DEV_JWT_SECRET = "dev-only-secret-change-me-in-production-0123456789"
API_ROLE = "challenges_api"
DEVELOPMENT = "development"
ENVIRONMENTS = ("production", DEVELOPMENT)
# RFC 7518 section 3.2: an HS256 key at least as long as the hash (32 bytes).
MIN_HS256_SECRET_BYTES = 32


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


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
    # Every Redis client's limits: a command that takes longer has lost its server. Blocking
    # calls (Prefer: wait) block in slices shorter than this.
    redis_socket_timeout: float = 2.0
    redis_connect_timeout: float = 1.0
    chroma_auth_token: str = ""
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
    log_format: str = "json"  # or "human" (`challenges dev`); workers/logs.py

    def __post_init__(self):
        if not self.api_database_url:
            object.__setattr__(self, "api_database_url", with_user(self.database_url, API_ROLE))

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        env = os.environ if environ is None else environ
        defaults = cls()
        readers = {
            "database_url": str, "api_database_url": str, "redis_url": str,
            "redis_namespace": str, "chroma_url": str, "chroma_collection": str,
            "environment": str, "embedding_function": str, "jwt_secret": str,
            "jwt_max_ttl_seconds": int, "jwt_public_key": str, "jwt_audience": str, "jwt_issuer": str, "port": int,
            "auto_post_to_feed": _bool, "challenge_ttl_seconds": int,
            "leaderboard_reconcile_seconds": int, "expiry_interval_seconds": int,
            "outbox_sweep_seconds": int, "outbox_grace_seconds": int, "job_ttl_seconds": int,
            "command_retention_seconds": int,
            "idempotency_ttl_seconds": int, "api_pool_size": int, "worker_pool_size": int,
            "database_pool_timeout": float, "database_connect_timeout": int,
            "redis_socket_timeout": float, "redis_connect_timeout": float,
            "chroma_auth_token": str, "max_request_body_bytes": int, "rate_limit_enabled": _bool,
            "rate_limit_mutations": str, "rate_limit_reads": str, "rate_limit_auth_failures": str,
            "rate_limit_search": str,
            "metrics_port": int, "metrics_host": str, "scheduler_metrics_port": int,
            "log_level": str, "log_format": str,
        }
        values = {name: read(env[name.upper()]) for name, read in readers.items() if env.get(name.upper())}
        if "database_url" in values and "api_database_url" not in values:
            values["api_database_url"] = ""
        return replace(defaults, **values)

    @property
    def development(self) -> bool:
        return self.environment == DEVELOPMENT

    def key(self, *parts: str) -> str:
        """A Redis key under this deployment's namespace, shared by the API and the workers."""
        return ":".join((self.redis_namespace, *map(str, parts)))


def safety_problems(settings: Settings) -> list[str]:
    """What would make a process with these settings unsafe, one line per setting, naming it.
    Development (ENVIRONMENT=development) is allowed the conveniences production is not."""
    problems = []
    if settings.environment not in ENVIRONMENTS:
        problems.append(f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, not {settings.environment!r}")
    if settings.jwt_max_ttl_seconds <= 0:
        problems.append("JWT_MAX_TTL_SECONDS must be a positive number of seconds")
    if settings.development:
        return problems
    if not settings.jwt_public_key:
        if settings.jwt_secret == DEV_JWT_SECRET:
            problems.append("JWT_SECRET is the development secret published in the repository: set a "
                            f"random secret of at least {MIN_HS256_SECRET_BYTES} bytes (or JWT_PUBLIC_KEY), "
                            "or ENVIRONMENT=development")
        elif len(settings.jwt_secret.encode()) < MIN_HS256_SECRET_BYTES:
            problems.append(f"JWT_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes for HS256, "
                            f"not {len(settings.jwt_secret.encode())}")
    if not settings.metrics_port:
        problems.append("METRICS_PORT=0 serves the API's metrics on its public port: development only")
    return problems


def require_safe(settings: Settings) -> Settings:
    """The settings, or SystemExit (status 1) with every problem on stderr: a process started
    with unsafe settings stops before it serves anything."""
    problems = safety_problems(settings)
    if problems:
        raise SystemExit("refusing to start: " + "; ".join(problems))
    return settings
