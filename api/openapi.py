"""The OpenAPI 3.1 document, generated with apispec from the routes and the marshmallow
schemas each resource names in its `openapi` attribute; nothing in it is written by hand."""

import re
from dataclasses import dataclass, field

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from marshmallow import fields

from api import examples
from api.dispatch import MAX_WAIT_SECONDS
from api.schemas.common import Job, ProblemDetails, Response
from api.schemas.fields import AnyOf

PATH_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
PROBLEM = "ProblemDetails"
ANY_JOB = "AnyJob"  # GET /jobs/{id}: the job of whichever mutation it was
ERROR_TEXT = {400: "Malformed request (the body is not JSON, no body was sent, or the request line or "
                   "a header could not be read)",
              401: "Missing, invalid or expired token",
              403: "Not allowed", 404: "Not found (or not yours)",
              409: "Invalid state, or a request with this Idempotency-Key is still being accepted",
              413: "The body is larger than the server takes (64 KiB by default)",
              414: "The request line (method, path and query) is longer than the server takes (4094 bytes)",
              422: "Validation failed: `errors` names each field at fault",
              429: "Too many requests (or failed authentications); see Retry-After",
              431: "A header is longer than the server takes (8190 bytes), or there are more than 100",
              503: "A service it needs (PostgreSQL, Redis or ChromaDB: `dependency`) is "
                   "unavailable; see Retry-After"}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                               "schema": {"type": "integer"}}}
RATE_LIMIT_HEADERS = {name: {"description": text, "schema": {"type": "integer"}} for name, text in (
    ("RateLimit-Limit", "Requests allowed in the window."),
    ("RateLimit-Remaining", "Requests left in the window."),
    ("RateLimit-Reset", "Seconds until the window resets."))}
HEADERS_BY_STATUS = {429: {**RETRY_AFTER, **RATE_LIMIT_HEADERS}, 503: RETRY_AFTER}
REQUEST_ID_HEADER = {"X-Request-ID": {
    "description": "The request's id: the one sent, or a new UUID. Give it when reporting a problem.",
    "schema": {"type": "string"}}}
REQUEST_ID = {"in": "header", "name": "X-Request-ID", "example": "c0ffee-4b1d",
              "schema": {"type": "string"},
              "description": "Your id for this request (1 to 128 visible ASCII characters; anything "
                             "else is replaced): returned in the answer and kept in the logs of the "
                             "API and of the worker that carries out the command."}
# Each area of the API is a tag, named by the first segment of its paths.
TAGS = {
    "me": ("Profile", "You and other users' public profiles."),
    "users": ("Profile", None),
    "friends": ("Friends", "Friends and friend requests."),
    "workouts": ("Logging", "Workouts and habits you log: points, streaks and community progress."),
    "habits": ("Logging", None),
    "feed": ("Feed", "Your friends' activity, where BEAT THIS starts."),
    "challenges": ("Challenges", "Friend challenges: send, accept, complete, quit, retry; history, "
                                 "stats and the leaderboard."),
    "community-challenges": ("Community challenges", "Challenges a coach runs for everyone: "
                                                     "progress, milestones and ranks."),
    "points": ("Points", "Your points ledger and streak."),
    "notifications": ("Notifications", "What happened to you."),
    "insights": ("Insights", "Patterns in your history, and search over your own events."),
    "analytics": ("Analytics", "Product analytics for analysts (a token with the role `analyst`): "
                               "what is challenged, when, between whom, why athletes quit; JSON, "
                               "or CSV with `Accept: text/csv`. No names, no quit reasons in "
                               "athletes' own words."),
    "jobs": ("Jobs", "Every change is a job: a mutation answers 202 with one."),
    "healthz": ("Health", "Liveness and readiness, for load balancers and supervisors."),
    "readyz": ("Health", None),
    "openapi.json": ("Meta", "This document."),
}
DESCRIPTION = (
    "Every change is a command carried out by a worker: a mutation answers **202 Accepted** with "
    "its job (follow `Location`), or with `Prefer: wait=N` waits up to N seconds and answers "
    "200 or 201 with the job and its typed `result` once it has succeeded. A rejected command "
    "answers its problem (`application/problem+json`) instead. `Idempotency-Key` makes retries "
    "safe: the same key and body return the original job for 24 hours.")


