"""The OpenAPI document describes the whole API: every route the app serves, with exactly the
methods each resource answers, and nothing it does not serve."""

import ast
import inspect
import re
import uuid
from pathlib import Path

import falcon
from jsonschema import Draft202012Validator
import pytest

from api import app as app_module
from api.openapi import documented

PATH_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
HTTP_METHODS = {method.lower() for method in falcon.COMBINED_METHODS}


def route_table() -> list[tuple[str, object]]:
    """The documented part of the app's route table, its resources built without collaborators (they only store them)."""
    parameters = inspect.signature(app_module.routes).parameters
    return documented(app_module.routes(*[None] * len(parameters)))


def spec_path(route: str) -> str:
    """Falcon's `{challenge_id:uuid}` as OpenAPI writes it: `{challenge_id}`."""
    return PATH_PARAM.sub(r"{\1}", route)


def concrete_path(route: str) -> str:
    return PATH_PARAM.sub(lambda m: str(uuid.uuid4()) if m.group(2) == "uuid" else "x", route)


def responders(resource) -> set[str]:
    """The HTTP methods a resource answers: its `on_<method>` attributes."""
    return {name[3:] for name in dir(resource)
            if name.startswith("on_") and name[3:] in HTTP_METHODS and callable(getattr(resource, name))}


ROUTES = route_table()
ROUTE_IDS = [route for route, _ in ROUTES]
PROTECTED = [(route, resource) for route, resource in ROUTES if not getattr(resource, "public", False)]


@pytest.fixture(scope="module")
def spec(app):
    from falcon import testing

    response = testing.TestClient(app).simulate_get("/api/v1/openapi.json")
    assert response.status_code == 200, response.text
    return response.json


def test_the_document_is_public_and_openapi_3_1(api):
    # Given no token
    # When the document is fetched
    response = api.client.simulate_get("/api/v1/openapi.json")

    # Then it is OpenAPI 3.1 JSON
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json["openapi"].startswith("3.1")
    assert response.json["paths"]


def test_the_route_table_is_what_the_app_serves(app):
    # Given the route table, and the app built from it
    # When each route is looked up in the app's router with concrete ids
    # Then it lands on a resource of the same kind, through the same template
    for route, resource in ROUTES:
        found = app._router.find(concrete_path(route))
        assert found is not None, route
        served, _, _, template = found
        assert (type(served), template) == (type(resource), route)


def test_the_document_lists_exactly_the_routes_of_the_app(spec):
    # Given the document and the route table
    # When their paths are compared
    # Then they are the same set
    assert set(spec["paths"]) == {spec_path(route) for route, _ in ROUTES}


@pytest.mark.parametrize("route,resource", ROUTES, ids=ROUTE_IDS)
def test_every_documented_operation_is_in_the_document(spec, route, resource):
    # Given a route and the operations its resource documents
    documented = set(resource.openapi)

    # When its entry in the document is read
    entry = spec["paths"].get(spec_path(route))

    # Then it has exactly those methods
    assert entry is not None, f"{route} is missing from the document"
    assert {key for key in entry if key in HTTP_METHODS} == documented


@pytest.mark.parametrize("route,resource", ROUTES, ids=ROUTE_IDS)
def test_every_responder_is_documented_and_every_documented_operation_answers(route, resource):
    # Given a resource
    # When its responders are compared with its `openapi` attribute
    # Then an undocumented responder, or a documented method nobody answers, shows up here
    assert responders(resource) == set(resource.openapi), type(resource).__name__


@pytest.mark.parametrize("route,resource", PROTECTED, ids=[route for route, _ in PROTECTED])
def test_protected_operations_declare_the_bearer_token_and_401(spec, route, resource):
    # Given a route that is not public
    # When its operations are read in the document
    # Then each requires the bearer scheme and documents the 401
    for method, operation in spec["paths"][spec_path(route)].items():
        if method in HTTP_METHODS:
            assert operation.get("security") == [{"bearer": []}], (route, method)
            assert "401" in operation["responses"], (route, method)


@pytest.mark.parametrize("route,resource", ROUTES, ids=ROUTE_IDS)
def test_path_parameters_are_declared(spec, route, resource):
    # Given a route with parameters in its path
    names = {name for name, _ in PATH_PARAM.findall(route)}

    # When its entry in the document is read
    entry = spec["paths"][spec_path(route)]
    declared = {p["name"] for p in entry.get("parameters", []) if p["in"] == "path"}

    # Then each parameter is declared
    assert declared == names


OFFLINE = {(route, method) for route, resource in ROUTES for method, op in resource.openapi.items() if op.offline}


@pytest.mark.parametrize("route,resource", ROUTES, ids=ROUTE_IDS)
def test_every_operation_that_needs_a_dependency_documents_its_503(spec, route, resource):
    # Given a route's operations
    for method, operation in spec["paths"][spec_path(route)].items():
        if method not in HTTP_METHODS:
            continue
        # When one needs PostgreSQL, Redis or ChromaDB, Then it documents 503 with Retry-After
        # (readiness answers its own JSON); one served by the process alone never says 503
        if (route, method) in OFFLINE:
            assert "503" not in operation["responses"], (route, method)
            continue
        unavailable = operation["responses"]["503"]
        if "application/problem+json" in unavailable["content"]:
            assert "Retry-After" in unavailable["headers"], (route, method)


