"""The interactive API reference at /api/v1/docs: Swagger UI rendering the live OpenAPI document.

Swagger UI's files are vendored in api/vendor/swagger-ui (see its README) and served by the API
itself, so the page needs no internet access. Neither the page nor its files are part of the API
(`openapi = None`), and both are public: the page needs no token to render, and its Authorize
button takes one for trying the operations out."""

import hashlib
from pathlib import Path
from string import Template

from api.errors import not_found

SWAGGER_UI = Path(__file__).resolve().parent.parent / "vendor" / "swagger-ui"
# The only files served, so no name in a URL can reach anything else on disk.
ASSET_TYPES = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
               "swagger-ui.css": "text/css; charset=utf-8"}
A_YEAR = 365 * 24 * 3600

# Relative URLs: from /api/v1/docs, `openapi.json` is /api/v1/openapi.json and `docs/x` is
# /api/v1/docs/x. No validator: its badge would call a server on the internet. An empty icon, so
# browsers do not ask for /favicon.ico.
PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Workout Challenges API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="docs/swagger-ui.css?v=$version">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js?v=$version"></script>
<script>SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", validatorUrl: null});</script>
</body>
</html>
""")


def fingerprint() -> str:
    """A hash of the served files: the page names them with it, so browsers may keep them for a
    year and still fetch new ones as soon as Swagger UI is upgraded."""
    digest = hashlib.sha256()
    for name in sorted(ASSET_TYPES):
        digest.update((SWAGGER_UI / name).read_bytes())
    return digest.hexdigest()[:16]


class DocsPage:
    """The reference page. Small and revalidated on every visit, so it always names the files the
    server has now."""

    public = True
    openapi = None

    def __init__(self):
        self.html = PAGE.substitute(version=fingerprint())

    def on_get(self, req, resp):
        resp.content_type = "text/html; charset=utf-8"
        resp.cache_control = ["no-cache"]
        resp.text = self.html


class DocsAsset:
    """One of Swagger UI's files, by name from a fixed list."""

    public = True
    openapi = None

    def on_get(self, req, resp, name):
        if name not in ASSET_TYPES:
            raise not_found("The API reference has no such file.")
        path = SWAGGER_UI / name
        resp.content_type = ASSET_TYPES[name]
        resp.cache_control = ["public", f"max-age={A_YEAR}", "immutable"]
        resp.set_stream(path.open("rb"), path.stat().st_size)