@dataclass(frozen=True)
class Op:
    """One operation. A mutation names its job's `result` schema and the ids the job announces
    before it runs (`ids`); it answers 201 when it `creates` something, else 200."""

    operation_id: str
    summary: str
    description: str = ""
    body: type | None = None
    body_optional: bool = False
    query: type | None = None
    response: type | str | None = None
    result: type | None = None
    ids: tuple[str, ...] = ()
    creates: bool = False
    errors: tuple[int, ...] = ()
    # Answers from the process alone (no PostgreSQL, Redis or ChromaDB), so never 503.
    offline: bool = False
    # A 503 that carries this schema as JSON instead of a problem (readiness).
    unavailable: type | None = None
    body_example: dict | None = field(default=None, hash=False)
    # More of the 200 answer's content, by media type: another type it also comes in (by Accept),
    # or an example for one whose schema's own would not show it well.
    media: dict = field(default_factory=dict, hash=False)

    @property
    def mutation(self) -> bool:
        return self.result is not None


class ResponseConverter(OpenAPIConverter):
    """Lists every field of a response schema as required, but those marked `optional`
    (see api.schemas.common.Response)."""

    def schema2jsonschema(self, schema):
        jsonschema = super().schema2jsonschema(schema)
        schema_class = schema if isinstance(schema, type) else type(schema)
        if issubclass(schema_class, Response):
            jsonschema["required"] = [name for name, value in jsonschema["properties"].items()
                                      if not schema_class._declared_fields[name].metadata.get("optional")]
        return jsonschema


def any_of_schemas(self, field, **kwargs) -> dict:
    """api.schemas.fields.AnyOf as a JSON Schema anyOf of references to its schemas."""
    if isinstance(field, AnyOf):
        return {"anyOf": [self.resolve_nested_schema(schema) for schema in field.schemas]}
    return {}


class ResponsePlugin(MarshmallowPlugin):
    Converter = ResponseConverter

    def init_spec(self, spec):
        super().init_spec(spec)
        self.converter.add_attribute_function(any_of_schemas)


def job_schema(operation_id: str, op: Op) -> type:
    """The job of one mutation: its typed `result` and the ids it announces."""
    ids = {name: fields.List(fields.UUID()) if name.endswith("_ids") else fields.UUID() for name in op.ids}
    result = fields.Nested(op.result, allow_none=True,
                           metadata={"description": "What the command did; null until it has succeeded."})
    name = operation_id[0].upper() + operation_id[1:] + "Job"
    return type(name, (Job,), {"result": result, **ids,
                               "__doc__": f"The job of `{operation_id}`."})


def _problem(status: int) -> dict:
    response = {"description": ERROR_TEXT.get(status, "Error"),
                "content": {"application/problem+json": {"schema": PROBLEM,
                                                         "example": examples.problem(status)}}}
    if status in HEADERS_BY_STATUS:
        response["headers"] = HEADERS_BY_STATUS[status]
    return response


def _mutation_responses(op: Op) -> dict:
    job = job_schema(op.operation_id, op)

    def content(done: bool) -> dict:
        return {"application/json": {"schema": job, "example": examples.job(job, done)}}

    done = ("201", "Created: done within `Prefer: wait=N`.") if op.creates else (
        "200", "Done within `Prefer: wait=N`.")
    return {
        "202": {"content": content(False), "description": "Accepted; follow Location to the job.",
                "headers": {"Location": {"description": "The job.", "schema": {"type": "string"}}}},
        done[0]: {"content": content(True), "description": done[1],
                  "headers": {"Content-Location": {"description": "The job.", "schema": {"type": "string"}},
                              "Preference-Applied": {"description": "`wait=N`, as applied.",
                                                     "schema": {"type": "string"}}}},
    }


MUTATION_HEADERS = [
    {"in": "header", "name": "Prefer", "schema": {"type": "string", "pattern": r"^\s*wait\s*=\s*\d+\s*$"},
     "example": "wait=5",
     "description": f"`wait=N` (N <= {MAX_WAIT_SECONDS}): wait up to N seconds for the job to finish."},
    {"in": "header", "name": "Idempotency-Key",
     "schema": {"type": "string", "pattern": "^[!-~]{1,255}$", "minLength": 1, "maxLength": 255},
     "example": "3c1d8a7e-add-workout-1",
     "description": "1 to 255 visible ASCII characters. A retry with the same key and body returns "
                    "the original job (for 24 hours); with another body it is a 422."}]


