"""Authorization matrix: every route × every role × own and another organisation.

Built from `app.routes`: a route with no row in `MATRIX` fails `test_every_route_has_a_row`
("add your route to the matrix"). To add a route, add one `Row` to `MATRIX`:

    ("POST", "/api/v1/incidents/{incident_id}/evidence"): Row(
        allowed={RR, RI},
        call=lambda ctx, org: Call("POST", f"/api/v1/incidents/{ctx.incident(org)}/evidence", content=b"...", headers={...}),
        ok=(201,),
    ),

`call(ctx, org)` builds the request for an object belonging to `org`'s side ("own":
northwind for retailer and device roles, devon-and-cornwall for police roles,
vigil-platform for the operator). The same request is then sent with a token of the
role's own organisation and with a token of another organisation (contoso,
avon-and-somerset). `ctx.once(key, factory)` creates a fixture object once per module.

What the matrix asserts, and why:
- no token: 401 problem details with `WWW-Authenticate` (public routes excepted);
- a route signed instead of token-authenticated (`signature_headers`, e.g. SendGrid's
  webhook): public for tokens, but the same call without its signature is 401 problem
  details, with no bearer challenge (a token would not help);
- a role the route does not admit: 403. The role check runs before any lookup, so the
  403 is the same whether or not the object exists and reveals nothing; a 404 here
  would hide a misconfigured client's real problem (wrong role) for no gain;
- an admitted role of the owning side: a status in `ok`;
- an admitted role of another organisation: `other` — "404" (problem details, exactly
  as a missing object, none of the owner's content), "hidden" (2xx, but none of the
  owner's content: lists and the caller's own audit), or an explicit status;
- never a 5xx.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from functions.http.app import API_PREFIX
from shared.domain.tenancy import Role
from tests.fixtures_http import Stamp, make_stamp, shared_app
from tests.referrals.helpers import onboard_other_unit

RR, RI, RA = Role.RETAILER_REPORTER.value, Role.RETAILER_INVESTIGATOR.value, Role.RETAILER_ADMIN.value
PO, PN, PA = Role.POLICE_OFFICER.value, Role.POLICE_ANALYST.value, Role.POLICE_ADMIN.value
DEV, OPS = Role.DEVICE_ANPR.value, Role.PLATFORM_OPERATOR.value
NUO, NUA = Role.NATIONAL_UNIT_OFFICER.value, Role.NATIONAL_UNIT_ANALYST.value
ROLES = [r.value for r in Role]

# The owning side for each role, and another organisation of the same kind.
OWN = {
    RR: "northwind",
    RI: "northwind",
    RA: "northwind",
    DEV: "northwind",
    PO: "devon-and-cornwall",
    PN: "devon-and-cornwall",
    PA: "devon-and-cornwall",
    OPS: "vigil-platform",
    # Referrals: the national unit (its other side is a second unit the ctx onboards).
    NUO: "opal",
    NUA: "opal",
}
OTHER = {
    RR: "contoso",
    RI: "contoso",
    RA: "contoso",
    DEV: "contoso",
    PO: "avon-and-somerset",
    PN: "avon-and-somerset",
    PA: "avon-and-somerset",
    OPS: None,
    NUO: "merlin",
    NUA: "merlin",
}

SECRET = "Matrix-secret-narrative 7f3a: a man in a green coat took the till float."
PURPOSE = "Authorization matrix check, op MATRIX"


@dataclass
class Call:
    method: str
    url: str
    json: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


@dataclass(frozen=True)
class Row:
    allowed: set[str]
    call: Callable[[Ctx, str], Call]
    ok: tuple[int, ...] = (200,)
    other: str | int = "404"  # "404", "hidden" or an exact status for another organisation
    public: bool = False  # no token needed (health)
    # Headers carrying a request signature that authenticates the call instead of a token:
    # without them the call must answer 401 problem details.
    signature_headers: tuple[str, ...] = ()


class Ctx:
    """The module's stamp plus objects created once, owned by northwind."""

    def __init__(self, stamp: Stamp):
        self.stamp = stamp
        self._once: dict[str, Any] = {}
        self._tokens: dict[tuple[str, str], dict[str, str]] = {}
        self.role: str | None = None  # the role under test

    def once(self, key: str, factory: Callable[[], Any]) -> Any:
        if key not in self._once:
            self._once[key] = factory()
        return self._once[key]

    def auth(self, org: str, role: str) -> dict[str, str]:
        if (org, role) not in self._tokens:
            self._tokens[(org, role)] = self.stamp.auth(org, role)
        return self._tokens[(org, role)]

    def incident(self, org: str = "northwind") -> str:
        """A northwind incident at nw-plymouth, shared in full with devon-and-cornwall."""

        def create():
            body = {**self.stamp.example("IncidentIn"), "narrative": SECRET}
            r = self.stamp.client.post(f"{API_PREFIX}/incidents", json=body, headers=self.auth("northwind", RI))
            assert r.status_code == 201, r.text
            return r.json()["id"]

        return self.once("incident", create)

    def etag(self, collection: str, tenant: str, id: str) -> str:
        with self.stamp.container.records.unit_of_work() as uow:
            return '"' + uow.get(collection, tenant, id)["_etag"] + '"'

    def secrets(self) -> list[str]:
        return [SECRET, self.incident()]


