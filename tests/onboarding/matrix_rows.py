"""Onboarding rows of the authorization matrix (tests/http/test_authz_matrix.py).

The operator's routes act on the demo directory (northwind, its store nw-plymouth in
devon-and-cornwall's area); there is one platform organisation, so they have no "other"
side. Member routes admit northwind's Retailer.Admin (contoso's gets the 404 of a missing
organisation) and the operator; a removal first assigns the member it removes.
"""

from __future__ import annotations

from typing import Any

from shared.domain.tenancy import Role, StoreAccess
from shared.services.seed import SEED_OPERATOR

FORCE = {
    "name": "Matrix Constabulary",
    "kind": "police_force",
    "home_region": "uk",
    "idp_tenant_id": "6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0a99",
    "reference_prefix": "MX",
    "control_room_email": "control-room@matrix.police.example",
}
STORE = {"name": "Northwind Torquay", "address": "3 Fleet Street, Torquay", "postcode": "TQ1 1BB", "force_id": "devon-and-cornwall"}


def assign_member(ctx, user_id: str) -> None:
    """Give northwind's member `user_id` the store nw-plymouth (through the service)."""
    members = ctx.stamp.container.onboarding.members
    access = StoreAccess(kind="member", subject=user_id, organisation_id="northwind", stores=["nw-plymouth"])
    members.put(SEED_OPERATOR, access, None)


def onboarding_rows(Row, Call, prefix: str) -> dict[tuple[str, str], Any]:
    RA, OPS = Role.RETAILER_ADMIN.value, Role.PLATFORM_OPERATOR.value

    def deregistration(ctx, org):
        devices = ctx.stamp.container.onboarding.devices
        devices.put(
            SEED_OPERATOR, StoreAccess(kind="device", subject="matrix-retired", organisation_id="northwind", stores=["nw-plymouth"]), None
        )
        return Call("DELETE", f"{prefix}/organisations/northwind/devices/matrix-retired")

    def removal(ctx, org):
        assign_member(ctx, "matrix-leaver")
        return Call("DELETE", f"{prefix}/organisations/northwind/members/matrix-leaver")

    return {
        ("GET", "/api/v1/organisations/{org_id}"): Row(
            allowed={OPS}, call=lambda ctx, org: Call("GET", f"{prefix}/organisations/northwind")
        ),
        ("PUT", "/api/v1/organisations/{org_id}"): Row(
            allowed={OPS}, ok=(200, 201), call=lambda ctx, org: Call("PUT", f"{prefix}/organisations/matrix-constabulary", json=FORCE)
        ),
        ("GET", "/api/v1/organisations/{org_id}/stores/{store_id}"): Row(
            allowed={OPS}, call=lambda ctx, org: Call("GET", f"{prefix}/organisations/northwind/stores/nw-plymouth")
        ),
        ("PUT", "/api/v1/organisations/{org_id}/stores/{store_id}"): Row(
            allowed={OPS},
            ok=(200, 201),
            call=lambda ctx, org: Call("PUT", f"{prefix}/organisations/northwind/stores/nw-torquay", json=STORE),
        ),
        ("PUT", "/api/v1/organisations/{org_id}/devices/{client_id}"): Row(
            allowed={OPS},
            ok=(200, 201),
            call=lambda ctx, org: Call(
                "PUT", f"{prefix}/organisations/northwind/devices/matrix-camera", json={"name": "Car park ANPR", "stores": ["nw-plymouth"]}
            ),
        ),
        ("DELETE", "/api/v1/organisations/{org_id}/devices/{client_id}"): Row(allowed={OPS}, ok=(204,), call=deregistration),
        ("GET", "/api/v1/organisations/{org_id}/members"): Row(
            allowed={RA, OPS},
            call=lambda ctx, org: (assign_member(ctx, "matrix-member"), Call("GET", f"{prefix}/organisations/northwind/members"))[1],
        ),
        ("PUT", "/api/v1/organisations/{org_id}/members/{user_id}"): Row(
            allowed={RA, OPS},
            ok=(200, 201),
            call=lambda ctx, org: Call("PUT", f"{prefix}/organisations/northwind/members/matrix-member", json={"stores": ["nw-plymouth"]}),
        ),
        ("DELETE", "/api/v1/organisations/{org_id}/members/{user_id}"): Row(allowed={RA, OPS}, ok=(204,), call=removal),
    }