# What the server itself refuses before any operation sees the request (api/gunicorn_worker.py).
SERVER_REFUSALS = {400, 414, 431}


def _statuses(op: Op, public: bool, has_path_params: bool) -> set[int]:
    statuses = set(op.errors) | SERVER_REFUSALS
    if op.body or op.query:
        statuses |= {400, 422}
    if op.body or op.mutation:
        statuses |= {413}
    if op.mutation:  # Idempotency-Key: in flight (409), malformed or reused (422)
        statuses |= {409, 422}
    if has_path_params:  # a malformed id matches no route
        statuses |= {404}
    if not public:
        statuses |= {401, 429}
    if not op.offline:
        statuses |= {503}
    return statuses


def _operation(op: Op, tag: str, public: bool, has_path_params: bool) -> dict:
    operation = {"operationId": op.operation_id, "summary": op.summary, "tags": [tag],
                 "parameters": [REQUEST_ID], "responses": {}}
    if op.description:
        operation["description"] = op.description
    if op.response:
        media = {"schema": op.response}
        if isinstance(op.response, type):
            media["example"] = examples.example(op.response)
        operation["responses"]["200"] = {"description": "OK", "content": {"application/json": media}}
        for media_type, more in op.media.items():
            operation["responses"]["200"]["content"].setdefault(media_type, {}).update(more)
    if op.mutation:
        operation["responses"].update(_mutation_responses(op))
        operation["parameters"] += MUTATION_HEADERS
    if op.query:
        operation["parameters"].append({"in": "query", "schema": op.query})
    if op.body:
        media = {"schema": op.body}
        if op.body_example:
            media["example"] = op.body_example
        operation["requestBody"] = {"required": not op.body_optional, "content": {"application/json": media}}
    for status in sorted(_statuses(op, public, has_path_params)):
        operation["responses"][str(status)] = _problem(status)
    if op.unavailable:
        operation["responses"]["503"] = {"description": "Not ready",
                                         "content": {"application/json": {"schema": op.unavailable}}}
    for response in operation["responses"].values():
        response["headers"] = {**response.get("headers", {}), **REQUEST_ID_HEADER}
    operation["security"] = [] if public else [{"bearer": []}]
    return operation


def openapi_path(route: str) -> tuple[str, list[dict]]:
    params = [{"in": "path", "name": name, "required": True,
               "schema": {"type": "string", "format": "uuid"} if kind == "uuid" else {"type": "string"}}
              for name, kind in PATH_PARAM.findall(route)]
    return PATH_PARAM.sub(r"{\1}", route), params


def area(path: str) -> str:
    """The first segment after the version: `challenges` for /api/v1/challenges/create."""
    return path.removeprefix("/api/v1").strip("/").split("/")[0]


def documented(routes: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """The routes that are part of the API. The reference page and its files (`openapi = None`)
    are for people reading the document, not for clients generated from it."""
    return [(route, resource) for route, resource in routes if resource.openapi is not None]


def build_spec(routes: list[tuple[str, object]]) -> dict:
    spec = APISpec(title="Workout Challenges API", version="1.0.0", openapi_version="3.1.0",
                   plugins=[ResponsePlugin()],
                   servers=[{"url": "/", "description": "This server"}],
                   info={"description": DESCRIPTION,
                         "license": {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"}})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema(PROBLEM, schema=ProblemDetails)
    tags, jobs = {}, []
    for route, resource in documented(routes):
        path, params = openapi_path(route)
        tag, tag_description = TAGS[area(path)]
        if tag_description:
            tags[tag] = tag_description
        public = getattr(resource, "public", False)
        operations = {method: _operation(op, tag, public, bool(params))
                      for method, op in resource.openapi.items()}
        jobs += [operation["responses"]["202"]["content"]["application/json"]["schema"]
                 for operation in operations.values() if "202" in operation["responses"]]
        spec.path(path=path, operations=operations, parameters=params)
    spec.components.schema(ANY_JOB, {"description": "The job of any mutation.",
                                     "anyOf": [{"$ref": f"#/components/schemas/{job.__name__}"} for job in jobs],
                                     "examples": [examples.job(jobs[0], done=True)]})
    for name, description in tags.items():
        spec.tag({"name": name, "description": description})
    return spec.to_dict()
