"""Evidence routes: streamed upload, resumable uploads, download, custody, verify,
redaction, face proposals and the court package. Thin: parse, check the role, one
service call, then the status, headers and output model of the answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import anyio.from_thread
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.requests import ClientDisconnect

from functions.http.deps import ContainerDep, IdempotencyKey, require
from functions.http.evidence_schemas import (
    CustodyOut,
    DownloadLinkOut,
    EvidenceList,
    EvidenceOut,
    FaceProposalsOut,
    FaceTrack,
    Rectangle,
    UploadSessionOut,
    VerifyOut,
    VideoFaceProposalsOut,
)
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.errors import Invalid
from shared.domain.evidence import EvidenceItem, EvidenceKind, RedactionIn, UploadSessionIn
from shared.domain.file_types import ALLOWED
from shared.domain.http_fields import ascii_filename, sha256_field
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.domain.video import ClipIn, StillIn, VideoRedactionIn
from shared.services.evidence.access import Download, FaceProposals
from shared.services.evidence.custody import CustodyReport
from shared.services.evidence.documents import Pdf
from shared.services.evidence.integrity import Verification
from shared.services.evidence.uploads import MAX_CHUNK_BYTES, UploadStatus
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
_CHUNK_BODY = {
    "requestBody": {
        "required": True,
        "description": "The bytes named by Content-Range, as the raw body.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def evidence_out(item: EvidenceItem) -> EvidenceOut:
    return EvidenceOut.model_validate(item.model_dump(mode="json"))


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


def _created(response: Response, item: EvidenceItem, *, digest: bool = True) -> None:
    response.headers["Location"] = f"/api/v1/evidence/{item.id}"
    if digest:
        response.headers["Repr-Digest"] = sha256_field(item.sha256)


def _offset_headers(received: int) -> dict[str, str]:
    headers = {"Upload-Offset": str(received), "Cache-Control": "no-store"}
    if received:
        headers["Range"] = f"bytes=0-{received - 1}"
    return headers


VIDEO_FACE_NOTE = (
    "Suggestions only: confirm, edit or add tracks, then POST them as regions to /video-redactions. Nothing has been redacted."
)
FACE_NOTE = "Suggestions only: confirm, edit or add rectangles, then POST them to /redactions. Nothing has been redacted."

router = APIRouter(tags=["evidence"])


# ---- upload ------------------------------------------------------------------
# A download answers in the stored item's own type: the canonical type of what intake
# detected (shared.domain.file_types.ALLOWED), so a client can render it without sniffing.
STORED_MEDIA_TYPES = {t.content_type: {"schema": {"type": "string", "format": "binary"}} for t in ALLOWED.values()}


@router.post(
    "/incidents/{incident_id}/evidence",
    status_code=201,
    summary="Upload one evidence file (raw body, streamed, hashed, written once)",
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
    """Uploads one evidence file as the raw request body: streamed, hashed and written once, its type checked from its first bytes."""
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
    _created(response, item)
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
    status = container.evidence.uploads.put_chunk(principal, upload_id, content_range, _body(request))
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
    _created(response, item)
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
    "/evidence/{evidence_id}/content",
    summary="Download the stored bytes (streamed, checked against the recorded SHA-256; Range supported; purpose required for police)",
    responses={
        200: {"description": "The whole file, in its own media type", "content": STORED_MEDIA_TYPES},
        206: {"description": "The requested byte range, in the file's media type", "content": STORED_MEDIA_TYPES},
        302: {"description": "Azure: Location is a 5-minute read-only link to the stored version; follow it (send Range there)"},
        **responses(*AUTH_ERRORS, 404, 409, 416, 422),
    },
    response_class=StreamingResponse,
)
def download_evidence(
    evidence_id: EvidenceId,
    principal: Reader,
    container: ContainerDep,
    purpose: Purpose = None,
    range_: Annotated[str | None, Header(alias="Range", max_length=100, description="One byte range, e.g. bytes=0-1048575")] = None,
    redirect: Annotated[bool, Query(description="false: where storage serves the bytes, answer the link as JSON instead of a 302")] = True,
) -> Response:
    """The stored bytes, streamed in the file's own media type; one byte range may be asked for. In Azure, a redirect to a short-lived read-only link to the stored version instead (or the link as JSON with redirect=false). Each download is a custody event; police give a purpose."""
    d: Download = container.evidence.access.download(principal, evidence_id, purpose, range_)
    item = d.item
    if d.url and d.url_expires_at:
        digest = {"Repr-Digest": sha256_field(item.sha256), "X-Evidence-SHA256": item.sha256, "Cache-Control": "no-store"}
        if redirect:
            return Response(status_code=302, headers={"Location": d.url, **digest})
        link = DownloadLinkOut(
            url=d.url,
            expires_at=to_iso(d.url_expires_at),
            sha256=item.sha256,
            size=item.size,
            filename=item.filename,
            content_type=item.content_type,
        )
        return JSONResponse(link.model_dump(), headers=digest)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(d.length),
        "Repr-Digest": sha256_field(item.sha256),
        "X-Evidence-SHA256": item.sha256,
        "Content-Disposition": f'attachment; filename="{ascii_filename(item.filename)}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if d.partial:
        headers["Content-Range"] = f"bytes {d.start}-{d.end - 1}/{item.size}"
    return StreamingResponse(d.body, status_code=206 if d.partial else 200, media_type=item.content_type, headers=headers)


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


