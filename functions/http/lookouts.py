"""Lookout routes: an investigator or officer issues a lookout to nearby stores and sees
who acknowledged it; store staff list the active lookouts for their store and
acknowledge them. Thin: parse, who, one call, and the answer's status and headers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from functions.http.deps import API_PREFIX, ContainerDep, IdempotencyKey, PageCursor, require
from functions.http.problems import AUTH_ERRORS, responses
from shared import settings as app_settings
from shared.domain.lookouts import LookoutIn, LookoutKind, LookoutState
from shared.domain.tenancy import Principal, ShareLevel
from shared.services.lookouts import ISSUERS, READERS, STORE_STAFF
from shared.services.lookouts.read import LookoutView

LookoutId = Annotated[str, Path(min_length=1, max_length=64, description="Lookout id", examples=["9f1c2b3a4d5e6f708192a3b4c5d6e7f8"])]
Issuer = Annotated[Principal, Depends(require(*ISSUERS))]
Reader = Annotated[Principal, Depends(require(*READERS))]
Staff = Annotated[Principal, Depends(require(*STORE_STAFF))]

_settings = app_settings.get_settings()
# The image types evidence intake accepts (a redacted still keeps its original's type).
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")
BINARY: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}

router = APIRouter(tags=["lookouts"])

PERSON: dict[str, Any] = {
    "name": None,
    "aliases": [],
    "description": "White male, about 30, 180 cm, slim; grey hooded top, black cap, tattoo on left hand.",
}
EXAMPLE: dict[str, Any] = {
    "id": "9f1c2b3a4d5e6f708192a3b4c5d6e7f8",
    "kind": "person",
    "state": "active",
    "issued_by_organisation_id": "northwind",
    "issued_by_organisation": "Northwind Stores",
    "reason": "Threatened staff with a knife at Northwind Plymouth on 20 November; do not approach, call 999.",
    "plate": None,
    "person": PERSON,
    "level": "descriptions",
    "image_url": None,
    "issued_at": "2026-11-30T09:00:00Z",
    "expires_at": "2026-12-14T18:00:00Z",
    "withdrawn_at": None,
    "area": {"near_store_id": "nw-plymouth", "near_latitude": None, "near_longitude": None, "within_km": 80.0},
    "recipient_count": 2,
    "store_id": "nw-exeter",
    "acknowledged_at": None,
    "acknowledgements": None,
}


class LookoutPersonOut(BaseModel):
    name: str | None = Field(description="Only for recipients the issuer shares with in full (its own stores)")
    aliases: list[str]
    description: str


class AcknowledgementOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lookout_id": "9f1c2b3a4d5e6f708192a3b4c5d6e7f8",
                    "store_id": "nw-exeter",
                    "organisation_id": "northwind",
                    "acknowledged_by": "northwind-reporter",
                    "acknowledged_at": "2026-11-30T09:12:00Z",
                }
            ]
        }
    )

    lookout_id: str
    store_id: str
    organisation_id: str
    acknowledged_by: str
    acknowledged_at: datetime


class LookoutOut(BaseModel):
    """A lookout as its reader may see it: store staff see it only while active, and the
    person's name only when the issuer shares with them in full."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: str
    kind: LookoutKind
    state: LookoutState
    issued_by_organisation_id: str
    issued_by_organisation: str
    reason: str
    plate: str | None
    person: LookoutPersonOut | None
    level: ShareLevel = Field(description="What the reader may see of the person")
    image_url: str | None = Field(description="The redacted still (GET, same token)")
    issued_at: datetime
    expires_at: datetime
    withdrawn_at: datetime | None
    area: dict[str, Any]
    recipient_count: int
    store_id: str | None = Field(description="The store it is read for (store staff)")
    acknowledged_at: datetime | None = Field(description="When that store acknowledged it")
    acknowledgements: list[AcknowledgementOut] | None = Field(description="Every store's acknowledgement (the issuer's view)")

    @classmethod
    def of(cls, v: LookoutView) -> LookoutOut:
        lk = v.lookout
        return cls(
            id=lk.id,
            kind=lk.kind,
            state=v.state,
            issued_by_organisation_id=lk.organisation_id,
            issued_by_organisation=v.issuer_name,
            reason=lk.reason,
            plate=lk.plate,
            person=LookoutPersonOut(**v.person) if v.person is not None else None,
            level=v.level,
            image_url=f"{API_PREFIX}/lookouts/{lk.id}/image" if lk.image_evidence_id and v.person is not None else None,
            issued_at=lk.issued_at,
            expires_at=lk.expires_at,
            withdrawn_at=lk.withdrawn_at,
            area=lk.area,
            recipient_count=v.recipient_count,
            store_id=v.store_id,
            acknowledged_at=v.acknowledged_at,  # type: ignore[arg-type]
            acknowledgements=[AcknowledgementOut(lookout_id=lk.id, **a) for a in v.acknowledgements]
            if v.acknowledgements is not None
            else None,
        )


class LookoutPageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [EXAMPLE], "continuation": None}]})
    items: list[LookoutOut]
    continuation: str | None = Field(description="Send as `continuation` for the next page; null on the last")


class LookoutAcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"store_id": "nw-exeter"}]})
    store_id: str = Field(min_length=1, max_length=64, description="Your store the lookout reached")


