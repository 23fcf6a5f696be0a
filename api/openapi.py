"""The OpenAPI 3.1 document, generated with apispec from the routes and the marshmallow
schemas each resource names in its `openapi` attribute; nothing in it is written by hand."""

import re
from dataclasses import dataclass

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from api import schemas

PATH_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
PROBLEM = "ProblemDetails"
ERROR_TEXT = {400: "Malformed request", 401: "Missing, invalid or expired token",
              403: "Not allowed", 404: "Not found (or not yours)", 409: "Invalid state",
              413: "The body is larger than the server takes (64 KiB by default)",
              422: "Validation failed",
              429: "Too many requests (or failed authentications); see Retry-After",
              503: "A service it needs (PostgreSQL, Redis or ChromaDB: `dependency`) is "
                   "unavailable; see Retry-After"}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                               "schema": {"type": "integer"}}}
RATE_LIMIT_HEADERS = {name: {"description": text, "schema": {"type": "integer"}} for name, text in (
    ("RateLimit-Limit", "Requests allowed in the window."),
    ("RateLimit-Remaining", "Requests left in the window."),
    ("RateLimit-Reset", "Seconds until the window resets."))}
HEADERS_BY_STATUS = {429: {**RETRY_AFTER, **RATE_LIMIT_HEADERS}, 503: RETRY_AFTER}


@dataclass(frozen=True)
class Op:
    summary: str
    body: type | None = None
    query: type | None = None
    response: type | None = None
    mutation: bool = False
    errors: tuple[int, ...] = ()
    # Answers from the process alone (no PostgreSQL, Redis or ChromaDB), so never 503.
    offline: bool = False
    # A 503 that carries this schema as JSON instead of a problem (readiness).
    unavailable: type | None = None


def _problem(status: int) -> dict:
    response = {"description": ERROR_TEXT.get(status, "Error"),
                "content": {"application/problem+json": {"schema": PROBLEM}}}
    if status in HEADERS_BY_STATUS:
        response["headers"] = HEADERS_BY_STATUS[status]
    return response


def _mutation_responses() -> dict:
    job = {"content": {"application/json": {"schema": "Job"}}}
    return {
        "202": {**job, "description": "Accepted; follow Location to the job.",
                "headers": {"Location": {"schema": {"type": "string"}}}},
        "200": {**job, "description": "Done within `Prefer: wait=N`."},
        "201": {**job, "description": "Created within `Prefer: wait=N`."},
    }


def _operation(op: Op, public: bool) -> dict:
    operation = {"summary": op.summary, "parameters": [], "responses": {}}
    if op.response:
        operation["responses"]["200"] = {"description": "OK",
                                         "content": {"application/json": {"schema": op.response}}}
    if op.mutation:
        operation["responses"].update(_mutation_responses())
        operation["parameters"] += [
            {"in": "header", "name": "Prefer", "schema": {"type": "string"},
             "description": "`wait=N` (N <= 10): wait up to N seconds for the job to finish."},
            {"in": "header", "name": "Idempotency-Key", "schema": {"type": "string", "maxLength": 255},
             "description": "Replays with the same key and body return the original job (24 h)."}]
    if op.query:
        operation["parameters"].append({"in": "query", "schema": op.query})
    if op.body:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": op.body}}}
    statuses = (set(op.errors) | ({400, 422} if op.body or op.query else set()) | ({413} if op.body else set())
                | (set() if public else {401, 429}) | (set() if op.offline else {503}))
    for status in sorted(statuses):
        operation["responses"][str(status)] = _problem(status)
    if op.unavailable:
        operation["responses"]["503"] = {"description": "Not ready",
                                         "content": {"application/json": {"schema": op.unavailable}}}
    if not public:
        operation["security"] = [{"bearer": []}]
    return operation


def openapi_path(route: str) -> tuple[str, list[dict]]:
    params = [{"in": "path", "name": name, "required": True,
               "schema": {"type": "string", "format": "uuid"} if kind == "uuid" else {"type": "string"}}
              for name, kind in PATH_PARAM.findall(route)]
    return PATH_PARAM.sub(r"{\1}", route), params


def documented(routes: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """The routes that are part of the API. The reference page and its files (`openapi = None`)
    are for people reading the document, not for clients generated from it."""
    return [(route, resource) for route, resource in routes if resource.openapi is not None]


def build_spec(routes: list[tuple[str, object]]) -> dict:
    spec = APISpec(title="Workout Challenges API", version="1.0.0", openapi_version="3.1.0",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Mutations answer 202 with a job; see the README."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for name in ("Job", PROBLEM):
        spec.components.schema(name, schema=getattr(schemas, name))
    for route, resource in documented(routes):
        path, params = openapi_path(route)
        public = getattr(resource, "public", False)
        operations = {method: _operation(op, public) for method, op in resource.openapi.items()}
        spec.path(path=path, operations=operations, parameters=params)
    return spec.to_dict()
