"""Footage-request routes: a force asks a store for footage, lists and withdraws its
requests; the store's retailer lists them, supplies files into them or declines. Thin:
parse, who, one call, and the answer's status and headers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from functions.http.deps import API_PREFIX, ContainerDep, IdempotencyKey, PageCursor, require
from functions.http.evidence import RAW_BODY, request_body, request_content_length
from functions.http.limits import upload_slot
from functions.http.problems import AUTH_ERRORS, responses
from shared import settings as app_settings
from shared.domain.evidence import EvidenceKind
from shared.domain.footage import STATUS_WORDS, DeclineIn, FootageRequest, FootageRequestIn, FootageStatus, SupplyIn, WithdrawIn
from shared.domain.tenancy import Principal
from shared.services.footage import POLICE, RETAILERS
from shared.services.incidents import REPORTERS

EvidenceId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        description="An evidence item uploaded to the request's report",
        examples=["northwind-3f2a9c1e5b7d4e0f8a6b2c9d1e3f5a7b"],
    ),
]
RequestId = Annotated[str, Path(min_length=1, max_length=64, description="Footage request id")]
Police = Annotated[Principal, Depends(require(*POLICE))]
Retailer = Annotated[Principal, Depends(require(*RETAILERS))]
# Files are uploaded to a report first: whoever may add evidence to the store's reports supplies them.
Supplier = Annotated[Principal, Depends(require(*REPORTERS))]
Either = Annotated[Principal, Depends(require(*POLICE, *RETAILERS))]

_settings = app_settings.get_settings()

router = APIRouter(tags=["footage requests"])

EXAMPLE: dict[str, Any] = {
    "id": "5b0c7f1e2d3a4b5c6d7e8f9a0b1c2d3e",
    "organisation_id": "northwind",
    "force_id": "devon-and-cornwall",
    "store_id": "nw-plymouth",
    "crime_reference": "DC/2026/118734",
    "window_start": "2026-11-20T14:00:00Z",
    "window_end": "2026-11-20T14:30:00Z",
    "deadline": "2026-12-15T17:00:00Z",
    "wanted": "Camera over the tills and the front door, 14:00-14:30.",
    "incident_id": None,
    "status": "open",
    "status_words": "Waiting for the store",
    "overdue": False,
    "created_at": "2026-12-01T09:12:00Z",
    "answered_at": None,
    "supplied": [],
    "decline_reason": None,
    "withdrawn_reason": None,
    "reminder_sent_at": None,
}


class SuppliedOut(BaseModel):
    evidence_id: str
    filename: str
    at: datetime


class FootageRequestOut(BaseModel):
    """A footage request as the force that made it and the retailer asked see it."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: str
    organisation_id: str = Field(description="The retailer whose store is asked")
    force_id: str
    store_id: str
    crime_reference: str
    window_start: datetime
    window_end: datetime
    deadline: datetime
    wanted: str
    incident_id: str | None = Field(description="The report the footage is stored on (upload files to it, then supply them)")
    status: FootageStatus
    status_words: str
    overdue: bool = Field(description="Past its deadline with nothing supplied")
    created_at: datetime
    answered_at: datetime | None
    supplied: list[SuppliedOut]
    decline_reason: str | None
    withdrawn_reason: str | None
    reminder_sent_at: datetime | None

    @classmethod
    def of(cls, r: FootageRequest, now: datetime) -> FootageRequestOut:
        return cls(
            **r.model_dump(
                include={
                    "id",
                    "organisation_id",
                    "force_id",
                    "store_id",
                    "crime_reference",
                    "window_start",
                    "window_end",
                    "deadline",
                    "wanted",
                    "incident_id",
                    "status",
                    "created_at",
                    "answered_at",
                    "decline_reason",
                    "withdrawn_reason",
                    "reminder_sent_at",
                }
            ),
            status_words=STATUS_WORDS[r.status],
            overdue=r.overdue(now),
            supplied=[SuppliedOut(evidence_id=s.evidence_id, filename=s.filename, at=s.at) for s in r.supplied],
        )


class FootagePageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [EXAMPLE], "continuation": None}]})
    items: list[FootageRequestOut]
    continuation: str | None = Field(description="Send as `continuation` for the next page; null on the last")


@router.post(
    "/footage-requests",
    status_code=201,
    summary="Ask a store in the force's area for footage",
    response_model=FootageRequestOut,
    responses=responses(400, *AUTH_ERRORS, 409, 413, 422),
    response_description="The request as stored (Location names it; a replay answers the same)",
)
def request_footage(
    body: Annotated[FootageRequestIn, Body()],
    principal: Police,
    container: ContainerDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> FootageRequestOut:
    """Asks one of the stores in the force's area for the footage of a window (at most 24 hours, already past) by a deadline. The store is emailed and sees it in the console. Send an `Idempotency-Key` so a retry cannot ask twice."""
    made = container.footage.create.create(principal, body, idempotency_key)
    response.headers["Location"] = f"{API_PREFIX}/footage-requests/{made.request.id}"
    return FootageRequestOut.of(made.request, container.clock.now())


@router.get(
    "/footage-requests",
    summary="Footage requests: a force's own, or those to a retailer's stores (newest first)",
    response_model=FootagePageOut,
    responses=responses(*AUTH_ERRORS, 422),
    response_description="One page of requests, with a continuation while more remain",
)
def list_footage_requests(
    principal: Either,
    container: ContainerDep,
    status: FootageStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=_settings.max_page_size)] = _settings.default_page_size,
    *,
    page: PageCursor,
) -> FootagePageOut:
    """A force sees the requests it made; a retailer those made to its stores (store staff: their own stores)."""
    found = container.footage.read.list(principal, status=status, limit=limit, continuation=page.token)
    now = container.clock.now()
    return FootagePageOut(items=[FootageRequestOut.of(r, now) for r in found.items], continuation=page.next(found.continuation))


