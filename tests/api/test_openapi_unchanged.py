"""The OpenAPI document is exactly the one saved in openapi_snapshot.json, byte for byte, so a
refactoring (moving schemas between modules, renaming helpers) cannot change the API that
generated clients are built from without anyone noticing: apispec names components after schema
classes, lists them in the order it first meets them and lists fields in declaration order.

When the API changes on purpose, regenerate the snapshot deliberately and review its diff:

    UPDATE_OPENAPI_SNAPSHOT=1 .venv/bin/pytest tests/api/test_openapi_unchanged.py
"""

import difflib
import json
import os
from pathlib import Path

import pytest
from falcon import testing

SNAPSHOT = Path(__file__).with_name("openapi_snapshot.json")
DIFF_LINES = 60


def pretty(document: bytes) -> list[str]:
    return json.dumps(json.loads(document), indent=2, ensure_ascii=False).splitlines()


def test_the_document_is_the_snapshot(app):
    # Given the app
    # When the document is fetched
    response = testing.TestClient(app).simulate_get("/api/v1/openapi.json")
    assert response.status_code == 200, response.text
    if os.environ.get("UPDATE_OPENAPI_SNAPSHOT") == "1":
        SNAPSHOT.write_bytes(response.content)

    # Then its bytes are the snapshot's
    expected = SNAPSHOT.read_bytes()
    if response.content != expected:
        diff = list(difflib.unified_diff(pretty(expected), pretty(response.content),
                                         "openapi_snapshot.json", "GET /api/v1/openapi.json", lineterm=""))
        shown = "\n".join(diff[:DIFF_LINES]) or "(the same JSON, serialised differently)"
        pytest.fail(f"The OpenAPI document changed (first {DIFF_LINES} lines of the diff; see this "
                    f"module's docstring if the change is meant):\n{shown}", pytrace=False)
