"""Network ranges: the addresses an organisation's people, and separately its devices and
service principals, may call from (its Police.Admin or Retailer.Admin sets them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from functions.http.deps import ContainerDep, IfMatch, etag_header, require
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.network import NetworkRanges, NetworkRangesIn
from shared.domain.tenancy import Principal, Role
from shared.services.repository import Stored

OrgId = Annotated[str, Path(min_length=1, max_length=64, description="Organisation id, e.g. devon-and-cornwall")]
Admin = Annotated[Principal, Depends(require(Role.POLICE_ADMIN, Role.RETAILER_ADMIN))]

router = APIRouter(tags=["network ranges"])


class NetworkRangesOut(BaseModel):
    organisation_id: str
    version: int = Field(description="0 while the ranges were never set")
    staff: list[str] = Field(description="CIDR ranges the organisation's people may use, API and console. Empty: anywhere")
    devices: list[str] = Field(
        description="CIDR ranges its camera systems and service principals (app-only tokens) may use. Empty: anywhere"
    )
    staff_restricted: bool = Field(description="False: staff can sign in from anywhere")
    devices_restricted: bool = Field(description="False: devices and service principals can call from anywhere")
    updated_at: str | None = None
    updated_by: str | None = None
    etag: str


class NetworkRangesVersionsOut(BaseModel):
    organisation_id: str
    versions: list[NetworkRangesOut] = Field(description="Every version, oldest first (etag empty: versions are not changed)")


def _out(ranges: NetworkRanges, etag: str) -> dict[str, Any]:
    return {
        **ranges.model_dump(),
        "staff_restricted": bool(ranges.staff),
        "devices_restricted": bool(ranges.devices),
        "etag": f'"{etag}"' if etag else "",
    }


def _answer(stored: Stored[NetworkRanges], response: Response) -> dict[str, Any]:
    response.headers.update(etag_header(stored.etag))
    return _out(stored.record, stored.etag)


@router.get(
    "/organisations/{org_id}/network-ranges",
    summary="Where the organisation's people and devices may call from (its admin)",
    response_model=NetworkRangesOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The ranges, with their ETag",
)
def get_network_ranges(org_id: OrgId, principal: Admin, container: ContainerDep, response: Response):
    """The organisation's network ranges for its staff and for its devices and service
    principals. An empty list restricts nothing. A change takes effect within 30 seconds
    on every instance of the stamp."""
    return _answer(container.network.ranges.get(principal, org_id), response)


@router.put(
    "/organisations/{org_id}/network-ranges",
    summary="Replace the organisation's network ranges (If-Match once set)",
    response_model=NetworkRangesOut,
    responses=responses(400, *AUTH_ERRORS, 404, 412, 413, 422, 428),
    response_description="The ranges as now stored, with their new ETag",
)
def replace_network_ranges(
    org_id: OrgId, body: NetworkRangesIn, principal: Admin, container: ContainerDep, response: Response, if_match: IfMatch = None
):
    """Replaces both lists (IPv4 and IPv6 CIDR ranges, at most 100 each, normalised) as a new
    version, audited. Requests of the organisation's users from outside them are then refused
    with 403 `outside-network`. Take care not to shut yourself out: the admin is held to
    the staff ranges too."""
    return _answer(container.network.ranges.put(principal, org_id, body, if_match), response)


@router.get(
    "/organisations/{org_id}/network-ranges/versions",
    summary="Every version of the organisation's network ranges (its admin)",
    response_model=NetworkRangesVersionsOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The versions, oldest first",
)
def network_ranges_versions(org_id: OrgId, principal: Admin, container: ContainerDep):
    """Every version of the organisation's network ranges, who set each and when."""
    versions = container.network.ranges.versions(principal, org_id)
    return {"organisation_id": org_id, "versions": [_out(v, "") for v in versions]}
