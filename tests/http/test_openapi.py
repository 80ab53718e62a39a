"""The OpenAPI document is the contract: fuzzed with schemathesis, and its examples work.

- schemathesis, in-process against the app's own document, signed in with a role the
  route admits (from the authorization matrix): no 5xx, no status the route does not
  document, content types and bodies as documented. Bounded: a few examples per
  operation, no deadline.
- every request body has a realistic example built on the seeded demo ids; posting
  it as-is (with the role the matrix names, path ids made in setup) succeeds.
- every operation documents its success status, 401/403 when it needs a token, and
  422 when it takes input.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from tests.fixtures_http import make_stamp
from tests.http.test_authz_matrix import MATRIX, OWN, RI, ROLES, Ctx

API = "/api/v1"
# The role used to exercise a route: the first in this order that the route admits.
PREFERENCE = [
    RI,
    "Retailer.Admin",
    "Retailer.Reporter",
    "Police.Analyst",
    "Police.Officer",
    "Police.Admin",
    "Device.Anpr",
    "Platform.Operator",
    "NationalUnit.Officer",
    "NationalUnit.Analyst",
]
assert set(PREFERENCE) == set(ROLES)


def role_for(method: str, path: str) -> str | None:
    row = MATRIX.get((method.upper(), path))
    if row is None or row.public:
        return None
    return next(r for r in PREFERENCE if r in row.allowed)


# schemathesis reads the schema when the module is collected, so the stamp is made then
# (one per module, per xdist worker) and closed by the module fixture below.
_DIR = Path(tempfile.mkdtemp(prefix="vigil-openapi-"))
# The alert-subscription example names a receiver on 127.0.0.1, as under `make run`.
_STAMP = make_stamp(_DIR, webhook_allow_private_networks=True)
# Bounded so the whole run stays well under a minute: the examples phase and a few
# fuzzed cases per operation; the coverage phase (hundreds of boundary cases per
# operation) is left to a deliberate `schemathesis run` against `make run`.
CONFIG = SchemathesisConfig.from_dict(
    {"phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}}, "generation": {"max-examples": 6, "deterministic": True}}
)
schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", _STAMP.client.app, config=CONFIG)


@pytest.fixture(scope="module")
def ctx():
    yield Ctx(_STAMP)
    _STAMP.container.close()
    shutil.rmtree(_DIR, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_schemathesis_finds_no_server_errors_or_undocumented_answers(case, ctx):
    role = role_for(case.operation.method, case.operation.path)
    headers = dict(case.headers or {})
    if role is not None:
        headers.update(ctx.auth(OWN[role], role))
    case.call_and_validate(
        headers=headers,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )


# ---- examples --------------------------------------------------------------------


def _operations(app):
    doc = app.openapi()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method in ("get", "put", "post", "patch", "delete"):
                yield method.upper(), path, op


def _example_of(doc, op) -> dict | None:
    body = op.get("requestBody")
    if not body:
        return None
    media = body["content"].get("application/json")
    if media is None:
        return None
    if "example" in media:
        return media["example"]
    if media.get("examples"):
        return next(iter(media["examples"].values()))["value"]
    ref = media["schema"].get("$ref")
    if ref:
        schema_ = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
        if schema_.get("examples"):
            return schema_["examples"][0]
    return None


def test_every_json_body_has_an_example(ctx):
    app = ctx.stamp.client.app
    doc = app.openapi()
    missing = [
        f"{m} {p}"
        for m, p, op in _operations(app)
        if op.get("requestBody", {}).get("content", {}).get("application/json") and _example_of(doc, op) is None
    ]
    assert not missing, "request bodies without an example: " + ", ".join(missing)


def test_every_example_works_as_is(ctx):
    """Each documented request example, sent as-is with the role the matrix names, succeeds.

    The path ids come from the matrix's own setup (objects owned by the seeded northwind
    and its force); If-Match and other headers from the matrix's request for that route.
    """
    app = ctx.stamp.client.app
    doc = app.openapi()
    failures = []
    tried = 0
    for method, path, op in _operations(app):
        example = _example_of(doc, op)
        if example is None:
            continue
        row = MATRIX.get((method, path))
        if row is None:
            failures.append(f"{method} {path}: add your route to the matrix (tests/http/test_authz_matrix.py)")
            continue
        role = role_for(method, path) or RI
        call = row.call(ctx, OWN[role])
        r = ctx.stamp.client.request(
            method, call.url, json=example, params=call.params, headers={**call.headers, **ctx.auth(OWN[role], role)}
        )
        tried += 1
        if r.status_code not in row.ok:
            failures.append(f"{method} {path} as {role}: {r.status_code} {r.text[:300]}")
    assert tried > 0
    assert not failures, "\n".join(failures)


def test_every_operation_documents_its_statuses(ctx):
    app = ctx.stamp.client.app
    problems = []
    for method, path, op in _operations(app):
        documented = set(op.get("responses", {}))
        if not any(s.startswith("2") for s in documented):
            problems.append(f"{method} {path}: no success status")
        row = MATRIX.get((method, path))
        if row is not None and not row.public and not {"401", "403"} <= documented:
            problems.append(f"{method} {path}: 401/403 not documented")
        takes_input = bool(op.get("parameters") or op.get("requestBody"))
        if takes_input and "422" not in documented:
            problems.append(f"{method} {path}: 422 not documented")
        content = op.get("requestBody", {}).get("content", {})
        if content and "413" not in documented:
            problems.append(f"{method} {path}: 413 (the size bound) not documented for a body")
        if "application/json" in content and "400" not in documented:
            problems.append(f"{method} {path}: 400 (malformed JSON) not documented for a JSON body")
        for status, resp in op.get("responses", {}).items():
            if status.startswith(("4", "5")) and "application/problem+json" not in resp.get("content", {}) and status != "503":
                problems.append(f"{method} {path}: {status} is not documented as problem details")
    assert not problems, "\n".join(problems)
