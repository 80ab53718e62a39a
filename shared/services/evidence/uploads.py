"""Resumable uploads: a large file declared up front, sent in chunks at the received
offset, then re-hashed and stored as evidence in one step."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from shared.domain.errors import Conflict, Gone, Invalid, NotFound, PayloadTooLarge
from shared.domain.evidence import EvidenceItem, UploadSession, UploadSessionIn
from shared.domain.file_types import SNIFF_BYTES
from shared.domain.http_fields import parse_content_range
from shared.domain.tenancy import Principal
from shared.ports import UnitOfWork
from shared.records import EVIDENCE, EVIDENCE_UPLOADS
from shared.services import idempotency
from shared.services.evidence import receiving
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.lookup import locate_to_add, new_evidence_id
from shared.services.evidence.settling import Settling
from shared.services.repository import Stored, dump, load

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
START = "evidence.upload.start"
# The Functions host refuses request bodies over 100 MB and buffers what it accepts, so
# a chunk stays well under that: a large file goes as many chunks, never as one body.
MAX_CHUNK_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class UploadStatus:
    """A session and how many of its bytes are safely stored: the next chunk starts there."""

    session: UploadSession
    received: int


class Uploads:
    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def start(self, principal: Principal, incident_id: str, body: UploadSessionIn, idempotency_key: str | None = None) -> UploadStatus:
        """Open a resumable upload for a large file; chunks follow with Content-Range.

        A retry with the same Idempotency-Key (the answer to the first was lost) answers
        the session the first opened, with what it has received since, instead of opening
        a second one; the key lives as long as a session does. Gone when that session was
        cancelled; Invalid when the key was used for another upload."""
        deps = self.deps
        key = idempotency.check_key(idempotency_key)
        request_fingerprint = idempotency.fingerprint(START, {"incident_id": incident_id, **body.model_dump(mode="json")})
        declared = receiving.declared(body.content_type)
        receiving.check_kind(body.kind, declared)  # refused before any chunk is sent
        if body.size > deps.limits.max_bytes:
            raise receiving.too_large(deps)
        name = receiving.display_name(body.filename)
        now = deps.clock.now()
        try:
            return self._start(principal, incident_id, body, declared.content_type, name, key, request_fingerprint)
        except Conflict:
            # A concurrent request with the same key won: answer the session it opened.
            with deps.records.read_only() as uow:
                stored = idempotency.replay(uow, principal, START, key, request_fingerprint, now=now)
                if stored is None:
                    raise
                return self._reopened(uow, principal, stored.record_id)

    def _start(
        self,
        principal: Principal,
        incident_id: str,
        body: UploadSessionIn,
        content_type: str,
        name: str,
        key: str | None,
        request_fingerprint: str,
    ) -> UploadStatus:
        deps = self.deps
        now = deps.clock.now()
        with deps.records.unit_of_work() as uow:
            stored = idempotency.replay(uow, principal, START, key, request_fingerprint, now=now)
            if stored is not None:
                return self._reopened(uow, principal, stored.record_id)
            loc = locate_to_add(deps, uow, principal, incident_id)
            session = UploadSession(
                id=uuid.uuid4().hex,
                incident_id=incident_id,
                organisation_id=loc.owner_org,
                filename=name,
                content_type=content_type,
                kind=body.kind,
                size=body.size,
                sha256=body.sha256,
                created_by=principal.user_id,
                created_at=now,
                expires_at=now + timedelta(hours=deps.limits.session_hours),
            )
            uow.insert(EVIDENCE_UPLOADS.name, loc.owner_org, dump(session))
            idempotency.remember(
                uow,
                principal,
                START,
                key,
                request_fingerprint,
                f"upload/{session.id}",
                now=now,
                ttl=timedelta(hours=deps.limits.session_hours),
            )
        return UploadStatus(session, 0)

    def _reopened(self, uow: UnitOfWork, principal: Principal, upload_id: str) -> UploadStatus:
        """The session a keyed open created, as it stands now."""
        try:
            session = self._session(uow, principal, upload_id).record
        except NotFound:
            raise Gone(
                f"The upload this Idempotency-Key opened ({upload_id}) has since been cancelled or has expired; open a new one with a new key.",
                errors=[{"field": "Idempotency-Key"}],
            ) from None
        received = session.size if session.committed else self.deps.blobs.staged_size(upload_id)
        return UploadStatus(session, received)

    def _session(self, uow: UnitOfWork, principal: Principal, upload_id: str) -> Stored[UploadSession]:
        missing = NotFound(f"Upload {upload_id} was not found (or has expired).")
        if not _UPLOAD_ID.match(upload_id):
            raise missing
        doc = uow.get(EVIDENCE_UPLOADS.name, principal.organisation_id, upload_id)
        if doc is None:
            raise missing
        stored = load(UploadSession, doc)
        # A session id is a bearer of nothing: only the person who opened the upload may
        # see, extend, finish or abandon it. Anyone else is answered as if it did not exist.
        if stored.record.created_by != principal.user_id or stored.record.organisation_id != principal.organisation_id:
            raise missing
        if stored.record.expired(self.deps.clock.now()):
            raise missing
        try:
            self.deps.incidents.locate(uow, principal, stored.record.incident_id)
        except NotFound:
            raise missing from None
        return stored

    def status(self, principal: Principal, upload_id: str) -> UploadStatus:
        """How many bytes of the upload are safely stored: resume from there."""
        with self.deps.records.read_only() as uow:
            session = self._session(uow, principal, upload_id).record
        received = session.size if session.committed else self.deps.blobs.staged_size(upload_id)
        return UploadStatus(session, received)

    def put_chunk(self, principal: Principal, upload_id: str, content_range: str | None, body: Iterable[bytes]) -> UploadStatus:
        """Append one chunk at the offset its Content-Range names (which must be the received offset)."""
        deps = self.deps
        if not content_range:
            raise Invalid("Send Content-Range: bytes <first>-<last>/<total> with each chunk.", errors=[{"field": "Content-Range"}])
        try:
            first, last, total = parse_content_range(content_range)
        except ValueError as exc:
            raise Invalid(str(exc), errors=[{"field": "Content-Range"}]) from exc
        if last - first + 1 > MAX_CHUNK_BYTES:
            raise PayloadTooLarge(
                f"A chunk may hold at most {MAX_CHUNK_BYTES} bytes; send this one as several chunks"
                f" (PUT /api/v1/evidence/uploads/{upload_id}/chunks, each at the received offset).",
                max_chunk_bytes=MAX_CHUNK_BYTES,
            )
        with deps.records.unit_of_work() as uow:
            session = self._session(uow, principal, upload_id).record
        if session.committed:
            raise Conflict(f"Upload {upload_id} is already committed as evidence {session.evidence_id}.")
        if total is not None and total != session.size:
            raise Invalid(
                f"Content-Range total {total} differs from the declared size {session.size}.", errors=[{"field": "Content-Range"}]
            )
        if last >= session.size:
            raise Invalid(f"Content-Range goes past the declared size {session.size}.", errors=[{"field": "Content-Range"}])
        received = deps.blobs.staged_size(upload_id)
        if first != received:
            raise Conflict(f"Upload {upload_id} holds {received} bytes; send the chunk starting at offset {received}.", received=received)
        expected_len = last - first + 1
        declared = receiving.declared(session.content_type)

        def bounded() -> Iterator[bytes]:
            seen = 0
            head = bytearray()
            for chunk in body:
                seen += len(chunk)
                if seen > expected_len:
                    raise Invalid(
                        f"The chunk is longer than its Content-Range ({expected_len} bytes).", errors=[{"field": "Content-Range"}]
                    )
                if first == 0 and len(head) < SNIFF_BYTES:
                    # Refuse a wrong type on the first chunk rather than after the whole file.
                    head += chunk[: SNIFF_BYTES - len(head)]
                    if len(head) >= min(SNIFF_BYTES, expected_len):
                        receiving.check_type(bytes(head), declared)
                yield chunk
            if seen < expected_len:
                # Raised inside the stream, so the store keeps none of this chunk: a short
                # chunk is usually a dropped connection, and the client resends from the
                # offset it asks for.
                raise Invalid(
                    f"The chunk has {seen} bytes but its Content-Range names {expected_len}; nothing of it was stored. "
                    f"Resend bytes {first}-{last}.",
                    errors=[{"field": "Content-Range"}],
                    received=received,
                )

        size = deps.blobs.stage(upload_id, first, bounded())
        return UploadStatus(session, size)

    def commit(self, principal: Principal, upload_id: str) -> EvidenceItem:
        """Turn a complete upload into evidence: re-hash the staged bytes, check, write once.
        Committing again answers with the item the first commit made."""
        deps = self.deps
        with deps.records.unit_of_work() as uow:
            stored = self._session(uow, principal, upload_id)
            session = stored.record
            pending: EvidenceItem | None = None
            if session.committed and session.evidence_id:
                existing = uow.get(EVIDENCE.name, session.organisation_id, session.evidence_id)
                if existing is not None:
                    pending = load(EvidenceItem, existing).record
                    if not pending.pending:
                        return pending
            loc = deps.incidents.locate(uow, principal, session.incident_id)
            kind = session.kind.value if session.kind else None
            retention_until, held = deps.retention.evidence_terms(uow, loc.owner_org, loc.doc, deps.clock.now(), kind)
        if pending is not None:
            # An earlier commit recorded the item but did not finish: finish it now rather
            # than store the same file twice.
            settled = Settling(deps).settle(pending, deps.clock.now(), principal)
            if settled.item is not None:
                deps.blobs.discard_staged(upload_id)
                return settled.item
            raise Conflict(f"Upload {upload_id} is still being stored as evidence {pending.id}; try again in a few minutes.")
        staged = deps.blobs.staged_size(upload_id)
        if staged != session.size:
            raise Conflict(f"Upload {upload_id} holds {staged} of {session.size} bytes; send the rest before committing.", received=staged)
        declared = receiving.declared(session.content_type)
        evidence_id = new_evidence_id(loc.owner_org)
        writer = deps.blobs.writer(evidence_id, content_type=declared.content_type, retention_until=retention_until, legal_hold=held)

        def close_session(uow: UnitOfWork) -> None:
            uow.replace(EVIDENCE_UPLOADS.name, loc.owner_org, dump(session.commit(evidence_id)), if_match=stored.etag)

        def reopen_session(uow: UnitOfWork) -> None:
            uow.replace(EVIDENCE_UPLOADS.name, loc.owner_org, dump(session), if_match=None)

        try:
            got = receiving.receive(deps, deps.blobs.read_staged(upload_id), declared, session.sha256, writer)
            item = receiving.record_new(
                deps,
                principal,
                loc,
                evidence_id,
                got,
                kind=session.kind,
                filename=session.filename,
                received_at=session.created_at,
                retention_until=retention_until,
                derived_from=None,
                writer=writer,
                received_details={
                    "declared_content_type": session.content_type,
                    "client_digest": bool(session.sha256),
                    "via": f"resumable upload {upload_id}",
                },
                claim=close_session,
                undo=reopen_session,
            )
        except BaseException:
            writer.abort()
            raise
        deps.blobs.discard_staged(upload_id)
        return item

    def cancel(self, principal: Principal, upload_id: str) -> None:
        """Abandon an upload: its staged bytes and session go."""
        with self.deps.records.unit_of_work() as uow:
            session = self._session(uow, principal, upload_id).record
            if session.committed:
                raise Conflict(f"Upload {upload_id} is already committed as evidence {session.evidence_id}.")
            uow.delete(EVIDENCE_UPLOADS.name, session.organisation_id, upload_id)
        self.deps.blobs.discard_staged(upload_id)