@router.get(
    "/footage-requests/{request_id}",
    summary="One footage request",
    response_model=FootageRequestOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The request and what was supplied",
)
def get_footage_request(request_id: RequestId, principal: Either, container: ContainerDep) -> FootageRequestOut:
    """The request as it stands: its status, when it was answered and the files supplied (download them with a purpose, as any evidence)."""
    return FootageRequestOut.of(container.footage.read.get(principal, request_id), container.clock.now())


@router.post(
    "/footage-requests/{request_id}/evidence",
    summary="Upload one file into a request (raw body, streamed, hashed, written once) and supply it",
    response_model=FootageRequestOut,
    # 400: a Content-Digest that is not an RFC 9530 dictionary.
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 415, 422),
    openapi_extra=RAW_BODY,
    response_description="The request with the file supplied (Location names the new evidence item)",
    # Holds an upload slot while the body arrives, as the evidence uploads do.
    dependencies=[Depends(upload_slot, scope="function")],
)
def upload_footage(
    request_id: RequestId,
    request: Request,
    response: Response,
    principal: Supplier,
    container: ContainerDep,
    incident_id: Annotated[
        str | None, Query(min_length=1, max_length=64, description="The store's report of the event, when the request names none")
    ] = None,
    complete: Annotated[bool, Query(description="False while more files are still to come")] = True,
    content_type: Annotated[str | None, Header(max_length=200, description="The file's real type, e.g. video/mp4")] = None,
    x_filename: Annotated[str | None, Header(max_length=255, description="Original file name (for people)", examples=["tills.mp4"])] = None,
    x_evidence_kind: Annotated[EvidenceKind | None, Header(description="cctv by default for video")] = None,
    content_digest: Annotated[str | None, Header(max_length=500, description="RFC 9530 sha-256=:<base64>: of the file")] = None,
) -> FootageRequestOut:
    """Streams one file into the request: stored as evidence on the request's report with every check an evidence upload makes, then supplied (custody names the request and crime reference). For files too large for one request, use the resumable upload on the report, then supply by id."""
    answered, item = container.footage.answer.upload(
        principal,
        request_id,
        request_body(request),
        incident_id=incident_id,
        complete=complete,
        content_type=content_type,
        filename=x_filename,
        kind=x_evidence_kind,
        content_digest=content_digest,
        content_length=request_content_length(request),
    )
    response.headers["Location"] = f"{API_PREFIX}/evidence/{item.id}"
    return FootageRequestOut.of(answered, container.clock.now())


@router.post(
    "/footage-requests/{request_id}/evidence/{evidence_id}",
    summary="Supply an uploaded file in answer to a request",
    response_model=FootageRequestOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The request with the file supplied (fulfilled, or partly while more are to come)",
)
def supply_footage(
    request_id: RequestId, evidence_id: EvidenceId, body: Annotated[SupplyIn, Body()], principal: Supplier, container: ContainerDep
) -> FootageRequestOut:
    """Supplies a file uploaded (single or resumable upload) to the request's report; its custody records the request and crime reference, and the force may then download it with a purpose."""
    request = container.footage.answer.supply(principal, request_id, evidence_id, complete=body.complete)
    return FootageRequestOut.of(request, container.clock.now())


@router.post(
    "/footage-requests/{request_id}/decline",
    summary="Decline a request, saying why",
    response_model=FootageRequestOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The request, declined",
)
def decline_footage_request(
    request_id: RequestId, body: Annotated[DeclineIn, Body()], principal: Retailer, container: ContainerDep
) -> FootageRequestOut:
    """The store cannot supply the footage (e.g. overwritten after its recorder's 30 days); the force reads the reason."""
    return FootageRequestOut.of(container.footage.answer.decline(principal, request_id, body.reason), container.clock.now())


@router.post(
    "/footage-requests/{request_id}/withdraw",
    summary="Withdraw a request the force no longer needs",
    response_model=FootageRequestOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The request, withdrawn",
)
def withdraw_footage_request(
    request_id: RequestId, body: Annotated[WithdrawIn, Body()], principal: Police, container: ContainerDep
) -> FootageRequestOut:
    """The force calls off its request; the store is told by email."""
    return FootageRequestOut.of(container.footage.withdraw.withdraw(principal, request_id, body.reason), container.clock.now())
