"""Tokens as the identity provider issues them, for `challenges token`, the demo, the bench and
the tests: the API only verifies tokens (api/auth.py), it never issues one."""

import time
import uuid

import jwt


def issue_token(settings, user_id: str, role: str | None = None, ttl_seconds: int | None = None) -> str:
    """An HS256 token for `user_id`, as an identity provider would issue (for curl and tests),
    valid for `ttl_seconds`, by default the longest a token may live."""
    ttl_seconds = settings.jwt_max_ttl_seconds if ttl_seconds is None else ttl_seconds
    claims = {"sub": str(uuid.UUID(user_id)), "exp": int(time.time()) + ttl_seconds}
    if role:
        claims["role"] = role
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
