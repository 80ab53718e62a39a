"""Intelligence rows of the authorization matrix (tests/http/test_authz_matrix.py).

The person named on the matrix's northwind incident is listed; devon-and-cornwall (which
northwind shares with in full) ranks it and reads its network, contoso and
avon-and-somerset see nothing of it: an empty ranking, and 404 for the network exactly as
for a person who does not exist.
"""

from __future__ import annotations

from typing import Any

from shared.domain.tenancy import Role
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
            return pid

        return ctx.once("intel-person", listed)

    return {
        ("GET", f"{prefix}/intel/repeat-offending"): Row(
            allowed=analysts,
            other="hidden",
            call=lambda ctx, org: (person(ctx), Call("GET", f"{prefix}/intel/repeat-offending", params=PURPOSE))[1],
        ),
        ("GET", f"{prefix}/offenders/{{offender_id}}/network"): Row(
            allowed=analysts, call=lambda ctx, org: Call("GET", f"{prefix}/offenders/{person(ctx)}/network", params=PURPOSE)
        ),
    }
