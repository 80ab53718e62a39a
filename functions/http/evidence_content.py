"""Evidence out: an item's bytes (or a short-lived storage link to them), the court
documents as PDF, and the court package."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from functions.http.deps import ContainerDep
from functions.http.evidence import (
    STORED_MEDIA_TYPES,
    EvidenceId,
    IncidentId,
    Purpose,
    Reader,
)
from functions.http.evidence_schemas import (
    CourtPackageBuildingOut,
    DownloadLinkOut,
)
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.http_fields import ascii_filename, sha256_field
from shared.domain.timestamps import to_iso
from shared.services.evidence.access import Download
from shared.services.evidence.documents import Pdf

router = APIRouter(tags=["evidence"])


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


PACKAGE_HEADERS = {
    "X-Manifest-SHA256": {"description": "SHA-256 of the package's manifest.json", "schema": {"type": "string"}},
    "Repr-Digest": {"description": "sha-256 of the whole zip (RFC 9530)", "schema": {"type": "string"}},
}


@router.get(
    "/incidents/{incident_id}/package",
    summary="Court package: zip of court documents (PDF), files by exhibit label, manifest of hashes, custody logs and a standalone verify.py (built once, then served from storage)",
    responses={
        200: {
            "description": "The zip archive, streamed by the app from where it was built (local store)",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            "headers": PACKAGE_HEADERS,
        },
        202: {
            "model": CourtPackageBuildingOut,
            "description": "Azure: the package is being built; ask again at Location after Retry-After",
        },
        303: {
            "description": "Azure: Location is a 5-minute read-only link to the built package's blob version; follow it",
            "headers": PACKAGE_HEADERS,
        },
        **responses(*AUTH_ERRORS, 404, 409, 422),
    },
    response_class=StreamingResponse,
)
def download_court_package(
    incident_id: IncidentId, request: Request, principal: Reader, container: ContainerDep, purpose: Purpose = None
) -> Response:
    """A zip for court: case summary, Impact Statement for Business and MG11s as PDF, the files under their exhibit labels, a manifest of their hashes, the custody logs, and verify.py (Python standard library only) to check it. Built once into storage and rebuilt when the incident's evidence changes. In Azure the first request answers 202 while it is built (ask again at Location), then 303 to a 5-minute read-only link to it; locally the app streams it. Each handout is recorded in custody and the audit trail."""
    got = container.evidence.package_delivery.fetch(principal, incident_id, purpose)
    if got.building:
        # The same request again: the package's key is worked out from the records each time.
        location = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
        wait = CourtPackageBuildingOut(status="building", retry_after_seconds=got.retry_after, location=location)
        headers = {"Location": location, "Retry-After": str(got.retry_after), "Cache-Control": "no-store"}
        return JSONResponse(wait.model_dump(), status_code=202, headers=headers)
    headers = {
        "X-Manifest-SHA256": got.manifest_sha256,
        "Repr-Digest": sha256_field(got.sha256),
        "Cache-Control": "no-store",
    }
    if got.url:
        return Response(status_code=303, headers={"Location": got.url, **headers})
    assert got.body is not None
    headers["Content-Disposition"] = f'attachment; filename="{ascii_filename(got.filename)}"'
    headers["Content-Length"] = str(got.size)
    return StreamingResponse(got.body, media_type="application/zip", headers=headers)
