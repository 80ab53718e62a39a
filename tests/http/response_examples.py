"""Record the OpenAPI success examples from real answers: `python -m tests.http.response_examples`.

Each route's request from the authorization matrix (tests/http/test_authz_matrix.py) is
sent, with the first role it admits, to a fresh stamp seeded with the demo organisations;
every 2xx JSON answer is kept, keyed by operation id and status, in
functions/http/response_examples.json, which the app puts into its OpenAPI document.
Lists are cut to two items to keep the document readable. Re-run after changing a
response model: tests/http/test_openapi_quality.py fails while an example no longer
matches its schema.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from functions.http.app import API_PREFIX, RESPONSE_EXAMPLES
from tests.fixtures_http import make_stamp
from tests.http.test_authz_matrix import MATRIX, OWN, RI, ROUTES, SECRET, Ctx

# The role a route is exercised with: the first in this order that it admits (as in test_openapi.py).
PREFERENCE = [
    "Retailer.Investigator",
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
LIST_ITEMS = 2


class _ExampleCtx(Ctx):
    """The matrix's context, but the incident is the documented IncidentIn example as-is
    (the matrix marks its narrative with a sentinel that would read oddly in the docs)."""

    def incident(self, org: str = "northwind") -> str:
        def create() -> str:
            r = self.stamp.client.post(f"{API_PREFIX}/incidents", json=self.stamp.example("IncidentIn"), headers=self.auth("northwind", RI))
            assert r.status_code == 201, r.text
            return r.json()["id"]

        return self.once("incident", create)


def _trim(value: Any, narrative: str) -> Any:
    if isinstance(value, list):
        return [_trim(v, narrative) for v in value[:LIST_ITEMS]]
    if isinstance(value, dict):
        return {k: _trim(v, narrative) for k, v in value.items()}
    # Other matrix rows make incidents with the sentinel narrative too.
    return narrative if value == SECRET else value


def record() -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Every route's 2xx JSON answer by operation id and status, and the routes that gave none."""
    examples: dict[str, dict[str, Any]] = {}
    missed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="vigil-examples-") as tmp:
        # The alert-subscription request names a receiver on 127.0.0.1, as under `make run`.
        stamp = make_stamp(Path(tmp), webhook_allow_private_networks=True)
        try:
            ctx = _ExampleCtx(stamp)
            doc = stamp.client.app.openapi()
            for method, path in ROUTES:
                row = MATRIX[(method, path)]
                role = next((r for r in PREFERENCE if r in row.allowed), PREFERENCE[0])
                ctx.role = role  # objects bound to their creator (upload sessions) are made for this role's user
                call = row.call(ctx, OWN[role])
                headers = {**call.headers, **({} if row.public else ctx.auth(OWN[role], role))}
                r = stamp.client.request(call.method, call.url, json=call.json, params=call.params, content=call.content, headers=headers)
                operation_id = doc["paths"][path][method.lower()]["operationId"]
                if 200 <= r.status_code < 300 and r.headers.get("content-type", "").startswith("application/json"):
                    examples.setdefault(operation_id, {})[str(r.status_code)] = _trim(r.json(), stamp.example("IncidentIn")["narrative"])
                elif r.status_code >= 300:
                    missed.append(f"{method} {path}: {r.status_code} {r.text[:200]}")
        finally:
            stamp.container.close()
    return dict(sorted(examples.items())), missed


def main() -> int:
    examples, missed = record()
    RESPONSE_EXAMPLES.write_text(json.dumps(examples, indent=1, ensure_ascii=False) + "\n")
    print(f"{sum(len(v) for v in examples.values())} examples for {len(examples)} operations in {RESPONSE_EXAMPLES}")
    for line in missed:
        print("no example:", line, file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
