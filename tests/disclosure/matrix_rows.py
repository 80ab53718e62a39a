"""Package share rows of the authorization matrix (tests/http/test_authz_matrix.py).

The incident is a northwind report dispatched by D2P to devon-and-cornwall: only that
force's officers and analysts may share its package; its admins may also list and revoke
shares. Avon-and-somerset answers 404 exactly as for a missing incident; retailers are
refused by role, as are police admins sharing (they do not read reports)."""

from __future__ import annotations

from typing import Any

from shared.domain.tenancy import Role
from tests.disclosure.helpers import SHARE, dispatched_incident

DC = "devon-and-cornwall"


def disclosure_rows(Row, Call, prefix: str) -> dict[tuple[str, str], Any]:
    PO, PN, PA = Role.POLICE_OFFICER.value, Role.POLICE_ANALYST.value, Role.POLICE_ADMIN.value
    sharers = {PO, PN}
    managers = {PO, PN, PA}

    def incident(ctx) -> str:
        return ctx.once("share-incident", lambda: dispatched_incident(ctx.stamp)["id"])

    def share_id(ctx) -> str:
        def make() -> str:
            r = ctx.stamp.client.post(f"{prefix}/incidents/{incident(ctx)}/package-shares", json=SHARE, headers=ctx.auth(DC, PO))
            assert r.status_code == 201, r.text
            return r.json()["share"]["id"]

        return ctx.once("share-id", make)

    purpose = {"purpose": "Authorization matrix check, op MATRIX"}
    return {
        ("POST", f"{prefix}/incidents/{{incident_id}}/package-shares"): Row(
            allowed=sharers,
            ok=(201,),
            call=lambda ctx, org: Call("POST", f"{prefix}/incidents/{incident(ctx)}/package-shares", json=SHARE),
        ),
        ("GET", f"{prefix}/incidents/{{incident_id}}/package-shares"): Row(
            allowed=managers,
            call=lambda ctx, org: Call("GET", f"{prefix}/incidents/{incident(ctx)}/package-shares", params=purpose),
        ),
        ("DELETE", f"{prefix}/incidents/{{incident_id}}/package-shares/{{share_id}}"): Row(
            allowed=managers,
            call=lambda ctx, org: Call("DELETE", f"{prefix}/incidents/{incident(ctx)}/package-shares/{share_id(ctx)}"),
        ),
    }