@router.post(
    "/evidence/{evidence_id}/redactions",
    status_code=201,
    summary="Redact an image into a new derived item (the original stays untouched)",
    response_model=EvidenceOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The new, redacted evidence item (Location names it)",
)
def redact_evidence(
    evidence_id: EvidenceId, body: RedactionIn, response: Response, principal: Reporter, container: ContainerDep
) -> EvidenceOut:
    """Redacts rectangles of an image into a new, derived evidence item; the original stays untouched."""
    item = container.evidence.redaction.redact(principal, evidence_id, body)
    _created(response, item, digest=False)
    return evidence_out(item)


@router.post(
    "/evidence/{evidence_id}/stills",
    status_code=201,
    summary="A still from a video at a time offset, as a new derived JPEG item (by default the suspect image D2P asks for)",
    response_model=EvidenceOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The new still (Location names it)",
)
def make_still(
    evidence_id: EvidenceId,
    body: StillIn,
    response: Response,
    principal: Reporter,
    container: ContainerDep,
    idempotency_key: IdempotencyKey = None,
) -> EvidenceOut:
    """Takes the frame shown at `at_seconds` from a video, full size, as a new JPEG item derived from it; the video stays untouched. Send an `Idempotency-Key` so a retry cannot make two."""
    item = container.evidence.footage.still(principal, evidence_id, body, idempotency_key)
    _created(response, item)
    return evidence_out(item)


@router.post(
    "/evidence/{evidence_id}/clips",
    status_code=201,
    summary="A clip of a video between two time offsets, as a new derived MP4 item (H.264, fast start)",
    response_model=EvidenceOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The new clip (Location names it)",
)
def make_clip(
    evidence_id: EvidenceId,
    body: ClipIn,
    response: Response,
    principal: Reporter,
    container: ContainerDep,
    idempotency_key: IdempotencyKey = None,
) -> EvidenceOut:
    """Cuts the part between `start_seconds` and `end_seconds` into a new MP4 item derived from the video, re-encoded from the frame at the start. Send an `Idempotency-Key` so a retry cannot make two."""
    item = container.evidence.footage.clip(principal, evidence_id, body, idempotency_key)
    _created(response, item)
    return evidence_out(item)


@router.post(
    "/evidence/{evidence_id}/video-redactions",
    status_code=201,
    summary="Redact a video (boxes over time, muted sound) into a new derived MP4 item (the original stays untouched)",
    response_model=EvidenceOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The new, redacted video (Location names it)",
)
def redact_video(
    evidence_id: EvidenceId,
    body: VideoRedactionIn,
    response: Response,
    principal: Reporter,
    container: ContainerDep,
    idempotency_key: IdempotencyKey = None,
) -> EvidenceOut:
    """Obscures box tracks (blur, pixelate or black; boxes in source pixels, linear between keys, only from the first key's time to the last's) and silences mute ranges in a new MP4 item derived from the video; the original stays untouched. Send an `Idempotency-Key` so a retry cannot make two."""
    item = container.evidence.video_redaction.redact(principal, evidence_id, body, idempotency_key)
    _created(response, item)
    return evidence_out(item)


