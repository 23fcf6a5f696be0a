"""The layout says where code runs: imports only go down (api and workers onto core, never the
other way), and docs/architecture.md's "Where things live" table names every package there is."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Which top-level packages a package may never import: what it imports would then run in a
# process it was not written for (the API's code in a worker, a worker's in the web process).
FORBIDDEN = {"core": {"api", "workers", "jobs"}, "workers": {"api", "jobs"}, "jobs": {"api"},
             "api": {"workers", "jobs"}}
SOURCE_PACKAGES = ("api", "core", "workers", "jobs", "sql")


def imported_packages(path: Path) -> set[tuple[int, str]]:
    """Every (line, top-level package) the module imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


def upward_imports(package: str) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {imported}"
            for path in sorted((ROOT / package).rglob("*.py"))
            for line, imported in sorted(imported_packages(path)) if imported in FORBIDDEN[package]]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_runs_upward(package):
    # Given every module of the package, When its imports are read, Then none is forbidden
    assert upward_imports(package) == []


def test_an_upward_import_would_be_found(tmp_path):
    # Given a module of core that imports the API inside a function
    module = tmp_path / "sneaky.py"
    module.write_text("def f():\n    from api.app import create_app\n    return create_app\n")

    # When its imports are read, Then the API is among them
    assert (2, "api") in imported_packages(module)


def table_paths() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Where things live", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)/` \|", section, flags=re.M))


def packages_in_tree() -> set[str]:
    return {str(init.parent.relative_to(ROOT)) for package in SOURCE_PACKAGES
            for init in (ROOT / package).rglob("__init__.py")}


def test_the_where_things_live_table_matches_the_tree():
    # Given the table in docs/architecture.md and the packages of the source tree
    listed, packages = table_paths(), packages_in_tree()

    # Then every package is in the table and every path the table names exists
    assert packages - listed == set()
    assert [path for path in sorted(listed) if not (ROOT / path).is_dir()] == []