@router.post(
    "/lookouts",
    status_code=201,
    summary="Issue a lookout for a listed person or a vehicle of interest to nearby stores",
    response_model=LookoutOut,
    responses={
        **responses(400, *AUTH_ERRORS, 409, 413, 422),
        200: {"description": "A keyed retry: the lookout it issued", "model": LookoutOut},
    },
    response_description="The lookout as issued (Location names it)",
)
def issue_lookout(
    body: Annotated[LookoutIn, Body()],
    principal: Issuer,
    container: ContainerDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> LookoutOut:
    """Warns the stores within a distance of a store or a point (or in a force area) that the sharing agreements let you reach, until an expiry at most 30 days away. The person must be a listed person of interest of yours whose listing is in force, never a minor; a vehicle must be a current vehicle of interest. Each store is emailed (and its webhook subscriptions called) and sees it in the console."""
    issued = container.lookouts.issue.issue(principal, body, idempotency_key)
    response.headers["Location"] = f"{API_PREFIX}/lookouts/{issued.lookout.id}"
    if not issued.created:
        response.status_code = 200
    return LookoutOut.of(container.lookouts.read.get(principal, issued.lookout.id))


@router.get(
    "/lookouts",
    summary="Active lookouts for a store, or those your organisation issued (newest first)",
    response_model=LookoutPageOut,
    responses=responses(*AUTH_ERRORS, 422),
    response_description="One page of lookouts, with a continuation while more remain",
)
def list_lookouts(
    principal: Reader,
    container: ContainerDep,
    store: Annotated[str | None, Query(min_length=1, max_length=64, description="A store you work for: its active lookouts")] = None,
    limit: Annotated[int, Query(ge=1, le=_settings.max_page_size)] = _settings.default_page_size,
    *,
    page: PageCursor,
) -> LookoutPageOut:
    """With `store`: the active lookouts reaching that store (none for a store you do not work for). Without: the lookouts your organisation issued, in every state, with who acknowledged them (investigators and officers); store staff of a single store get that store's. Every lookout shown is recorded in the issuer's audit trail."""
    found = container.lookouts.read.list(principal, store=store, limit=limit, continuation=page.token)
    return LookoutPageOut(items=[LookoutOut.of(v) for v in found.items], continuation=page.next(found.continuation))


@router.get(
    "/lookouts/{lookout_id}",
    summary="One lookout",
    response_model=LookoutOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The lookout as you may see it",
)
def get_lookout(lookout_id: LookoutId, principal: Reader, container: ContainerDep) -> LookoutOut:
    """The issuer's people see it in every state with every acknowledgement; staff of a store it reached see it while it is active (404 once it lapsed, was withdrawn or its listing stopped being in force)."""
    return LookoutOut.of(container.lookouts.read.get(principal, lookout_id))


@router.post(
    "/lookouts/{lookout_id}/acknowledgements",
    status_code=201,
    summary="Acknowledge a lookout for your store",
    response_model=AcknowledgementOut,
    responses={**responses(400, *AUTH_ERRORS, 404, 413, 422), 200: {"description": "Already acknowledged", "model": AcknowledgementOut}},
    response_description="The store's acknowledgement",
)
def acknowledge_lookout(
    lookout_id: LookoutId, body: Annotated[LookoutAcknowledgeIn, Body()], principal: Staff, container: ContainerDep, response: Response
) -> AcknowledgementOut:
    """Records that your store has seen the lookout; the issuer sees it. Once per store: again answers the first (200)."""
    done = container.lookouts.acknowledge.acknowledge(principal, lookout_id, body.store_id)
    if not done.created:
        response.status_code = 200
    return AcknowledgementOut(**done.acknowledgement)


@router.get(
    "/lookouts/{lookout_id}/image",
    summary="The lookout's image: the person's redacted still",
    responses={
        200: {"description": "The redacted still, in its own image type", "content": {t: BINARY for t in IMAGE_TYPES}},
        **responses(*AUTH_ERRORS, 404, 409, 422),
    },
    response_class=Response,
)
def get_lookout_image(lookout_id: LookoutId, principal: Reader, container: ContainerDep) -> Response:
    """The redacted still of the lookout's person, to whoever may see the lookout (never an unredacted original). Each view is audited."""
    image = container.lookouts.images.image(principal, lookout_id)
    return Response(
        content=image.data, media_type=image.content_type, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    )


class WithdrawnOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": "9f1c2b3a4d5e6f708192a3b4c5d6e7f8", "state": "withdrawn", "withdrawn_at": "2026-11-30T10:00:00Z"}]
        }
    )
    id: str
    state: Literal["withdrawn"]
    withdrawn_at: datetime


@router.post(
    "/lookouts/{lookout_id}/withdraw",
    summary="Withdraw a lookout your organisation issued",
    response_model=WithdrawnOut,
    responses=responses(*AUTH_ERRORS, 404, 409, 422),
    response_description="The lookout, withdrawn: stores no longer see it",
)
def withdraw_lookout(lookout_id: LookoutId, principal: Issuer, container: ContainerDep) -> WithdrawnOut:
    """Calls the lookout off at once: stores stop seeing it and owed emails and webhooks are not sent."""
    lk = container.lookouts.withdraw.withdraw(principal, lookout_id)
    return WithdrawnOut(id=lk.id, state="withdrawn", withdrawn_at=lk.withdrawn_at or container.clock.now())
