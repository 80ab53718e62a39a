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

import json
import re
from typing import Any

import jsonschema_rs
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from shared.domain.file_types import ALLOWED
from tests.fixtures_http import shared_app
from tests.http.test_authz_matrix import MATRIX

METHODS = ("get", "put", "post", "patch", "delete", "head")
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
COMPONENT = re.compile(r"^[A-Z][A-Za-z0-9]*$")


@pytest.fixture(scope="module")
def app():
    return shared_app()


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


def _validator(doc: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    # Refs point at #/components/...: resolve them against a document that carries them.
    # jsonschema_rs comes with schemathesis (the conformance tests' validator).
    return jsonschema_rs.Draft202012Validator({**schema, "components": doc["components"]})


def test_every_success_response_has_a_description_schema_and_example(doc):
    offenders = []
    for method, path, op in _operations(doc):
        successes = {s: r for s, r in op.get("responses", {}).items() if s.startswith("2")}
        for status, response in successes.items():
            where = f"{method} {path} {status}"
            if response.get("description", "Successful Response") == "Successful Response":
                offenders.append(f"{where}: described only as 'Successful Response'")
            content = response.get("content", {})
            if not content:
                if status != "204" and method != "HEAD":
                    offenders.append(f"{where}: no body documented (only 204 and HEAD answer without one)")
                continue
            for media, entry in content.items():
                schema = entry.get("schema")
                if not schema:
                    offenders.append(f"{where} {media}: no schema")
                    continue
                if schema.get("format") == "binary":
                    continue
                examples = [entry["example"]] if "example" in entry else [e["value"] for e in entry.get("examples", {}).values()]
                if not examples:
                    offenders.append(f"{where} {media}: no example")
                for example in examples:
                    errors = list(_validator(doc, schema).iter_errors(example))
                    if errors:
                        offenders.append(f"{where} {media}: the example does not match the schema: {errors[0].message[:200]}")
    _fail_listing(offenders, "with an undocumented success response")


def test_evidence_download_documents_the_file_types_it_serves(doc):
    op = doc["paths"]["/api/v1/evidence/{evidence_id}/content"]["get"]
    served = {t.content_type for t in ALLOWED.values()}
    for status in ("200", "206"):
        documented = set(op["responses"][status]["content"])
        assert served <= documented, f"{status}: not documented: {sorted(served - documented)}"
        assert "application/json" not in documented


def test_recorded_examples_name_only_current_operations(doc):
    from functions.http.app import RESPONSE_EXAMPLES

    current = {op["operationId"] for _, _, op in _operations(doc)}
    stale = sorted(set(json.loads(RESPONSE_EXAMPLES.read_text())) - current)
    assert not stale, f"examples for operations that no longer exist (re-run `python -m tests.http.response_examples`): {stale}"


def test_roles_are_read_from_the_route_dependencies():
    from fastapi import APIRouter, Depends

    from functions.http.deps import admitted_roles, principal, require
    from shared.domain.tenancy import Role

    router = APIRouter()

    @router.get("/public")
    def public() -> None: ...

    @router.get("/signed-in")
    def signed_in(p=Depends(principal)) -> None: ...

    @router.get("/both")
    def both(
        p=Depends(require(Role.RETAILER_REPORTER, Role.RETAILER_INVESTIGATOR)), q=Depends(require(Role.RETAILER_INVESTIGATOR))
    ) -> None: ...

    found = {route.path: admitted_roles(route.dependant) for route in router.routes if isinstance(route, APIRoute)}
    assert found["/public"] is None
    # A token with any role: every role is admitted, not "no token needed".
    assert found["/signed-in"] == frozenset(Role)
    # Every require() must pass: the roles they have in common.
    assert found["/both"] == {Role.RETAILER_INVESTIGATOR}
