"""Evidence routes: the single-request upload, the incident's list, an item's
description, custody and verification; the shared pieces of the other evidence route
modules (resumable uploads in evidence_uploads, downloads and court documents in
evidence_content, redaction, stills and clips in evidence_media). Thin: parse, check the
role, one service call, then the status, headers and output model of the answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import anyio.from_thread
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from starlette.requests import ClientDisconnect

from functions.http.deps import ContainerDep, require
from functions.http.evidence_schemas import (
    CustodyOut,
    EvidenceList,
    EvidenceOut,
    VerifyOut,
)
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.errors import Invalid
from shared.domain.evidence import EvidenceItem, EvidenceKind
from shared.domain.file_types import ALLOWED
from shared.domain.http_fields import sha256_field
from shared.domain.tenancy import Principal
from shared.services.evidence.custody import CustodyReport
from shared.services.evidence.integrity import Verification
from shared.services.incidents import READERS, REPORTERS

Reporter = Annotated[Principal, Depends(require(*REPORTERS))]
Reader = Annotated[Principal, Depends(require(*READERS))]

IncidentId = Annotated[str, Path(min_length=1, max_length=64, description="Incident id")]
EvidenceId = Annotated[
    str, Path(min_length=1, max_length=128, description="Evidence id", examples=["northwind-3f2a9c1e5b7d4e0f8a6b2c9d1e3f5a7b"])
]
UploadId = Annotated[str, Path(min_length=1, max_length=64, description="Upload session id")]
Purpose = Annotated[
    str | None,
    Query(min_length=3, max_length=500, description="Why you are looking: required for police, recorded in custody and the audit trail"),
]

# Bytes gathered per hop from the event loop to the worker thread: large enough that
# the hop costs nothing, small enough that memory stays flat whatever the file size.
PULL_BYTES = 1024 * 1024

UPLOAD_MEDIA = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "video/mp4",
    "video/quicktime",
    "video/x-msvideo",
    "video/x-matroska",
    "video/mp2t",
    "video/mpeg",
    "video/h264",
    "video/h265",
    "video/x-dvr",
    "audio/mpeg",
    "audio/wav",
    "audio/mp4",
    "application/pdf",
    "text/plain",
]


def _body(request: Request) -> Iterator[bytes]:
    """The request body as a plain iterator for the worker thread: each step pulls up to
    PULL_BYTES from the event loop, so nothing larger is ever held."""
    stream = request.stream().__aiter__()

    async def pull() -> bytes | None:
        buffer = bytearray()
        try:
            while len(buffer) < PULL_BYTES:
                buffer += await stream.__anext__()
        except StopAsyncIteration:
            pass
        return bytes(buffer) if buffer else None

    received = 0
    while True:
        try:
            chunk = anyio.from_thread.run(pull)
        except ClientDisconnect:
            raise Invalid(f"The upload was cut off after {received} bytes; nothing was stored.", errors=[{"field": "body"}]) from None
        if chunk is None:
            return
        received += len(chunk)
        yield chunk


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value and value.isdigit() else None


_RAW_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file itself, as the raw body. Content-Type must name its real type (checked against the first bytes).",
        "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in UPLOAD_MEDIA},
    }
}
# The raw-body upload's request document, for other capabilities' upload routes (footage requests).
RAW_BODY = _RAW_BODY


def evidence_out(item: EvidenceItem) -> EvidenceOut:
    return EvidenceOut.model_validate(item.model_dump(mode="json"))


def created(response: Response, item: EvidenceItem, *, digest: bool = True) -> None:
    response.headers["Location"] = f"/api/v1/evidence/{item.id}"
    if digest:
        response.headers["Repr-Digest"] = sha256_field(item.sha256)


router = APIRouter(tags=["evidence"])


# ---- upload ------------------------------------------------------------------
# A download answers in the stored item's own type: the canonical type of what intake
# detected (shared.domain.file_types.ALLOWED), so a client can render it without sniffing.
STORED_MEDIA_TYPES = {t.content_type: {"schema": {"type": "string", "format": "binary"}} for t in ALLOWED.values()}


@router.post(
    "/incidents/{incident_id}/evidence",
    status_code=201,
    summary="Upload one evidence file of up to 32 MiB (raw body, streamed, hashed, written once; larger files by upload session)",
    response_model=EvidenceOut,
    # 400: a Content-Digest that is not an RFC 9530 dictionary.
    responses=responses(400, *AUTH_ERRORS, 404, 413, 415, 422),
    openapi_extra=_RAW_BODY,
    response_description="The evidence item as stored (Location names it)",
)
def upload_evidence(
    incident_id: IncidentId,
    request: Request,
    response: Response,
    principal: Reporter,
    container: ContainerDep,
    content_type: Annotated[str | None, Header(max_length=200, description="The file's real type, e.g. video/mp4")] = None,
    x_filename: Annotated[
        str | None,
        Header(max_length=255, description="Original file name (for people; never used as a path)", examples=["till-camera-2.mp4"]),
    ] = None,
    x_evidence_kind: Annotated[
        EvidenceKind | None, Header(description="cctv, suspect_image, photo, statement, audio, document or other (default by media)")
    ] = None,
    content_digest: Annotated[
        str | None, Header(max_length=500, description="RFC 9530 sha-256=:<base64>: of the file; verified when present")
    ] = None,
) -> EvidenceOut:
    """Uploads one evidence file of at most 32 MiB as the raw request body: streamed, hashed and written once, its type checked from its first bytes. A larger body is refused (413 naming the upload-session route): send larger files as a resumable upload."""
    item = container.evidence.intake.upload(
        principal,
        incident_id,
        _body(request),
        content_type=content_type,
        filename=x_filename,
        kind=x_evidence_kind,
        content_digest=content_digest,
        content_length=_content_length(request),
    )
    created(response, item)
    return evidence_out(item)


@router.get(
    "/incidents/{incident_id}/evidence",
    summary="Evidence items of an incident",
    response_model=EvidenceList,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The incident's evidence items",
)
def list_evidence(incident_id: IncidentId, principal: Reader, container: ContainerDep, purpose: Purpose = None) -> EvidenceList:
    """The evidence items of one incident that you may see; police give a purpose, recorded in custody."""
    items = container.evidence.access.list_items(principal, incident_id, purpose)
    return EvidenceList(items=[evidence_out(i) for i in items])


# ---- items -----------------------------------------------------------------------
@router.get(
    "/evidence/{evidence_id}",
    summary="An evidence item's description (a custody event)",
    response_model=EvidenceOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The evidence item's description",
)
def get_evidence(
    evidence_id: EvidenceId, response: Response, principal: Reader, container: ContainerDep, purpose: Purpose = None
) -> EvidenceOut:
    """An evidence item's description (type, size, hash); reading it is a custody event."""
    item = container.evidence.access.get(principal, evidence_id, purpose)
    response.headers["Repr-Digest"] = sha256_field(item.sha256)
    response.headers["X-Evidence-SHA256"] = item.sha256
    return evidence_out(item)


