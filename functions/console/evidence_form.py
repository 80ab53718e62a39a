"""The report page's plain upload form, for a browser without JavaScript: one file of at
most 32 MiB as a multipart form post, stored by the single-request upload with every
check it makes. With JavaScript the page sends files of any size through the resumable
upload routes instead (`static/upload.js`) and hides this form.

The body is read only up to the cap and the form's own overhead: a larger one is refused
(413 naming the limit) before it is read any further, and nothing is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from functions.console.deps import current_session, require_page
from functions.console.render import redirect
from functions.http.deps import ContainerDep
from shared.adapters.console_sessions import CSRF_FIELD
from shared.domain.errors import Forbidden, Invalid, PayloadTooLarge
from shared.domain.evidence import EvidenceKind
from shared.domain.tenancy import Principal, Role
from shared.services.evidence.intake import SINGLE_REQUEST_MAX_BYTES

router = APIRouter(include_in_schema=False)

Staff = Annotated[Principal, Depends(require_page(Role.RETAILER_REPORTER, Role.RETAILER_INVESTIGATOR))]
IncidentId = Annotated[str, Path(min_length=1, max_length=64)]

# Room for the form's boundaries, headers and small fields around the file.
FORM_OVERHEAD = 64 * 1024
_BOUNDARY = re.compile(r'boundary="?([^";]{1,70})"?', re.IGNORECASE)
_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Part:
    """One field of a multipart form: its name, and for a file its name, type and bytes."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


def too_large() -> PayloadTooLarge:
    """The plain form's cap, and what to do about a larger file."""
    return PayloadTooLarge(
        f"Without JavaScript this page takes files of up to {SINGLE_REQUEST_MAX_BYTES // (1024 * 1024)} MiB. "
        "Turn JavaScript on to upload larger files in parts, or ask your investigator to upload it.",
        max_request_bytes=SINGLE_REQUEST_MAX_BYTES,
    )


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    """The parts of a multipart/form-data body (RFC 7578), exactly as sent: file bytes
    are never decoded or re-encoded."""
    found = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/form-data") or not found:
        raise Invalid("Send the form as multipart/form-data.", errors=[{"field": "body"}])
    delimiter = b"\r\n--" + found.group(1).encode("latin-1")
    # A delimiter is only one when a line break or the closing "--" follows it: the same
    # characters inside a file followed by anything else are the file's own bytes.
    pieces: list[bytes] = []
    for piece in (b"\r\n" + body).split(delimiter):
        if pieces and not piece.startswith((b"\r\n", b"--")):
            pieces[-1] += delimiter + piece
        else:
            pieces.append(piece)
    if len(pieces) < 2 or not pieces[-1].startswith(b"--"):
        raise Invalid("The form arrived incomplete: send it again from the page.", errors=[{"field": "body"}])
    parts = []
    for piece in pieces[1:-1]:
        head, sep, data = piece.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise Invalid("The form could not be read: send it again from the page.", errors=[{"field": "body"}])
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        params = dict(_PARAM.findall(headers.get("content-disposition", "")))
        parts.append(Part(params.get("name", ""), data, params.get("filename"), headers.get("content-type")))
    return parts


async def _bounded_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    limit = SINGLE_REQUEST_MAX_BYTES + FORM_OVERHEAD
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large()
    return bytes(body)


@router.post("/reports/{incident_id}/evidence")
async def upload_evidence_form(request: Request, c: ContainerDep, who: Staff, incident_id: IncidentId) -> Response:
    """One file from the report page's plain form, stored as evidence of the report."""
    parts = parse_multipart(await _bounded_body(request), request.headers.get("content-type", ""))
    fields = {p.name: p for p in parts if p.filename is None}
    session = current_session(request, c)
    token = fields[CSRF_FIELD].data.decode("utf-8", "replace") if CSRF_FIELD in fields else None
    if session is None or not session.csrf_matches(token):
        raise Forbidden("This form has expired or did not come from this Vigil page. Go back, reload the page and send it again.")
    file = next((p for p in parts if p.name == "file" and p.filename is not None), None)
    if file is None or not file.data:
        raise Invalid("Choose a file to upload.", errors=[{"field": "file"}])
    if len(file.data) > SINGLE_REQUEST_MAX_BYTES:
        raise too_large()
    kind_text = fields["kind"].data.decode("utf-8", "replace") if "kind" in fields else ""
    try:
        kind = EvidenceKind(kind_text) if kind_text else None
    except ValueError:
        raise Invalid("Choose what the file shows from the list.", errors=[{"field": "kind"}]) from None
    await run_in_threadpool(
        c.evidence.intake.upload,
        who,
        incident_id,
        [file.data],
        content_type=file.content_type,
        filename=file.filename,
        kind=kind,
        content_digest=None,
        content_length=len(file.data),
    )
    return redirect(request, f"/reports/{incident_id}?added=evidence#evidence")
