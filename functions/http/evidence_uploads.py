"""Resumable evidence uploads: open a session, send chunks of at most MAX_CHUNK_BYTES
(the host buffers each request whole), ask where it stands, commit or abandon it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from functions.http.deps import ContainerDep, IdempotencyKey
from functions.http.evidence import (
    IncidentId,
    Reporter,
    UploadId,
    created,
    evidence_out,
    request_body,
)
from functions.http.evidence_schemas import (
    EvidenceOut,
    UploadSessionOut,
)
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.evidence import UploadSessionIn
from shared.domain.timestamps import to_iso
from shared.services.evidence.uploads import MAX_CHUNK_BYTES, UploadStatus

_CHUNK_BODY = {
    "requestBody": {
        "required": True,
        "description": "The bytes named by Content-Range, as the raw body.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def upload_out(status: UploadStatus) -> UploadSessionOut:
    s = status.session
    return UploadSessionOut(
        id=s.id,
        incident_id=s.incident_id,
        filename=s.filename,
        content_type=s.content_type,
        size=s.size,
        received=status.received,
        expires_at=to_iso(s.expires_at),
        state=s.state,
        evidence_id=s.evidence_id,
        chunks_url=f"/api/v1/evidence/uploads/{s.id}/chunks",
        commit_url=f"/api/v1/evidence/uploads/{s.id}/commit",
        max_chunk_bytes=MAX_CHUNK_BYTES,
    )


def _offset_headers(received: int) -> dict[str, str]:
    headers = {"Upload-Offset": str(received), "Cache-Control": "no-store"}
    if received:
        headers["Range"] = f"bytes=0-{received - 1}"
    return headers


router = APIRouter(tags=["evidence"])


# ---- resumable uploads --------------------------------------------------------
@router.post(
    "/incidents/{incident_id}/evidence/uploads",
    status_code=201,
    summary="Start a resumable upload (large CCTV files over unreliable links)",
    response_model=UploadSessionOut,
    responses=responses(400, *AUTH_ERRORS, 404, 410, 413, 415, 422),
    response_description="The upload session: send chunks to it (a retry with the same Idempotency-Key answers the same session)",
)
def start_resumable_upload(
    incident_id: IncidentId,
    body: UploadSessionIn,
    response: Response,
    principal: Reporter,
    container: ContainerDep,
    idempotency_key: IdempotencyKey = None,
) -> UploadSessionOut:
    """Opens a resumable upload for a large file (CCTV) over an unreliable link: send its chunks in order, then commit.
    Send an `Idempotency-Key`: a retry whose first answer was lost gets the same session, with what it has received."""
    status = container.evidence.uploads.start(principal, incident_id, body, idempotency_key)
    response.headers["Location"] = f"/api/v1/evidence/uploads/{status.session.id}"
    return upload_out(status)


@router.get(
    "/evidence/uploads/{upload_id}",
    summary="How much of a resumable upload has arrived",
    response_model=UploadSessionOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The upload session and how many bytes have arrived",
)
def get_resumable_upload(upload_id: UploadId, response: Response, principal: Reporter, container: ContainerDep) -> UploadSessionOut:
    """How much of a resumable upload has safely arrived, so a client knows where to resume."""
    status = container.evidence.uploads.status(principal, upload_id)
    response.headers.update(_offset_headers(status.received))
    return upload_out(status)


@router.head(
    "/evidence/uploads/{upload_id}",
    summary="Received offset of a resumable upload (headers only)",
    responses={
        200: {
            "description": "The received offset, in headers only",
            "headers": {
                "Upload-Offset": {"description": "Bytes safely stored: send the next chunk from here", "schema": {"type": "integer"}},
                "Range": {
                    "description": "The bytes received, e.g. bytes=0-4194303 (absent before the first chunk)",
                    "schema": {"type": "string"},
                },
            },
        },
        **responses(*AUTH_ERRORS, 404, 422),
    },
    response_class=Response,
)
def get_resumable_upload_offset(upload_id: UploadId, principal: Reporter, container: ContainerDep) -> Response:
    """The received offset of a resumable upload in the `Upload-Offset` header, without a body."""
    status = container.evidence.uploads.status(principal, upload_id)
    return Response(status_code=200, headers=_offset_headers(status.received))


@router.put(
    "/evidence/uploads/{upload_id}/chunks",
    summary="Send the next chunk (Content-Range: bytes first-last/total, first = received offset)",
    response_model=UploadSessionOut,
    responses=responses(*AUTH_ERRORS, 404, 409, 413, 415, 422),
    openapi_extra=_CHUNK_BODY,
    response_description="The upload session with the bytes now received",
)
def send_upload_chunk(
    upload_id: UploadId,
    request: Request,
    response: Response,
    principal: Reporter,
    container: ContainerDep,
    content_range: Annotated[
        str | None, Header(max_length=100, description="bytes <first>-<last>/<total>", examples=["bytes 0-4194303/734003200"])
    ] = None,
) -> UploadSessionOut:
    """Sends the next chunk of a resumable upload, starting at the received offset."""
    status = container.evidence.uploads.put_chunk(principal, upload_id, content_range, request_body(request))
    response.headers.update(_offset_headers(status.received))
    return upload_out(status)


@router.post(
    "/evidence/uploads/{upload_id}/commit",
    status_code=201,
    summary="Finish a resumable upload: re-hash, check and store it as evidence",
    response_model=EvidenceOut,
    responses=responses(*AUTH_ERRORS, 404, 409, 413, 415, 422),
    response_description="The evidence item as stored (Location names it)",
)
def commit_resumable_upload(upload_id: UploadId, response: Response, principal: Reporter, container: ContainerDep) -> EvidenceOut:
    """Finishes a resumable upload: the whole file is re-hashed, checked and stored as evidence."""
    item = container.evidence.uploads.commit(principal, upload_id)
    created(response, item)
    return evidence_out(item)


@router.delete(
    "/evidence/uploads/{upload_id}",
    status_code=204,
    summary="Abandon a resumable upload",
    responses=responses(*AUTH_ERRORS, 404, 409, 422),
    response_description="Abandoned: the bytes received are discarded",
)
def cancel_resumable_upload(upload_id: UploadId, principal: Reporter, container: ContainerDep) -> Response:
    """Abandons a resumable upload; the bytes received are discarded."""
    container.evidence.uploads.cancel(principal, upload_id)
    return Response(status_code=204)
