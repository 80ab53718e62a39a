"""Lookout rows of the authorization matrix (tests/http/test_authz_matrix.py).

Northwind's investigator issues lookouts for a listed northwind person to the stores near
nw-plymouth (its own: Plymouth and Exeter); devon-and-cornwall's officers and analysts
issue them for the force's vehicle of interest to the stores in its area (northwind's,
which shares with the force). Store staff read and acknowledge them for nw-exeter.
Contoso and avon-and-somerset, the "other" side, cannot issue for a subject that is not
theirs (422), see none of them in lists, and get 404 for each one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.domain.tenancy import Role
from tests.lookouts.helpers import list_person, redacted_still

DC_PLATE = "MXL0OK1"


def lookout_rows(Row, Call, prefix: str) -> dict[tuple[str, str], Any]:
    RR, RI, RA = Role.RETAILER_REPORTER.value, Role.RETAILER_INVESTIGATOR.value, Role.RETAILER_ADMIN.value
    PO, PN = Role.POLICE_OFFICER.value, Role.POLICE_ANALYST.value
    issuers = {RI, PO, PN}
    staff = {RR, RI, RA}

    def is_police(ctx) -> bool:
        return ctx.role in (PO, PN, Role.POLICE_ADMIN.value)

    def body(ctx) -> dict[str, Any]:
        expires = (ctx.stamp.clock.now() + timedelta(days=7)).isoformat()
        reason = "Threatened staff at Northwind Plymouth on 20 November; do not approach, call 999."
        if is_police(ctx):
            ctx.once("lookout-dc-vehicle", lambda: _dc_vehicle(ctx))
            return {"plate": DC_PLATE, "force_area": "devon-and-cornwall", "reason": reason, "expires_at": expires}
        ctx.once("lookout-nw-person", lambda: list_person(ctx.stamp, image_evidence_ids=[redacted_still(ctx.stamp)[1]]))
        return {"offender_id": "nw-poi-1", "near_store_id": "nw-plymouth", "within_km": 80, "reason": reason, "expires_at": expires}

    def _dc_vehicle(ctx) -> str:
        r = ctx.stamp.client.put(
            f"{prefix}/vehicles/{DC_PLATE}", json={"reason": "matrix check"}, headers=ctx.auth("devon-and-cornwall", PN)
        )
        assert r.status_code in (200, 201), r.text
        return DC_PLATE

    def fresh(ctx) -> str:
        org, role = ("devon-and-cornwall", PO) if is_police(ctx) else ("northwind", RI)
        r = ctx.stamp.client.post(f"{prefix}/lookouts", json=body(ctx), headers=ctx.auth(org, role))
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def one(ctx) -> str:
        """A lookout the role's own side sees: the force's for police roles, northwind's otherwise."""
        return ctx.once("lookout-dc" if is_police(ctx) else "lookout-nw", lambda: fresh(ctx))

    def listing(ctx) -> Call:
        one(ctx)
        params = {"store": "nw-exeter"} if ctx.role in (RR, RA) else {}
        return Call("GET", f"{prefix}/lookouts", params=params)

    return {
        # Another organisation naming a subject that is not its own is refused, nothing written.
        ("POST", f"{prefix}/lookouts"): Row(
            allowed=issuers, ok=(201,), other=422, call=lambda ctx, org: Call("POST", f"{prefix}/lookouts", json=body(ctx))
        ),
        # Store staff list a store they work for; issuers what their organisation issued. Others see none.
        ("GET", f"{prefix}/lookouts"): Row(allowed=issuers | staff, other="hidden", call=lambda ctx, org: listing(ctx)),
        ("GET", f"{prefix}/lookouts/{{lookout_id}}"): Row(
            allowed=issuers | staff, call=lambda ctx, org: Call("GET", f"{prefix}/lookouts/{one(ctx)}")
        ),
        # The image is the person's redacted still (northwind's lookout); a vehicle lookout (the
        # force's) has none: 404.
        ("GET", f"{prefix}/lookouts/{{lookout_id}}/image"): Row(
            allowed=issuers | staff, ok=(200, 404), call=lambda ctx, org: Call("GET", f"{prefix}/lookouts/{one(ctx)}/image")
        ),
        # Staff of a store it reached, once per store (again answers the first).
        ("POST", f"{prefix}/lookouts/{{lookout_id}}/acknowledgements"): Row(
            allowed=staff,
            ok=(200, 201),
            call=lambda ctx, org: Call("POST", f"{prefix}/lookouts/{one(ctx)}/acknowledgements", json={"store_id": "nw-exeter"}),
        ),
        ("POST", f"{prefix}/lookouts/{{lookout_id}}/withdraw"): Row(
            allowed=issuers, call=lambda ctx, org: Call("POST", f"{prefix}/lookouts/{fresh(ctx)}/withdraw")
        ),
    }
