"""A single upload: one file streamed in the request body, stored only if every check passes.

The body is capped at `SINGLE_REQUEST_MAX_BYTES` (the resumable upload's chunk limit): in
Azure the Functions host buffers a whole request and refuses one over 100 MB, so a larger
file goes as an upload session's chunks instead."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from shared.domain.errors import PayloadTooLarge
from shared.domain.evidence import EvidenceItem, EvidenceKind
from shared.domain.tenancy import Principal
from shared.services.evidence import receiving
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.lookup import locate_to_add, new_evidence_id
from shared.services.evidence.uploads import MAX_CHUNK_BYTES

# One request carries at most what one chunk of an upload session may: the host holds it whole.
SINGLE_REQUEST_MAX_BYTES = MAX_CHUNK_BYTES


def too_large_for_one_request(incident_id: str) -> PayloadTooLarge:
    """413 naming the upload-session route a file of this size must use."""
    route = f"/api/v1/incidents/{incident_id}/evidence/uploads"
    return PayloadTooLarge(
        f"One request may carry at most {SINGLE_REQUEST_MAX_BYTES} bytes ({SINGLE_REQUEST_MAX_BYTES // (1024 * 1024)} MiB); "
        f"upload a larger file as a resumable upload: POST {route}, then send its chunks. Nothing was stored.",
        max_request_bytes=SINGLE_REQUEST_MAX_BYTES,
        upload_sessions_url=route,
    )


def _capped(body: Iterable[bytes], incident_id: str) -> Iterator[bytes]:
    # A body sent without Content-Length (chunked) is counted as it arrives.
    received = 0
    for chunk in body:
        received += len(chunk)
        if received > SINGLE_REQUEST_MAX_BYTES:
            raise too_large_for_one_request(incident_id)
        yield chunk


class Intake:
    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def upload(
        self,
        principal: Principal,
        incident_id: str,
        body: Iterable[bytes],
        *,
        content_type: str | None,
        filename: str | None,
        kind: EvidenceKind | None,
        content_digest: str | None,
        content_length: int | None,
    ) -> EvidenceItem:
        """Store one file streamed as it arrives: hashed, type-checked, size-bounded, written once.

        Returns the new item. Nothing is visible (record or bytes) unless every check passed.
        A body over `SINGLE_REQUEST_MAX_BYTES` is refused (413 naming the upload-session
        route): before any byte is read when Content-Length says so, else when it gets there.
        """
        deps = self.deps
        declared = receiving.declared(content_type)
        receiving.check_kind(kind, declared, "X-Evidence-Kind")  # refused before any bytes are read
        expected = receiving.client_digest(content_digest)
        name = receiving.display_name(filename)
        if content_length is not None and content_length > deps.limits.max_bytes:
            raise receiving.too_large(deps)
        if content_length is not None and content_length > SINGLE_REQUEST_MAX_BYTES:
            raise too_large_for_one_request(incident_id)
        received_at = deps.clock.now()
        with deps.records.unit_of_work() as uow:
            loc = locate_to_add(deps, uow, principal, incident_id)
            retention_until, held = deps.retention.evidence_terms(uow, loc.owner_org, loc.doc, received_at, kind.value if kind else None)
        evidence_id = new_evidence_id(loc.owner_org)
        writer = deps.blobs.writer(evidence_id, content_type=declared.content_type, retention_until=retention_until, legal_hold=held)
        try:
            got = receiving.receive(deps, _capped(body, incident_id), declared, expected, writer)
            return receiving.record_new(
                deps,
                principal,
                loc,
                evidence_id,
                got,
                kind=kind,
                filename=name,
                received_at=received_at,
                retention_until=retention_until,
                derived_from=None,
                writer=writer,
                received_details={"declared_content_type": content_type, "client_digest": bool(expected), "via": "single upload"},
            )
        except BaseException:
            writer.abort()
            raise