@pytest.mark.parametrize("route,resource", PROTECTED, ids=[route for route, _ in PROTECTED])
def test_protected_operations_document_429_with_its_headers(spec, route, resource):
    for method, operation in spec["paths"][spec_path(route)].items():
        if method in HTTP_METHODS:
            headers = operation["responses"]["429"]["headers"]
            assert {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(headers)


OPERATION_ID = re.compile(r"^[a-z]+[A-Z][A-Za-z]*$")  # verbNoun: getChallenge, markAllNotificationsRead


def operations(spec) -> list[tuple[str, str, dict]]:
    return [(path, method, operation) for path, entry in spec["paths"].items()
            for method, operation in entry.items() if method in HTTP_METHODS]


def test_every_operation_has_a_unique_verb_noun_id_a_tag_and_words_for_people(spec):
    # Given every operation of the document
    found = operations(spec)

    # When their ids, tags and texts are read
    ids = [operation.get("operationId") for _, _, operation in found]

    # Then each id is verbNoun and unique, each operation is in one declared tag and says what it does
    assert all(operation_id and OPERATION_ID.match(operation_id) for operation_id in ids), ids
    assert len(set(ids)) == len(ids), sorted(ids)
    declared = {tag["name"] for tag in spec["tags"]}
    for path, method, operation in found:
        assert len(operation["tags"]) == 1 and operation["tags"][0] in declared, (path, method)
        assert operation["summary"] and len(operation["summary"]) <= 60, (path, method)


def test_a_mutation_answers_202_and_exactly_one_of_200_or_201_with_its_own_job(spec):
    # Given every operation that answers 202 (a mutation)
    mutations = [(path, method, operation) for path, method, operation in operations(spec)
                 if "202" in operation["responses"]]
    assert len(mutations) == 17

    for path, method, operation in mutations:
        # When its success answers are read
        done = {"200", "201"} & set(operation["responses"])
        schemas = {operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                   for status in done | {"202"}}

        # Then it is done with one status only, and both answers carry the same job of its own
        assert len(done) == 1, (path, method, done)
        assert schemas == {f"#/components/schemas/{operation['operationId'][0].upper()}"
                           f"{operation['operationId'][1:]}Job"}, (path, method, schemas)


def raised_codes(source: str) -> set[str]:
    """The `code` literal of every Problem(status, code, ...) and CommandRejected(code, ...)."""
    codes = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"Problem", "CommandRejected"}:
            position = 1 if node.func.id == "Problem" else 0
            if len(node.args) > position and isinstance(node.args[position], ast.Constant):
                codes.add(node.args[position].value)
    return codes


def test_every_error_code_the_code_raises_is_in_the_documented_enum(spec):
    # Given the code of every problem the API, the rules and the workers raise
    root = Path(__file__).resolve().parents[2]
    raised = set().union(*(raised_codes(path.read_text()) for folder in ("api", "core", "workers")
                           for path in (root / folder).rglob("*.py")))
    assert {"no_profile", "self_challenge", "challenge_full"} <= raised  # the scan finds them

    # When the document's enum of problem codes is read
    documented = set(spec["components"]["schemas"]["ProblemDetails"]["properties"]["code"]["enum"])

    # Then every one of them is listed
    assert raised <= documented, raised - documented


def media_examples(spec) -> list[tuple[str, dict, object]]:
    """(where, schema, example) of every example given with a request or response body."""
    found = []
    for path, method, operation in operations(spec):
        bodies = [("request", operation.get("requestBody", {}))] + list(operation["responses"].items())
        for name, body in bodies:
            for media_type, media in body.get("content", {}).items():
                if "example" in media:
                    found.append((f"{method} {path} {name} {media_type}", media["schema"], media["example"]))
    return found


def test_every_example_is_valid_against_its_schema(spec):
    # Given every example of the document, and the schema it illustrates
    found = media_examples(spec)
    assert len(found) > 100

    for where, schema, example in found:
        # When it is validated as JSON Schema 2020-12 (the dialect of OpenAPI 3.1)
        validator = Draft202012Validator({**schema, "components": spec["components"]})

        # Then it is valid
        errors = [error.message for error in validator.iter_errors(example)]
        assert not errors, (where, errors[:3])


def test_every_operation_has_a_response_example(spec):
    # Given every operation but the document's own GET (its answer is the document)
    for path, method, operation in operations(spec):
        if operation["operationId"] == "getOpenApiDocument":
            continue
        # When its success answers are read
        ok = [media for status, response in operation["responses"].items() if status.startswith("2")
              for media in response["content"].values()]

        # Then each has an example, in the answer or in its schema
        assert ok and all("example" in media or "AnyJob" in str(media["schema"]) for media in ok), (path, method)