@router.post(
    "/evidence/{evidence_id}/video-face-proposals",
    summary="Suggested face tracks in a video for a person to confirm (nothing is redacted)",
    response_model=VideoFaceProposalsOut,
    responses=responses(*AUTH_ERRORS, 404, 409, 413, 422),
    response_description="Suggested face tracks for a person to confirm",
)
def propose_video_face_redactions(
    evidence_id: EvidenceId, principal: Reader, container: ContainerDep, purpose: Purpose = None
) -> VideoFaceProposalsOut:
    """Looks for faces on one downscaled frame a second and joins them into tracks a person confirms, edits and sends back as regions; nothing is redacted."""
    found = container.evidence.video_redaction.face_proposals(principal, evidence_id, purpose)
    return VideoFaceProposalsOut(
        evidence_id=found.evidence_id,
        tracks=[FaceTrack.model_validate({"keys": keys}) for keys in found.tracks],
        detector=found.detector,
        sample_every_seconds=found.sample_every_seconds,
        samples=found.samples,
        width=found.size["width"],
        height=found.size["height"],
        note=VIDEO_FACE_NOTE,
    )


@router.get(
    "/evidence/{evidence_id}/face-proposals",
    summary="Suggested face rectangles for a person to confirm (nothing is redacted)",
    response_model=FaceProposalsOut,
    responses=responses(*AUTH_ERRORS, 404, 409, 413, 422),
    response_description="Suggested face rectangles for a person to confirm",
)
def propose_face_redactions(
    evidence_id: EvidenceId, principal: Reader, container: ContainerDep, purpose: Purpose = None
) -> FaceProposalsOut:
    """Suggests face rectangles in an image for a person to confirm before redacting; nothing is redacted."""
    found: FaceProposals = container.evidence.access.face_proposals(principal, evidence_id, purpose)
    return FaceProposalsOut(
        evidence_id=found.evidence_id,
        proposals=[Rectangle.model_validate(r) for r in found.proposals],
        detector=found.detector,
        note=FACE_NOTE,
    )


PDF_RESPONSE = {"description": "A PDF document", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
StatementNumber = Annotated[int, Path(ge=1, le=1000, description="The statement's position in the incident's witnesses, from 1")]


def _pdf(pdf: Pdf) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{ascii_filename(pdf.filename)}"', "Cache-Control": "no-store"}
    return Response(pdf.body, media_type="application/pdf", headers=headers)


@router.get(
    "/incidents/{incident_id}/statements/{number}/mg11",
    summary="One witness statement as an MG11 (PDF): section 9 declaration, witness, statement, signature record",
    responses={200: PDF_RESPONSE, **responses(*AUTH_ERRORS, 404, 409, 422)},
    response_class=Response,
)
def download_mg11(
    incident_id: IncidentId, number: StatementNumber, principal: Reader, container: ContainerDep, purpose: Purpose = None
) -> Response:
    """The statement as an MG11 witness statement; 422 when it was not made under the section 9 declaration. Audited."""
    return _pdf(container.evidence.documents.mg11(principal, incident_id, number, purpose))


@router.get(
    "/incidents/{incident_id}/impact-statement",
    summary="Impact Statement for Business (PDF), pre-filled from the incident for the business to complete",
    responses={200: PDF_RESPONSE, **responses(*AUTH_ERRORS, 404, 422)},
    response_class=Response,
)
def download_impact_statement(incident_id: IncidentId, principal: Reader, container: ContainerDep, purpose: Purpose = None) -> Response:
    """The Impact Statement for Business: business, premises, offence, goods and their value filled in. Audited."""
    return _pdf(container.evidence.documents.impact_statement(principal, incident_id, purpose))


@router.get(
    "/incidents/{incident_id}/package",
    summary="Court package: zip of court documents (PDF), files by exhibit label, manifest of hashes, custody logs and a standalone verify.py (streamed)",
    responses={
        200: {"description": "A zip archive", "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
        **responses(*AUTH_ERRORS, 404, 409, 422),
    },
    response_class=StreamingResponse,
)
def download_court_package(
    incident_id: IncidentId, principal: Reader, container: ContainerDep, purpose: Purpose = None
) -> StreamingResponse:
    """A zip for court: case summary, Impact Statement for Business and MG11s as PDF, the files under their exhibit labels, a manifest of their hashes, the custody logs, and verify.py (Python standard library only) to check it. Streamed; recorded in custody."""
    pkg = container.evidence.package.build(principal, incident_id, purpose)
    headers = {
        "Content-Disposition": f'attachment; filename="{ascii_filename(pkg.filename)}"',
        "X-Manifest-SHA256": pkg.manifest_sha256,
        "Cache-Control": "no-store",
    }
    return StreamingResponse(pkg.body, media_type="application/zip", headers=headers)


# The streamed body and its declared length, for other capabilities' upload routes (footage requests).
request_body = _body
request_content_length = _content_length