@router.get(
    "/evidence/{evidence_id}/custody",
    summary="Chain of custody, and whether it verifies",
    response_model=CustodyOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The custody events and whether the chain verifies",
)
def get_custody_chain(evidence_id: EvidenceId, principal: Reader, container: ContainerDep, purpose: Purpose = None) -> CustodyOut:
    """Every custody event of the item, oldest first, and whether their hash chain verifies."""
    report: CustodyReport = container.evidence.custody.chain(principal, evidence_id, purpose)
    return CustodyOut.model_validate(report, from_attributes=True)


@router.post(
    "/evidence/{evidence_id}/verify",
    summary="Re-hash the stored bytes and compare (recorded in custody)",
    response_model=VerifyOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="Whether the stored bytes still match the hash taken at intake",
)
def verify_evidence(evidence_id: EvidenceId, principal: Reader, container: ContainerDep, purpose: Purpose = None) -> VerifyOut:
    """Re-hashes the stored bytes and compares them with the hash taken at intake; the check is recorded in custody."""
    result: Verification = container.evidence.integrity.verify(principal, evidence_id, purpose)
    return VerifyOut.model_validate(result, from_attributes=True)


# The streamed body and its declared length, for other capabilities' upload routes (footage requests).
request_body = _body
request_content_length = _content_length