def _incident_url(ctx: Ctx, suffix: str = "") -> str:
    return f"{API_PREFIX}/incidents/{ctx.incident()}{suffix}"


def _contoso_anpr_offer(ctx: Ctx) -> str:
    """contoso offers ANPR sharing to devon-and-cornwall (once per module); returns the owner id."""

    def offer():
        url = f"{API_PREFIX}/organisations/contoso/sharing"
        etag = ctx.stamp.client.get(url, headers=ctx.auth("contoso", RA)).headers["etag"]
        agreements = [
            {"partner_id": "avon-and-somerset", "level": "descriptions"},
            {"partner_id": "devon-and-cornwall", "level": "counts", "anpr": True},
        ]
        r = ctx.stamp.client.put(url, json={"agreements": agreements}, headers={**ctx.auth("contoso", RA), "If-Match": etag})
        assert r.status_code == 200, r.text
        return "contoso"

    return ctx.once("contoso-anpr-offer", offer)


def _staff_incident(ctx: Ctx) -> str:
    def create() -> str:
        body = {**ctx.stamp.example("IncidentIn"), "narrative": SECRET}
        r = ctx.stamp.client.post(f"{API_PREFIX}/incidents", json=body, headers=ctx.auth("northwind", RR))
        assert r.status_code == 201, r.text
        return r.json()["id"]

    return ctx.once("staff-incident", create)


MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/api/v1/healthz"): Row(
        allowed=set(ROLES), public=True, call=lambda ctx, org: Call("GET", f"{API_PREFIX}/healthz"), other="hidden"
    ),
    ("POST", "/api/v1/incidents"): Row(
        allowed={RR, RI},
        ok=(201,),
        # Another retailer cannot report for northwind's store: 422 naming the store, nothing written.
        other=422,
        call=lambda ctx, org: Call("POST", f"{API_PREFIX}/incidents", json=ctx.stamp.example("IncidentIn")),
    ),
    ("POST", "/api/v1/incidents/validate"): Row(
        allowed={RR, RI},
        # Another retailer's check of a northwind store's report: 422 naming the store, as reporting answers.
        other=422,
        call=lambda ctx, org: Call("POST", f"{API_PREFIX}/incidents/validate", json=ctx.stamp.example("IncidentIn")),
    ),
    ("GET", "/api/v1/incidents"): Row(
        allowed={RR, RI, PO, PN},
        other="hidden",
        call=lambda ctx, org: (ctx.incident(), Call("GET", f"{API_PREFIX}/incidents", params={"purpose": PURPOSE}))[1],
    ),
    ("GET", "/api/v1/incidents/{incident_id}"): Row(
        allowed={RR, RI, PO, PN}, call=lambda ctx, org: Call("GET", _incident_url(ctx), params={"purpose": PURPOSE})
    ),
    ("PATCH", "/api/v1/incidents/{incident_id}"): Row(
        allowed={RI},
        call=lambda ctx, org: Call(
            "PATCH",
            _incident_url(ctx),
            json={"prosecution_supported": True},
            headers={"If-Match": ctx.etag("incidents", "northwind", ctx.incident())},
        ),
    ),
    ("POST", "/api/v1/incidents/{incident_id}/statements"): Row(
        allowed={RR, RI},
        ok=(201,),
        # Store staff add statements only to their own reports: the row's incident is filed by
        # the reporter the matrix signs in as (investigators add to any).
        call=lambda ctx, org: Call(
            "POST",
            f"{API_PREFIX}/incidents/{_staff_incident(ctx)}/statements",
            json={"name": "Matrix Witness", "statement": "Saw it happen."},
        ),
    ),
    ("GET", "/api/v1/incidents/{incident_id}/history"): Row(
        allowed={RI}, call=lambda ctx, org: Call("GET", _incident_url(ctx, "/history"))
    ),
    ("POST", "/api/v1/incidents/{incident_id}/revert"): Row(
        allowed={RI},
        call=lambda ctx, org: Call(
            "POST",
            _incident_url(ctx, "/revert"),
            json={"version": 1},
            headers={"If-Match": ctx.etag("incidents", "northwind", ctx.incident())},
        ),
    ),
    ("GET", "/api/v1/audit"): Row(
        allowed={RI, RA, PA},
        # Each organisation reads its own chain only: another's answer holds none of northwind's entries.
        other="hidden",
        call=lambda ctx, org: Call("GET", f"{API_PREFIX}/audit", params={"entity": f"incident/{ctx.incident()}"}),
    ),
    # A retailer's admin reads its own agreements; a force's admin reads who shares with it.
    ("GET", "/api/v1/organisations/{org_id}/sharing"): Row(
        allowed={RA, PA}, call=lambda ctx, org: Call("GET", f"{API_PREFIX}/organisations/{org}/sharing")
    ),
    ("PUT", "/api/v1/organisations/{org_id}/sharing"): Row(
        allowed={RA},
        call=lambda ctx, org: Call(
            "PUT",
            f"{API_PREFIX}/organisations/{org}/sharing",
            json=ctx.stamp.example("SharingIn"),
            headers={
                "If-Match": ctx.stamp.client.get(
                    f"{API_PREFIX}/organisations/northwind/sharing", headers=ctx.auth("northwind", RA)
                ).headers["etag"]
            },
        ),
    ),
    # A force's admin answers ANPR sharing offered to its own force (contoso's offer, made
    # here, so declining it leaves the seeded northwind agreement the ANPR rows rely on).
    ("POST", "/api/v1/organisations/{org_id}/sharing/{owner_id}/anpr-acceptance"): Row(
        allowed={PA},
        call=lambda ctx, org: Call("POST", f"{API_PREFIX}/organisations/{org}/sharing/{_contoso_anpr_offer(ctx)}/anpr-acceptance"),
    ),
    ("DELETE", "/api/v1/organisations/{org_id}/sharing/{owner_id}/anpr-acceptance"): Row(
        allowed={PA},
        call=lambda ctx, org: Call("DELETE", f"{API_PREFIX}/organisations/{org}/sharing/{_contoso_anpr_offer(ctx)}/anpr-acceptance"),
    ),
}

# Retention and subject requests: rows live beside their tests.
from tests.retention.matrix_rows import retention_rows  # noqa: E402

MATRIX.update(retention_rows(Row, Call, API_PREFIX))

# ANPR: rows live beside their tests.
from tests.anpr.matrix_rows import anpr_rows  # noqa: E402

MATRIX.update(anpr_rows(Row, Call, API_PREFIX))

# Evidence: rows live beside their tests.
from tests.evidence.matrix_rows import evidence_rows  # noqa: E402

MATRIX.update(evidence_rows(Row, Call, API_PREFIX))

# Direct to police: rows live beside their tests.
from tests.d2p.matrix_rows import d2p_rows  # noqa: E402

MATRIX.update(d2p_rows(Row, Call, API_PREFIX))

# Onboarding: rows live beside their tests.
from tests.onboarding.matrix_rows import onboarding_rows  # noqa: E402

MATRIX.update(onboarding_rows(Row, Call, API_PREFIX))

# Package shares: rows live beside their tests.
from tests.disclosure.matrix_rows import disclosure_rows  # noqa: E402

MATRIX.update(disclosure_rows(Row, Call, API_PREFIX))

# Footage requests: rows live beside their tests.
from tests.footage.matrix_rows import footage_rows  # noqa: E402

MATRIX.update(footage_rows(Row, Call, API_PREFIX))

# Network ranges: rows live beside their tests.
from tests.network.matrix_rows import network_rows  # noqa: E402

MATRIX.update(network_rows(Row, Call, API_PREFIX))
# Persons of interest: rows live beside their tests.
from tests.offenders.matrix_rows import offender_rows  # noqa: E402

MATRIX.update(offender_rows(Row, Call, API_PREFIX))

# Lookouts: rows live beside their tests.
from tests.lookouts.matrix_rows import lookout_rows  # noqa: E402

MATRIX.update(lookout_rows(Row, Call, API_PREFIX))
# Go-live checklist and DPIA: rows live beside their tests.
from tests.go_live.matrix_rows import go_live_rows  # noqa: E402

