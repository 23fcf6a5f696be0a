"""JWT bearer authentication: HS256 with JWT_SECRET, or RS256 with JWT_PUBLIC_KEY when set."""

import time
import uuid
from dataclasses import dataclass
from functools import lru_cache

import falcon
import jwt

from api.errors import unauthorized

VERIFIED_TOKENS_KEPT = 4096


@dataclass(frozen=True)
class Caller:
    id: str
    role: str | None = None


class TokenVerifier:
    """A client sends the same token with every request, and decoding it costs more than the rest
    of authentication: a token that passed is remembered (the VERIFIED_TOKENS_KEPT most recently
    used) with its expiry, which is checked again on every request as PyJWT checks it (no leeway).
    Nothing else about a token that passed can change: its signature, audience and issuer are
    checked against settings fixed for the process, and it was already valid from `nbf` on.

    A token may not live longer than JWT_MAX_TTL_SECONDS from when it is first seen, so a stolen
    one (or one minted with a leaked key) cannot stay good for years."""

    def __init__(self, settings, clock=time.time):
        self.key = settings.jwt_public_key or settings.jwt_secret
        self.max_ttl_seconds = settings.jwt_max_ttl_seconds
        self.algorithms = ["RS256"] if settings.jwt_public_key else ["HS256"]
        self.audience = settings.jwt_audience or None
        self.issuer = settings.jwt_issuer or None
        self.clock = clock
        self._verified = lru_cache(maxsize=VERIFIED_TOKENS_KEPT)(self._decode)

    def verify(self, token: str) -> Caller:
        caller, expires_at = self._verified(token)
        if expires_at <= self.clock():
            raise unauthorized("The token has expired.")
        return caller

    def _decode(self, token: str) -> tuple[Caller, int]:
        """The caller a valid token names, and when it expires; 401 for any other token."""
        try:
            claims = jwt.decode(token, self.key, algorithms=self.algorithms, audience=self.audience,
                                issuer=self.issuer, options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise unauthorized("The token has expired.") from None
        except jwt.InvalidTokenError as error:
            raise unauthorized(f"The token is not valid: {error}.") from None
        expires_at = self._expiry(claims["exp"])
        try:
            user_id = str(uuid.UUID(claims["sub"]))
        except (ValueError, TypeError, AttributeError):
            raise unauthorized("The token's `sub` must be a user UUID.") from None
        role = claims.get("role")
        return Caller(user_id, role if isinstance(role, str) else None), expires_at

    def _expiry(self, exp) -> float:
        """PyJWT accepts any `exp` that int() takes, "1e10" and true among them: only a JSON
        number is an expiry here, and none further ahead than the maximum lifetime."""
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            raise unauthorized("The token's `exp` must be a number (seconds since the epoch).")
        if exp - self.clock() > self.max_ttl_seconds:
            raise unauthorized(f"The token lives longer than the {self.max_ttl_seconds} s a token "
                               "may (JWT_MAX_TTL_SECONDS).")
        return exp


class AuthMiddleware:
    """Sets `req.context.caller` and charges the request to their rate limits; resources with
    `public = True` need no token. A failed authentication is charged to the client's address."""

    def __init__(self, verifier: TokenVerifier, rate_limits):
        self.verifier, self.rate_limits = verifier, rate_limits

    def process_resource(self, req, resp, resource, params):
        if resource is None or getattr(resource, "public", False):
            return
        try:
            caller = self._authenticate(req)
        except falcon.HTTPError:
            self.rate_limits.charge_auth_failure(req.remote_addr)
            raise
        self.rate_limits.charge_request(req.method, caller.id)
        req.context.caller = caller

    def _authenticate(self, req) -> Caller:
        header = req.get_header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("A bearer token is required.")
        return self.verifier.verify(token.strip())
