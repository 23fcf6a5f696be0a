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
              422: "Validation failed", 503: "A dependency is unavailable"}


@dataclass(frozen=True)
class Op:
    summary: str
    body: type | None = None
    query: type | None = None
    response: type | None = None
    mutation: bool = False
    errors: tuple[int, ...] = ()


def _problem(status: int) -> dict:
    return {"description": ERROR_TEXT.get(status, "Error"),
            "content": {"application/problem+json": {"schema": PROBLEM}}}


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
    statuses = set(op.errors) | ({400, 422} if op.body or op.query else set()) | (set() if public else {401})
    for status in sorted(statuses):
        operation["responses"][str(status)] = _problem(status)
    if not public:
        operation["security"] = [{"bearer": []}]
    return operation


def openapi_path(route: str) -> tuple[str, list[dict]]:
    params = [{"in": "path", "name": name, "required": True,
               "schema": {"type": "string", "format": "uuid"} if kind == "uuid" else {"type": "string"}}
              for name, kind in PATH_PARAM.findall(route)]
    return PATH_PARAM.sub(r"{\1}", route), params


def build_spec(routes: list[tuple[str, object]]) -> dict:
    spec = APISpec(title="Workout Challenges API", version="1.0.0", openapi_version="3.1.0",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Mutations answer 202 with a job; see the README."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for name in ("Job", PROBLEM):
        spec.components.schema(name, schema=getattr(schemas, name))
    for route, resource in routes:
        path, params = openapi_path(route)
        public = getattr(resource, "public", False)
        operations = {method: _operation(op, public) for method, op in resource.openapi.items()}
        spec.path(path=path, operations=operations, parameters=params)
    return spec.to_dict()
