"""Sharing agreement routes: a retailer's admin says who it shares with and how deeply;
a force's admin sees who shares with the force and accepts or declines ANPR sharing."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from functions.http.deps import ContainerDep, IfMatch, etag_header, require
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.tenancy import Principal, Role, ShareLevel
from shared.services.sharing import MAX_AGREEMENTS, Agreement, Agreements

OrgId = Annotated[str, Path(min_length=1, max_length=64, description="Organisation id, e.g. northwind")]


class AgreementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner_id: str = Field(min_length=1, max_length=64, description="A police force or retailer in this region")
    level: ShareLevel = Field(
        description="none; counts (aggregate numbers only); descriptions (incidents, no names or dates of birth); full (personal details; minors still excluded)"
    )
    anpr: bool = Field(
        default=False,
        description="Offer plate reads to a police force (its vehicles of interest then match your reads). Forces only; shared once the force accepts",
    )


class SharingIn(BaseModel):
    """The whole list of agreements: partners not listed stop receiving anything."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "agreements": [
                        {"partner_id": "devon-and-cornwall", "level": "full", "anpr": True},
                        {"partner_id": "avon-and-somerset", "level": "descriptions", "anpr": False},
                        {"partner_id": "contoso", "level": "counts", "anpr": False},
                    ]
                }
            ]
        },
    )

    agreements: list[AgreementIn] = Field(max_length=MAX_AGREEMENTS)


class AgreementOut(BaseModel):
    owner_id: str = Field(description="The organisation that shares")
    partner_id: str = Field(description="The organisation it shares with")
    level: ShareLevel
    anpr: bool = Field(description="ANPR sharing offered by the owner")
    anpr_status: Literal["none", "pending", "accepted"] = Field(
        description="none (not offered); pending (offered, not yet accepted by the force: nothing shared); accepted"
    )
    anpr_accepted_at: str | None = Field(default=None, description="When the force accepted")
    since: str | None = Field(default=None, description="When the agreement took its current form")


class SharingOut(BaseModel):
    organisation_id: str
    direction: str = Field(
        description="outgoing (what this retailer shares) or incoming (who shares with this force)", examples=["outgoing"]
    )
    agreements: list[AgreementOut]
    etag: str


Admin = Annotated[Principal, Depends(require(Role.RETAILER_ADMIN, Role.POLICE_ADMIN))]
RetailerAdmin = Annotated[Principal, Depends(require(Role.RETAILER_ADMIN))]
ForceAdmin = Annotated[Principal, Depends(require(Role.POLICE_ADMIN))]
OwnerId = Annotated[str, Path(min_length=1, max_length=64, description="The retailer offering ANPR sharing, e.g. northwind")]

router = APIRouter(tags=["sharing"])


def _answer(found: Agreements, response: Response) -> dict[str, Any]:
    response.headers.update(etag_header(found.etag))
    return {
        "organisation_id": found.organisation_id,
        "direction": found.direction,
        "agreements": found.agreements,
        "etag": f'"{found.etag}"',
    }


@router.get(
    "/organisations/{org_id}/sharing",
    summary="Sharing agreements: a retailer's own (Retailer.Admin), or who shares with a force (Police.Admin)",
    response_model=SharingOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The agreements, with their ETag",
)
def get_sharing(org_id: OrgId, principal: Admin, container: ContainerDep, response: Response):
    """A retailer admin reads its own sharing agreements; a force admin reads which retailers share with its force and at what level."""
    return _answer(container.sharing.read(principal, org_id), response)


@router.put(
    "/organisations/{org_id}/sharing",
    summary="Replace a retailer's sharing agreements (If-Match required)",
    response_model=SharingOut,
    responses=responses(400, *AUTH_ERRORS, 404, 412, 413, 422, 428),
    response_description="The agreements as now stored, with their new ETag",
)
def replace_sharing(
    org_id: OrgId, body: SharingIn, principal: RetailerAdmin, container: ContainerDep, response: Response, if_match: IfMatch = None
):
    """Replaces a retailer's sharing agreements with its partners (level and ANPR offer per partner); needs `If-Match`."""
    agreements = [Agreement(partner_id=a.partner_id, level=a.level, anpr=a.anpr) for a in body.agreements]
    return _answer(container.sharing.replace(principal, org_id, agreements, if_match), response)


@router.post(
    "/organisations/{org_id}/sharing/{owner_id}/anpr-acceptance",
    summary="A force accepts the ANPR sharing a retailer offers it (Police.Admin)",
    description="Until the force accepts, an ANPR offer is `pending` and shares nothing: the force's vehicles of interest do not match the retailer's reads and the force sees none of them.",
    response_model=AgreementOut,
    responses=responses(*AUTH_ERRORS, 404, 412, 422),
    response_description="The agreement, ANPR sharing now accepted",
)
def accept_anpr_sharing(org_id: OrgId, owner_id: OwnerId, principal: ForceAdmin, container: ContainerDep):
    return container.sharing.answer_anpr(principal, org_id, owner_id, accept=True)


@router.delete(
    "/organisations/{org_id}/sharing/{owner_id}/anpr-acceptance",
    summary="A force declines, or stops accepting, a retailer's ANPR sharing (Police.Admin)",
    response_model=AgreementOut,
    responses=responses(*AUTH_ERRORS, 404, 412, 422),
    response_description="The agreement, ANPR sharing now declined",
)
def decline_anpr_sharing(org_id: OrgId, owner_id: OwnerId, principal: ForceAdmin, container: ContainerDep):
    """A force declines, or stops accepting, the ANPR sharing a retailer offers it."""
    return container.sharing.answer_anpr(principal, org_id, owner_id, accept=False)