MATRIX.update(go_live_rows(Row, Call, API_PREFIX))
# Referrals to a national unit: rows live beside their tests.
from tests.referrals.matrix_rows import referral_rows  # noqa: E402

MATRIX.update(referral_rows(Row, Call, API_PREFIX))
# Intelligence (rankings, networks, groups): rows live beside their tests.
from tests.intel.matrix_rows import intel_rows  # noqa: E402

MATRIX.update(intel_rows(Row, Call, API_PREFIX))


def api_routes() -> list[tuple[str, str]]:
    """Every (method, path) the app documents: its OpenAPI document, built from `app.routes`."""
    app = shared_app()
    out = set()
    for path, ops in app.openapi()["paths"].items():
        for method in ops:
            if method in ("get", "put", "post", "patch", "delete"):
                out.add((method.upper(), path))
    return sorted(out)


ROUTES = api_routes()


def test_every_route_has_a_row():
    missing = [f"{m} {p}" for m, p in ROUTES if (m, p) not in MATRIX]
    assert not missing, "add your route to the matrix (tests/http/test_authz_matrix.py MATRIX): " + ", ".join(missing)
    stale = [f"{m} {p}" for m, p in MATRIX if (m, p) not in ROUTES]
    assert not stale, "rows for routes the app does not serve: " + ", ".join(stale)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    stamp = make_stamp(tmp_path_factory.mktemp("matrix"))
    onboard_other_unit(stamp)  # referrals: another national unit, the unit roles' other side
    yield Ctx(stamp)
    stamp.container.close()


def _send(ctx: Ctx, call: Call, headers: dict[str, str]):
    return ctx.stamp.client.request(
        call.method, call.url, json=call.json, params=call.params, content=call.content, headers={**call.headers, **headers}
    )


def _row(method: str, path: str) -> Row:
    row = MATRIX.get((method, path))
    if row is None:
        pytest.fail(f"{method} {path}: add your route to the matrix (tests/http/test_authz_matrix.py MATRIX)")
    return row


CASES = [
    pytest.param(m, p, role, side, id=f"{m} {p} {role} {side}") for (m, p), role, side in itertools.product(ROUTES, ROLES, ("own", "other"))
]


@pytest.mark.parametrize("method,path,role,side", CASES)
def test_role_and_organisation(ctx, method, path, role, side):
    row = _row(method, path)
    org = OWN[role] if side == "own" else OTHER[role]
    if org is None:
        pytest.skip(f"{role}: there is one platform organisation, so no other organisation to try")
    ctx.role = role  # objects bound to their creator (upload sessions) are made for this role's user
    call = row.call(ctx, OWN[role])
    r = _send(ctx, call, ctx.auth(org, role))
    assert r.status_code < 500, r.text
    if role not in row.allowed and not row.public:
        assert r.status_code == 403, f"{role} must be refused with 403, got {r.status_code}: {r.text[:300]}"
        assert r.headers["content-type"] == "application/problem+json"
        return
    if side == "own":
        assert r.status_code in row.ok, f"{role} of {org} should get {row.ok}, got {r.status_code}: {r.text[:300]}"
        return
    if row.other == "404":
        assert r.status_code == 404, f"{role} of {org} must get 404 for another organisation's object, got {r.status_code}: {r.text[:300]}"
        assert r.headers["content-type"] == "application/problem+json"
        assert SECRET not in r.text
    elif row.other == "hidden":
        assert 200 <= r.status_code < 300, r.text[:300]
        for secret in ctx.secrets():
            assert secret not in r.text, f"{role} of {org} saw northwind's {secret!r}"
    else:
        assert r.status_code == row.other, f"{role} of {org}: expected {row.other}, got {r.status_code}: {r.text[:300]}"
        assert SECRET not in r.text


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_no_token_is_401_with_challenge(ctx, method, path):
    row = _row(method, path)
    call = row.call(ctx, "northwind")
    r = _send(ctx, call, {})
    if row.public:
        assert r.status_code < 400, r.text
        if row.signature_headers:
            drop = {h.lower() for h in row.signature_headers}
            unsigned = _send(
                ctx,
                Call(
                    call.method,
                    call.url,
                    json=call.json,
                    params=call.params,
                    content=call.content,
                    headers={k: v for k, v in call.headers.items() if k.lower() not in drop},
                ),
                {},
            )
            assert unsigned.status_code == 401, unsigned.text
            assert unsigned.headers["content-type"] == "application/problem+json"
            assert "bearer" not in unsigned.headers.get("www-authenticate", "").lower()
        return
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert SECRET not in r.text
