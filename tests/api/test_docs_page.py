"""The API reference at /api/v1/docs: a public page and Swagger UI's files, served by the API
itself, that render the live OpenAPI document in a browser with no internet access."""

import json
import re
import shutil
import subprocess
import threading
import urllib.request
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import falcon
import pytest

from api.resources.docs import SWAGGER_UI

HTTP_METHODS = {method.lower() for method in falcon.COMBINED_METHODS}
A_YEAR = "max-age=31536000"
# Swagger UI renders each operation as `<div class="opblock opblock-get ...">`.
OPERATION_BLOCK = re.compile(r'class="opblock opblock-(\w+)')
BROWSER_SECONDS = 90


def test_the_page_is_public_html_titled_after_the_api(api):
    # Given no token
    # When the reference page is fetched
    response = api.client.simulate_get("/api/v1/docs")

    # Then it is a small HTML page that loads the live document by a relative URL
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>Workout Challenges API</title>" in response.text
    assert 'url: "openapi.json"' in response.text
    assert len(response.content) < 2048


@pytest.mark.parametrize("name,content_type", [("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
                                               ("swagger-ui.css", "text/css; charset=utf-8")])
def test_swagger_ui_files_are_served_with_their_type_and_kept_a_year(api, name, content_type):
    # Given no token
    # When one of Swagger UI's files is fetched
    response = api.client.simulate_get(f"/api/v1/docs/{name}")

    # Then it is the vendored file, with its type, for browsers to keep a year
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == content_type
    assert A_YEAR in response.headers["cache-control"]
    assert response.content == (SWAGGER_UI / name).read_bytes()


def test_every_file_the_page_names_is_served(api):
    # Given the page, which names its files relative to /api/v1/
    page = api.client.simulate_get("/api/v1/docs").text
    names = re.findall(r'(?:href|src)="(docs/[^"?]+)', page)

    # When each is fetched
    statuses = {name: api.client.simulate_get(f"/api/v1/{name}").status_code for name in names}

    # Then each is there
    assert statuses == {"docs/swagger-ui.css": 200, "docs/swagger-ui-bundle.js": 200}


def test_an_unknown_file_is_the_usual_404_problem(api):
    # When a file Swagger UI does not have is fetched
    response = api.client.simulate_get("/api/v1/docs/swagger-ui-es-bundle.js")

    # Then the answer is the API's problem for a missing resource
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json["code"] == "not_found"


@pytest.mark.parametrize("name", ["README.md", "LICENSE", "..", "%2E%2E", "../openapi.json",
                                  "..%2F..%2Fapp.py", "%2E%2E%2F%2E%2E%2Fresources%2Fdocs.py"])
def test_nothing_outside_the_list_of_files_is_served(api, name):
    # Given a name that is on disk beside Swagger UI's files, or walks out of their folder
    # When it is fetched
    response = api.client.simulate_get(f"/api/v1/docs/{name}")

    # Then it is refused as not found, whatever is on disk
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_the_page_and_its_files_are_not_in_the_openapi_document(api):
    # When the document is fetched
    paths = api.client.simulate_get("/api/v1/openapi.json").json["paths"]

    # Then the reference is not one of the operations it describes
    assert not [path for path in paths if path.startswith("/api/v1/docs")]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """A browser fetches the page's files in parallel."""

    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        """pytest shows what a failed test printed; a line per request would bury it."""


@pytest.fixture
def served(app):
    """The session's app on a real HTTP server on a free local port, for a browser; its base URL."""
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


def operation_count(base_url: str) -> int:
    with urllib.request.urlopen(f"{base_url}/api/v1/openapi.json") as response:
        document = json.load(response)
    return sum(1 for entry in document["paths"].values() for key in entry if key in HTTP_METHODS)


def rendered_dom(url: str, profile) -> str:
    """The page's DOM once its scripts ran, as headless Chromium dumps it. Chromium can resolve
    no host but 127.0.0.1, so a page that needed the internet would render nothing. CI installs
    Chromium (.ci/run), so a missing one fails the test rather than skipping it."""
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is not installed (`apt-get install chromium`, as .ci/run does)"
    # The virtual time budget waits for the page's fetches, then lets scripts run up to 20 s.
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--virtual-time-budget=20000", "--dump-dom", url],
        capture_output=True, text=True, timeout=BROWSER_SECONDS)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_a_browser_renders_every_operation_of_the_live_document(served, tmp_path):
    # Given the API on a real server, and the number of operations its document describes
    operations = operation_count(served)

    # When headless Chromium, with no token and no internet, loads the reference page
    dom = rendered_dom(f"{served}/api/v1/docs", tmp_path)

    # Then Swagger UI rendered one block per operation, with their paths, and a button for a token
    blocks = OPERATION_BLOCK.findall(dom)
    assert len(blocks) == operations, f"{len(blocks)} of {operations} operations rendered:\n{dom[-3000:]}"
    assert 'data-path="/api/v1/challenges/create"' in dom
    assert 'data-path="/api/v1/workouts"' in dom
    assert "btn authorize" in dom
