"""Intelligence rows of the authorization matrix (tests/http/test_authz_matrix.py).

The person named on the matrix's northwind incident is listed; devon-and-cornwall (which
northwind shares with in full) ranks it and reads its network, contoso and
avon-and-somerset see nothing of it: an empty ranking, and 404 for the network exactly as
for a person who does not exist.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.domain.crime_groups import CrimeGroupIn
from shared.domain.tenancy import Role
from shared.records import CRIME_GROUPS
from tests.intel.helpers import list_person

PURPOSE = {"purpose": "Authorization matrix check, op MATRIX"}


def intel_rows(Row, Call, prefix: str) -> dict[tuple[str, str], Any]:
    RI, RA = Role.RETAILER_INVESTIGATOR.value, Role.RETAILER_ADMIN.value
    PO, PN = Role.POLICE_OFFICER.value, Role.POLICE_ANALYST.value
    analysts = {RI, RA, PO, PN}

    def person(ctx) -> str:
        def listed() -> str:
            r = ctx.stamp.client.get(f"{prefix}/incidents/{ctx.incident()}", headers=ctx.auth("northwind", RI))
            assert r.status_code == 200, r.text
            pid = r.json()["persons"][0]["offender_id"]
            list_person(ctx.stamp, "northwind", pid)
            # The person the documented group example names, so the example works as-is.
            list_person(ctx.stamp, "northwind", CrimeGroupIn.model_json_schema()["examples"][0]["members"][0]["offender_id"])
            return pid

        return ctx.once("intel-person", listed)

    keepers = {RI, PN}

    def group_body(ctx) -> dict[str, Any]:
        return {
            "name": "Matrix group",
            "reason": "Named together in the matrix incident",
            "review_at": (ctx.stamp.clock.now() + timedelta(days=90)).isoformat(),
            "members": [{"organisation_id": "northwind", "offender_id": person(ctx)}],
        }

    def group(ctx, org: str) -> str:
        """A group kept by `org` (devon-and-cornwall's analyst for police, else northwind's investigator)."""
        org = org if org == "devon-and-cornwall" else "northwind"

        def create() -> str:
            role = RI if org == "northwind" else PN
            r = ctx.stamp.client.post(f"{prefix}/groups", json=group_body(ctx), headers=ctx.auth(org, role))
            assert r.status_code == 201, r.text
            return r.json()["id"]

        return ctx.once(f"intel-group-{org}", create)

    def patch(ctx, org: str):
        org = org if org == "devon-and-cornwall" else "northwind"
        gid = group(ctx, org)
        return Call(
            "PATCH",
            f"{prefix}/groups/{gid}",
            json={"name": "Matrix group, renamed"},
            headers={"If-Match": ctx.etag(CRIME_GROUPS.name, org, gid)},
        )

    return {
        # Members must be persons the caller may see: another organisation's caller may not link northwind's.
        ("POST", f"{prefix}/groups"): Row(
            allowed=keepers, ok=(201,), other=422, call=lambda ctx, org: Call("POST", f"{prefix}/groups", json=group_body(ctx))
        ),
        ("GET", f"{prefix}/groups"): Row(
            allowed=keepers, other="hidden", call=lambda ctx, org: (group(ctx, org), Call("GET", f"{prefix}/groups"))[1]
        ),
        ("GET", f"{prefix}/groups/{{group_id}}"): Row(
            allowed=keepers, call=lambda ctx, org: Call("GET", f"{prefix}/groups/{group(ctx, org)}")
        ),
        ("PATCH", f"{prefix}/groups/{{group_id}}"): Row(allowed=keepers, call=patch),
        ("GET", f"{prefix}/intel/repeat-offending"): Row(
            allowed=analysts,
            other="hidden",
            call=lambda ctx, org: (person(ctx), Call("GET", f"{prefix}/intel/repeat-offending", params=PURPOSE))[1],
        ),
        ("GET", f"{prefix}/offenders/{{offender_id}}/network"): Row(
            allowed=analysts, call=lambda ctx, org: Call("GET", f"{prefix}/offenders/{person(ctx)}/network", params=PURPOSE)
        ),
    }
