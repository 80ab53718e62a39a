"""Package share routes: a force shares an incident's court package with a named
recipient outside Vigil (CPS, defence), lists its shares with their accesses, and
revokes one. The recipient's side is the console's public `/shared/{token}` pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from functions.http.deps import ContainerDep, require
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.disclosure import PackageShareIn
from shared.domain.tenancy import Principal, Role

# The roles that read a dispatched incident's evidence and so may build its package.
SHARERS = (Role.POLICE_OFFICER, Role.POLICE_ANALYST)
# Who may also see the shares and end one (a police admin reads no report, but may have
# to withdraw a link sent to the wrong person while its officer is away).
SHARE_MANAGERS = (*SHARERS, Role.POLICE_ADMIN)
Sharer = Annotated[Principal, Depends(require(*SHARERS))]
Manager = Annotated[Principal, Depends(require(*SHARE_MANAGERS))]

IncidentId = Annotated[str, Path(min_length=1, max_length=64, description="Incident id")]
ShareId = Annotated[str, Path(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$", description="Share id")]
Purpose = Annotated[str | None, Query(min_length=3, max_length=500, description="Why you are looking: recorded in the audit trail")]

router = APIRouter(tags=["disclosure"])

_SHARE_EXAMPLE: dict[str, Any] = {
    "id": "5f0c2a9e8b7d4c3a9e1f2b3c4d5e6f70",
    "incident_id": "northwind-000123",
    "recipient_name": "Priya Shah",
    "recipient_email": "priya.shah@cps.gov.uk",
    "recipient_organisation": "CPS South West",
    "recipient_kind": "cps",
    "purpose": "Charging decision for the CPS",
    "status": "active",
    "created_at": "2026-03-02T10:15:00.000000+00:00",
    "created_by": "officer-7",
    "expires_at": "2026-03-16T10:15:00.000000+00:00",
    "revoked_at": None,
    "wrong_codes": 0,
    "email_sent": True,
    "package_sha256": "9f2c" + "0" * 60,
    "manifest_sha256": "41ab" + "0" * 60,
    "package_size": 1048576,
    "accesses": [{"at": "2026-03-02T11:00:00.000000+00:00", "what": "viewed"}],
}


class ShareAccessOut(BaseModel):
    at: str
    what: str = Field(description="viewed, code_accepted, code_refused, locked or downloaded")


class PackageShareOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_SHARE_EXAMPLE]})

    id: str
    incident_id: str
    recipient_name: str
    recipient_email: str
    recipient_organisation: str
    recipient_kind: str
    purpose: str
    status: str = Field(description="active, locked, revoked or expired")
    created_at: str
    created_by: str
    expires_at: str
    revoked_at: str | None = None
    wrong_codes: int
    email_sent: bool = Field(description="Whether the mail provider accepted the email with the link")
    package_sha256: str = Field(description="SHA-256 of the zip the recipient downloads")
    manifest_sha256: str
    package_size: int
    accesses: list[ShareAccessOut]


class PackageShareMadeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"share": _SHARE_EXAMPLE, "link": "https://uk.vigil.example/shared/pT3...", "code": "40718265"}]}
    )

    share: PackageShareOut
    link: str = Field(description="The link emailed to the recipient")
    code: str = Field(description="The one-time code, shown only now: give it to the recipient by phone, never by email")


class PackageShareList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_SHARE_EXAMPLE]}]})

    items: list[PackageShareOut]


@router.post(
    "/incidents/{incident_id}/package-shares",
    status_code=201,
    summary="Share the court package with a named prosecutor or defence recipient (expiring link and one-time code)",
    response_model=PackageShareMadeOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The share, the emailed link and the code to give by phone",
)
def share_package(
    incident_id: IncidentId, body: Annotated[PackageShareIn, Body()], principal: Sharer, container: ContainerDep
) -> PackageShareMadeOut:
    """The force the incident was dispatched to builds its court package once and shares it: the recipient is emailed a link; the code is returned here only."""
    made = container.disclosure.shares.share(principal, incident_id, body)
    return PackageShareMadeOut(share=PackageShareOut(**made.share), link=made.link, code=made.code)


@router.get(
    "/incidents/{incident_id}/package-shares",
    summary="The force's shares of this incident's court package, with every access",
    response_model=PackageShareList,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The force's shares of the incident, newest first",
)
def list_package_shares(incident_id: IncidentId, principal: Manager, container: ContainerDep, purpose: Purpose = None) -> PackageShareList:
    """Each share with its status and its recipient's accesses; police give a purpose, recorded in the audit trail."""
    return PackageShareList(items=[PackageShareOut(**s) for s in container.disclosure.shares.list(principal, incident_id, purpose)])


@router.delete(
    "/incidents/{incident_id}/package-shares/{share_id}",
    summary="Revoke a share: the link answers 410 Gone and the built package is deleted",
    response_model=PackageShareOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The share as it now stands (revoked, or as it ended)",
)
def revoke_package_share(incident_id: IncidentId, share_id: ShareId, principal: Manager, container: ContainerDep) -> PackageShareOut:
    """End the share now; revoking one already ended changes nothing."""
    return PackageShareOut(**container.disclosure.shares.revoke(principal, incident_id, share_id))
