"""Network-range rows of the authorization matrix (tests/http/test_authz_matrix.py).

An organisation's ranges are its own admin's: devon-and-cornwall's Police.Admin and
northwind's Retailer.Admin read and set theirs; another force's or retailer's admin gets
the 404 of a missing organisation, every other role 403. The PUT sends the documented
example, which keeps loopback in both lists so the test client stays inside them.
"""

from __future__ import annotations

from typing import Any

from shared.domain.network import NetworkRangesIn
from shared.domain.tenancy import Role


def example() -> dict[str, Any]:
    return dict(NetworkRangesIn.model_config["json_schema_extra"]["examples"][0])  # type: ignore[index]


def network_rows(Row, Call, prefix: str) -> dict[tuple[str, str], Any]:
    RA, PA = Role.RETAILER_ADMIN.value, Role.POLICE_ADMIN.value
    admins = {RA, PA}

    def etag(ctx, org: str) -> str:
        """The ETag of `org`'s ranges as its admin reads them (a made-up one where the role's
        own side has no admin to read them: the operator's call is refused before it counts)."""
        role = {"devon-and-cornwall": PA, "northwind": RA}.get(org)
        if role is None:
            return '"unset"'
        return ctx.stamp.client.get(f"{prefix}/organisations/{org}/network-ranges", headers=ctx.auth(org, role)).headers["etag"]

    return {
        ("GET", f"{prefix}/organisations/{{org_id}}/network-ranges"): Row(
            allowed=admins, call=lambda ctx, org: Call("GET", f"{prefix}/organisations/{org}/network-ranges")
        ),
        ("PUT", f"{prefix}/organisations/{{org_id}}/network-ranges"): Row(
            allowed=admins,
            call=lambda ctx, org: Call(
                "PUT", f"{prefix}/organisations/{org}/network-ranges", json=example(), headers={"If-Match": etag(ctx, org)}
            ),
        ),
        ("GET", f"{prefix}/organisations/{{org_id}}/network-ranges/versions"): Row(
            allowed=admins, call=lambda ctx, org: Call("GET", f"{prefix}/organisations/{org}/network-ranges/versions")
        ),
    }
