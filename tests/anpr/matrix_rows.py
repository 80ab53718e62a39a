"""ANPR rows of the authorization matrix (tests/http/test_authz_matrix.py).

Kept here so the matrix file only imports them. Calls that need an object of the owning
side (a vehicle to delete, a subscription to read) make a fresh one through the API
first, so every admitted role of the owning side gets a success.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from shared.domain.tenancy import Role
from shared.domain.timestamps import to_iso

_counter = itertools.count(1)


def anpr_rows(Row, Call, prefix: str) -> dict[tuple[str, str], Any]:
    RI, RA = Role.RETAILER_INVESTIGATOR.value, Role.RETAILER_ADMIN.value
    PO, PN, PA = Role.POLICE_OFFICER.value, Role.POLICE_ANALYST.value, Role.POLICE_ADMIN.value
    DEV = Role.DEVICE_ANPR.value
    purpose = "Authorization matrix check, op MATRIX"

    def side(org: str) -> str:
        # The platform operator's row is built like a retailer's (it is refused before any lookup).
        return org if org in ("northwind", "devon-and-cornwall") else "northwind"

    def keeper(org: str) -> str:
        return RI if side(org) == "northwind" else PN

    def subscriber(org: str) -> str:
        return RI if side(org) == "northwind" else PA

    def reads(ctx) -> list[dict[str, Any]]:
        now = ctx.stamp.clock.now()
        return [
            {
                "camera_id": "cam-matrix",
                "store_id": "nw-plymouth",
                "captured_at": to_iso(now - timedelta(minutes=5)),
                "plate": "MX01 AAA",
                "confidence": 0.9,
                "direction": "towards",
            }
        ]

    def read_id(ctx) -> str:
        def create():
            r = ctx.stamp.client.post(f"{prefix}/anpr/reads", json={"reads": reads(ctx)}, headers=ctx.auth("northwind", DEV))
            assert r.status_code == 200, r.text
            found = ctx.stamp.client.get(
                f"{prefix}/anpr/reads", params={"plate": "MX01AAA", "purpose": purpose}, headers=ctx.auth("northwind", RI)
            )
            return found.json()["items"][0]["id"]

        return ctx.once("anpr_read", create)

    def fresh_vehicle(ctx, org: str) -> str:
        plate = f"MXV{next(_counter)}"
        r = ctx.stamp.client.put(f"{prefix}/vehicles/{plate}", json={"reason": "matrix check"}, headers=ctx.auth(side(org), keeper(org)))
        assert r.status_code == 201, r.text
        return plate

    def sub_body(org: str) -> dict[str, Any]:
        target = {"stores": ["nw-plymouth"]} if side(org) == "northwind" else {"force_area": org}
        return {**target, "email": ["alerts@example.org"]}

    def fresh_subscription(ctx, org: str) -> str:
        r = ctx.stamp.client.post(f"{prefix}/alert-subscriptions", json=sub_body(org), headers=ctx.auth(side(org), subscriber(org)))
        assert r.status_code == 201, r.text
        return r.json()["id"]

    return {
        ("POST", f"{prefix}/anpr/reads"): Row(
            allowed={DEV},
            # Another retailer's camera cannot post for northwind's store: 422 naming the read, nothing stored.
            other=422,
            call=lambda ctx, org: Call("POST", f"{prefix}/anpr/reads", json={"reads": reads(ctx)}),
        ),
        ("GET", f"{prefix}/anpr/reads"): Row(
            allowed={RI, PO, PN},
            other="hidden",
            call=lambda ctx, org: (read_id(ctx), Call("GET", f"{prefix}/anpr/reads", params={"plate": "MX01AAA", "purpose": purpose}))[1],
        ),
        ("GET", f"{prefix}/anpr/reads/{{read_id}}"): Row(
            allowed={RI, PO, PN},
            call=lambda ctx, org: Call("GET", f"{prefix}/anpr/reads/{read_id(ctx)}", params={"purpose": purpose}),
        ),
        ("GET", f"{prefix}/anpr/hits"): Row(
            allowed={RI, PO, PN}, other="hidden", call=lambda ctx, org: Call("GET", f"{prefix}/anpr/hits", params={"purpose": purpose})
        ),
        ("GET", f"{prefix}/vehicles"): Row(allowed={RI, PN}, other="hidden", call=lambda ctx, org: Call("GET", f"{prefix}/vehicles")),
        ("PUT", f"{prefix}/vehicles/{{plate}}"): Row(
            allowed={RI, PN},
            ok=(201,),
            # Listing is always in the caller's own organisation: another one lists its own.
            other=201,
            call=lambda ctx, org: Call("PUT", f"{prefix}/vehicles/MXP{next(_counter)}", json={"reason": "matrix check"}),
        ),
        ("DELETE", f"{prefix}/vehicles/{{plate}}"): Row(
            allowed={RI, PN}, ok=(204,), call=lambda ctx, org: Call("DELETE", f"{prefix}/vehicles/{fresh_vehicle(ctx, org)}")
        ),
        ("POST", f"{prefix}/incidents/{{incident_id}}/vehicles/{{plate}}/promote"): Row(
            allowed={RI, PN},
            ok=(200, 201),
            call=lambda ctx, org: Call("POST", f"{prefix}/incidents/{ctx.incident()}/vehicles/WR21XKD/promote", json={}),
        ),
        ("POST", f"{prefix}/alert-subscriptions"): Row(
            allowed={RI, RA, PN, PA},
            ok=(201,),
            # Northwind's stores (or devon-and-cornwall's area) are not another organisation's to subscribe to.
            other=422,
            call=lambda ctx, org: Call("POST", f"{prefix}/alert-subscriptions", json=sub_body(org)),
        ),
        ("GET", f"{prefix}/alert-subscriptions"): Row(
            allowed={RI, RA, PN, PA}, other="hidden", call=lambda ctx, org: Call("GET", f"{prefix}/alert-subscriptions")
        ),
        ("DELETE", f"{prefix}/alert-subscriptions/{{subscription_id}}"): Row(
            allowed={RI, RA, PN, PA},
            ok=(204,),
            call=lambda ctx, org: Call("DELETE", f"{prefix}/alert-subscriptions/{fresh_subscription(ctx, org)}"),
        ),
        ("GET", f"{prefix}/alert-subscriptions/{{subscription_id}}/deliveries"): Row(
            allowed={RI, RA, PN, PA},
            call=lambda ctx, org: Call(
                "GET", f"{prefix}/alert-subscriptions/{ctx.once('sub-' + org, lambda: fresh_subscription(ctx, org))}/deliveries"
            ),
        ),
        ("GET", f"{prefix}/anpr/settings"): Row(allowed={RA}, other="hidden", call=lambda ctx, org: Call("GET", f"{prefix}/anpr/settings")),
        ("PUT", f"{prefix}/anpr/settings"): Row(
            allowed={RA}, other=200, call=lambda ctx, org: Call("PUT", f"{prefix}/anpr/settings", json={"read_retention_days": 30})
        ),
        # A force's register of authorising officers is its Police.Admin's; another force's answers 404.
        ("GET", f"{prefix}/forces/{{force_id}}/anpr-authorising-officers"): Row(
            allowed={PA}, call=lambda ctx, org: Call("GET", f"{prefix}/forces/{org}/anpr-authorising-officers")
        ),
        ("PUT", f"{prefix}/forces/{{force_id}}/anpr-authorising-officers"): Row(
            allowed={PA},
            call=lambda ctx, org: Call(
                "PUT",
                f"{prefix}/forces/{org}/anpr-authorising-officers",
                json={"officers": [{"user_id": "dc-supt-4471", "name": "Priya Patel", "rank": "Superintendent"}]},
            ),
        ),
    }
