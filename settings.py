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


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def with_user(database_url: str, user: str) -> str:
    """The same database URL, logging in as another role (password, if any, dropped)."""
    parts = urlsplit(database_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


@dataclass(frozen=True)
class Settings:
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
    # Metrics (docs/operations.md, "Metrics"): the API's own port when set (then /metrics leaves the
    # public port), the scheduler's port, and the address both bind to.
    metrics_port: int = 0
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
            "embedding_function": str, "jwt_secret": str,
            "jwt_public_key": str, "jwt_audience": str, "jwt_issuer": str, "port": int,
            "auto_post_to_feed": _bool, "challenge_ttl_seconds": int,
            "leaderboard_reconcile_seconds": int, "expiry_interval_seconds": int,
            "outbox_sweep_seconds": int, "outbox_grace_seconds": int, "job_ttl_seconds": int,
            "command_retention_seconds": int,
            "idempotency_ttl_seconds": int, "api_pool_size": int, "worker_pool_size": int,
            "database_pool_timeout": float, "database_connect_timeout": int,
            "redis_socket_timeout": float, "redis_connect_timeout": float,
            "chroma_auth_token": str, "max_request_body_bytes": int, "rate_limit_enabled": _bool,
            "rate_limit_mutations": str, "rate_limit_reads": str, "rate_limit_auth_failures": str,
            "metrics_port": int, "metrics_host": str, "scheduler_metrics_port": int,
            "log_level": str, "log_format": str,
        }
        values = {name: read(env[name.upper()]) for name, read in readers.items() if env.get(name.upper())}
        if "database_url" in values and "api_database_url" not in values:
            values["api_database_url"] = ""
        return replace(defaults, **values)

    def key(self, *parts: str) -> str:
        """A Redis key under this deployment's namespace, shared by the API and the workers."""
        return ":".join((self.redis_namespace, *map(str, parts)))
