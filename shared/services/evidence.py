"""The evidence locker: streamed write-once uploads (single and resumable), chain of
custody, verification, download, redaction, face proposals and court packages.

Bytes go through the evidence blob port; records (items, custody, upload sessions,
alerts) through the record-store port. Long reads and writes of bytes happen outside
any unit of work; the unit of work that records an item commits its bytes last, so a
failure anywhere leaves neither a record nor a visible object.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.domain import imaging
from shared.domain.audit import AuditAction
from shared.domain.clock import to_iso
from shared.domain.errors import Conflict, DomainError, Invalid, NotFound, PayloadTooLarge, UnsupportedMediaType
from shared.domain.events import EvidenceAdded
from shared.domain.evidence import (
    ALLOWED,
    DEFAULT_KIND,
    MANIFEST_NAME,
    PACKAGE_FORMAT,
    SNIFF_BYTES,
    CustodyEvent,
    EvidenceKind,
    FileType,
    Media,
    RedactionIn,
    UploadSessionIn,
    allowed_summary,
    custody_chain,
    custody_link_hash,
    declared_type,
    manifest_bytes,
    parse_content_digest,
    public_custody,
    safe_filename,
    sniff,
    verify_custody,
)
from shared.domain.incidents import view_for_partner
from shared.domain.tenancy import Principal
from shared.ports import Clock, EvidenceBlobStore, EvidenceWriter, JobReport, RecordStore, UnitOfWork, Where, iterate_all
from shared.records import CHAIN_HEADS, CUSTODY, EVIDENCE, EVIDENCE_ALERTS, EVIDENCE_UPLOADS
from shared.services.audit import AuditTrail
from shared.services.incidents import IncidentService, Located
from shared.services.messagebus import MessageBus

if TYPE_CHECKING:  # retention imports this module for `suspect_images`
    from shared.services.retention.terms import EvidenceTerms

log = logging.getLogger("vigil.evidence")

PUBLIC_FIELDS = (
    "id",
    "incident_id",
    "organisation_id",
    "kind",
    "media",
    "content_type",
    "detected_type",
    "filename",
    "sha256",
    "size",
    "created_at",
    "created_by",
    "derived_from",
    "retention_until",
    "legal_hold",
    "last_verified_at",
    "last_verification",
)
_ID = re.compile(r"^(?P<org>[a-z0-9][a-z0-9-]{0,62})-(?P<hex>[0-9a-f]{32})$")
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def new_evidence_id(owner_org: str) -> str:
    """`<owner org>-<uuid hex>`: any caller's lookup is one point read in the owner's partition."""
    return f"{owner_org}-{uuid.uuid4().hex}"


def owner_of(evidence_id: str) -> str | None:
    m = _ID.match(evidence_id)
    return m.group("org") if m else None


def public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc.get(k) for k in PUBLIC_FIELDS}


@dataclass
class Received:
    sha256: str
    size: int
    file_type: FileType


@dataclass
class Download:
    item: dict[str, Any]
    start: int
    end: int  # exclusive
    partial: bool
    body: Iterator[bytes]


@dataclass
class Package:
    filename: str
    manifest_sha256: str
    body: Iterator[bytes]


@dataclass
class EvidenceLimits:
    max_bytes: int
    session_hours: int
    verify_sample_size: int
    image_max_bytes: int
    image_max_pixels: int

    @classmethod
    def from_settings(cls, s) -> EvidenceLimits:
        return cls(
            max_bytes=s.evidence_max_bytes,
            session_hours=s.evidence_upload_session_hours,
            verify_sample_size=s.evidence_verify_sample_size,
            image_max_bytes=s.evidence_image_max_bytes,
            image_max_pixels=s.evidence_image_max_pixels,
        )


class EvidenceService:
    def __init__(
        self,
        *,
        records: RecordStore,
        blobs: EvidenceBlobStore,
        clock: Clock,
        incidents: IncidentService,
        audit: AuditTrail,
        limits: EvidenceLimits,
        retention: EvidenceTerms,
        bus: MessageBus,
    ):
        # Retention answers how long a new file stays immutable and whether it starts held
        # (`evidence_terms`); the locker never decides a period itself.
        self.retention = retention
        self.bus = bus
        self.records = records
        self.blobs = blobs
        self.clock = clock
        self.incidents = incidents
        self.audit = audit
        self.limits = limits

    # ==== upload ====================================================================
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
    ) -> dict[str, Any]:
        """Store one file streamed as it arrives: hashed, type-checked, size-bounded, written once.

        Returns the new item. Nothing is visible (record or bytes) unless every check passed.
        """
        declared = self._declared(content_type)
        expected = self._digest(content_digest)
        name = self._filename(filename)
        if content_length is not None and content_length > self.limits.max_bytes:
            raise self._too_large()
        received_at = self.clock.now()
        with self.records.unit_of_work() as uow:
            loc = self.incidents.locate(uow, principal, incident_id)
            retention_until, held = self.retention.evidence_terms(uow, loc.owner_org, loc.doc, received_at, kind.value if kind else None)
        evidence_id = new_evidence_id(loc.owner_org)
        writer = self.blobs.writer(evidence_id, content_type=declared.content_type, retention_until=retention_until, legal_hold=held)
        try:
            got = self._receive(body, declared, expected, writer)
            doc = self._record_new(
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
        return public(doc)

    def _declared(self, content_type: str | None) -> FileType:
        declared = declared_type(content_type)
        if declared is None:
            raise UnsupportedMediaType(
                f"Content-Type {content_type or '(none)'} is not accepted for evidence; accepted: {allowed_summary()}.",
                errors=[{"field": "Content-Type"}],
                declared=content_type,
                accepted=[t.content_type for t in ALLOWED.values()],
            )
        return declared

    @staticmethod
    def _digest(header: str | None) -> str | None:
        if not header:
            return None
        try:
            digest = parse_content_digest(header)
        except ValueError as exc:
            raise Invalid(str(exc), errors=[{"field": "Content-Digest"}]) from exc
        if digest is None:
            raise Invalid("Content-Digest names no sha-256 value; send sha-256=:<base64>:.", errors=[{"field": "Content-Digest"}])
        return digest

    @staticmethod
    def _filename(filename: str | None) -> str:
        if filename is not None and len(filename) > 255:
            raise Invalid("X-Filename is longer than 255 characters.", errors=[{"field": "X-Filename"}])
        return safe_filename(filename)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"Evidence files are limited to {self.limits.max_bytes} bytes; use a smaller file.", max_bytes=self.limits.max_bytes
        )

    def _receive(self, body: Iterable[bytes], declared: FileType, expected: str | None, writer: EvidenceWriter) -> Received:
        """Hash, size-check and type-check the bytes while writing them; nothing is buffered
        beyond the first `SNIFF_BYTES`."""
        hasher = hashlib.sha256()
        size = 0
        head = bytearray()
        checked = False
        for chunk in body:
            if not chunk:
                continue
            size += len(chunk)
            if size > self.limits.max_bytes:
                raise self._too_large()
            hasher.update(chunk)
            if not checked:
                head += chunk
                if len(head) < SNIFF_BYTES:
                    continue
                self._check_type(bytes(head[:SNIFF_BYTES]), declared)
                checked = True
                writer.write(bytes(head))
                head.clear()
                continue
            writer.write(chunk)
        if not checked:
            self._check_type(bytes(head), declared)
            if head:
                writer.write(bytes(head))
        if size == 0:
            raise Invalid("The file is empty.", errors=[{"field": "body"}])
        digest = hasher.hexdigest()
        if expected and expected != digest:
            raise Invalid(
                f"Content-Digest does not match the bytes received (received sha-256 {digest}); the file was damaged on the way. Nothing was stored.",
                errors=[{"field": "Content-Digest"}],
                received_sha256=digest,
            )
        return Received(sha256=digest, size=size, file_type=declared)

    @staticmethod
    def _check_type(head: bytes, declared: FileType) -> None:
        found = sniff(head)
        if found.type_id is None:
            raise UnsupportedMediaType(
                f"The file looks like {found.label}, which is not accepted for evidence; accepted: {allowed_summary()}.",
                errors=[{"field": "body"}],
                detected=found.label,
            )
        if found.type_id != declared.id:
            raise UnsupportedMediaType(
                f"The file is {found.label} ({ALLOWED[found.type_id].content_type}) but was declared as {declared.content_type}; send the right Content-Type.",
                errors=[{"field": "Content-Type"}],
                detected=ALLOWED[found.type_id].content_type,
            )

    def _record_new(
        self,
        principal: Principal | None,
        loc: Located,
        evidence_id: str,
        got: Received,
        *,
        kind: EvidenceKind | None,
        filename: str,
        received_at: datetime,
        retention_until: datetime,
        derived_from: str | None,
        writer: EvidenceWriter,
        received_details: dict[str, Any],
        extra: Any = None,
    ) -> dict[str, Any]:
        """Write the item, its first custody events and the audit entry; commit the bytes last."""
        now = self.clock.now()
        media = got.file_type.media
        doc = {
            "id": evidence_id,
            "incident_id": loc.doc["id"],
            "organisation_id": loc.owner_org,
            "kind": (kind or DEFAULT_KIND[media]).value,
            "media": media.value,
            "content_type": got.file_type.content_type,
            "detected_type": got.file_type.id,
            "filename": filename,
            "sha256": got.sha256,
            "size": got.size,
            "created_at": to_iso(now),
            "created_by": principal.user_id if principal else "system",
            "derived_from": derived_from,
            "retention_until": to_iso(retention_until),
            "legal_hold": False,
            "last_verified_at": to_iso(now),
            "last_verification": "match",
        }
        with self.records.unit_of_work() as uow:
            # Asked again at commit: a hold placed while the bytes arrived must still apply.
            held = self.retention.evidence_terms(uow, loc.owner_org, loc.doc, now, None)[1]
            doc["legal_hold"] = held
            uow.insert(EVIDENCE.name, loc.owner_org, doc)
            self._custody(
                uow,
                loc.owner_org,
                evidence_id,
                CustodyEvent.RECEIVED,
                principal,
                at=received_at,
                details={"filename": filename, "sha256": got.sha256, "size": got.size, **received_details},
            )
            self._custody(
                uow,
                loc.owner_org,
                evidence_id,
                CustodyEvent.STORED,
                principal,
                details={"sha256": got.sha256, "size": got.size, "write_once": True, "retention_until": doc["retention_until"]},
            )
            if extra is not None:
                extra(uow)
            self.audit.record(
                uow,
                owner_org=loc.owner_org,
                principal=principal,
                action=AuditAction.COLLECTION,
                operation="evidence.create",
                entity=f"evidence/{evidence_id}",
                fields=["content"],
                subjects=[loc.doc["id"]],
            )
            self.bus.publish(uow, EvidenceAdded(principal=principal, incident=loc.doc, evidence_id=evidence_id))
            writer.commit()
        if held:
            self.blobs.set_legal_hold(evidence_id, True)
        return doc

    # ==== resumable uploads ===========================================================
    def create_session(self, principal: Principal, incident_id: str, body: UploadSessionIn) -> dict[str, Any]:
        """Open a resumable upload for a large file; chunks follow with Content-Range."""
        declared = self._declared(body.content_type)
        if body.size > self.limits.max_bytes:
            raise self._too_large()
        name = self._filename(body.filename)
        now = self.clock.now()
        with self.records.unit_of_work() as uow:
            loc = self.incidents.locate(uow, principal, incident_id)
            session = {
                "id": uuid.uuid4().hex,
                "incident_id": incident_id,
                "organisation_id": loc.owner_org,
                "filename": name,
                "content_type": declared.content_type,
                "kind": body.kind.value if body.kind else None,
                "size": body.size,
                "sha256": body.sha256,
                "created_by": principal.user_id,
                "created_at": to_iso(now),
                "expires_at": to_iso(now + timedelta(hours=self.limits.session_hours)),
                "state": "open",
                "evidence_id": None,
            }
            uow.insert(EVIDENCE_UPLOADS.name, loc.owner_org, session)
        return self._session_view(session, 0)

    def _session(self, uow: UnitOfWork, principal: Principal, upload_id: str) -> dict[str, Any]:
        missing = NotFound(f"Upload {upload_id} was not found (or has expired).")
        if not _UPLOAD_ID.match(upload_id):
            raise missing
        session = uow.get(EVIDENCE_UPLOADS.name, principal.organisation_id, upload_id)
        if session is None or session["expires_at"] <= to_iso(self.clock.now()):
            raise missing
        try:
            self.incidents.locate(uow, principal, session["incident_id"])
        except NotFound:
            raise missing from None
        return session

    @staticmethod
    def _session_view(session: dict[str, Any], received: int) -> dict[str, Any]:
        return {
            "id": session["id"],
            "incident_id": session["incident_id"],
            "filename": session["filename"],
            "content_type": session["content_type"],
            "size": session["size"],
            "received": received,
            "expires_at": session["expires_at"],
            "state": session["state"],
            "evidence_id": session.get("evidence_id"),
            "chunks_url": f"/api/v1/evidence/uploads/{session['id']}/chunks",
            "commit_url": f"/api/v1/evidence/uploads/{session['id']}/commit",
        }

    def session_status(self, principal: Principal, upload_id: str) -> dict[str, Any]:
        """How many bytes of the upload are safely stored: resume from there."""
        with self.records.unit_of_work() as uow:
            session = self._session(uow, principal, upload_id)
        received = session["size"] if session["state"] == "committed" else self.blobs.staged_size(upload_id)
        return self._session_view(session, received)

    def put_chunk(self, principal: Principal, upload_id: str, content_range: str | None, body: Iterable[bytes]) -> dict[str, Any]:
        """Append one chunk at the offset its Content-Range names (which must be the received offset)."""
        from shared.domain.evidence import parse_content_range

        if not content_range:
            raise Invalid("Send Content-Range: bytes <first>-<last>/<total> with each chunk.", errors=[{"field": "Content-Range"}])
        try:
            first, last, total = parse_content_range(content_range)
        except ValueError as exc:
            raise Invalid(str(exc), errors=[{"field": "Content-Range"}]) from exc
        with self.records.unit_of_work() as uow:
            session = self._session(uow, principal, upload_id)
        if session["state"] != "open":
            raise Conflict(f"Upload {upload_id} is already committed as evidence {session['evidence_id']}.")
        if total is not None and total != session["size"]:
            raise Invalid(
                f"Content-Range total {total} differs from the declared size {session['size']}.", errors=[{"field": "Content-Range"}]
            )
        if last >= session["size"]:
            raise Invalid(f"Content-Range goes past the declared size {session['size']}.", errors=[{"field": "Content-Range"}])
        received = self.blobs.staged_size(upload_id)
        if first != received:
            raise Conflict(f"Upload {upload_id} holds {received} bytes; send the chunk starting at offset {received}.", received=received)
        expected_len = last - first + 1
        declared = ALLOWED[declared_type(session["content_type"]).id]

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
                        self._check_type(bytes(head), declared)
                yield chunk

        size = self.blobs.stage(upload_id, first, bounded())
        return self._session_view(session, size)

    def commit_session(self, principal: Principal, upload_id: str) -> dict[str, Any]:
        """Turn a complete upload into evidence: re-hash the staged bytes, check, write once."""
        with self.records.unit_of_work() as uow:
            session = self._session(uow, principal, upload_id)
            if session["state"] == "committed":
                item = uow.get(EVIDENCE.name, session["organisation_id"], session["evidence_id"])
                if item is not None:
                    return public(item)
            loc = self.incidents.locate(uow, principal, session["incident_id"])
            retention_until, held = self.retention.evidence_terms(uow, loc.owner_org, loc.doc, self.clock.now(), session.get("kind"))
        staged = self.blobs.staged_size(upload_id)
        if staged != session["size"]:
            raise Conflict(
                f"Upload {upload_id} holds {staged} of {session['size']} bytes; send the rest before committing.", received=staged
            )
        declared = ALLOWED[declared_type(session["content_type"]).id]
        received_at = from_iso_safe(session["created_at"])
        evidence_id = new_evidence_id(loc.owner_org)
        writer = self.blobs.writer(evidence_id, content_type=declared.content_type, retention_until=retention_until, legal_hold=held)

        def close_session(uow: UnitOfWork) -> None:
            done = {k: v for k, v in session.items() if not k.startswith("_")}
            done.update(state="committed", evidence_id=evidence_id)
            uow.replace(EVIDENCE_UPLOADS.name, loc.owner_org, done, if_match=session["_etag"])

        try:
            got = self._receive(self.blobs.read_staged(upload_id), declared, session.get("sha256"), writer)
            kind = EvidenceKind(session["kind"]) if session.get("kind") else None
            doc = self._record_new(
                principal,
                loc,
                evidence_id,
                got,
                kind=kind,
                filename=session["filename"],
                received_at=received_at,
                retention_until=retention_until,
                derived_from=None,
                writer=writer,
                received_details={
                    "declared_content_type": session["content_type"],
                    "client_digest": bool(session.get("sha256")),
                    "via": f"resumable upload {upload_id}",
                },
                extra=close_session,
            )
        except BaseException:
            writer.abort()
            raise
        self.blobs.discard_staged(upload_id)
        return public(doc)

    def cancel_session(self, principal: Principal, upload_id: str) -> None:
        """Abandon an upload: its staged bytes and session go."""
        with self.records.unit_of_work() as uow:
            session = self._session(uow, principal, upload_id)
            if session["state"] == "committed":
                raise Conflict(f"Upload {upload_id} is already committed as evidence {session['evidence_id']}.")
            uow.delete(EVIDENCE_UPLOADS.name, session["organisation_id"], upload_id)
        self.blobs.discard_staged(upload_id)

    # ==== reading ======================================================================
    def list_for_incident(self, uow: UnitOfWork, owner_org: str, incident_id: str) -> list[dict[str, Any]]:
        """Every evidence item of an incident (the documented fields), oldest first."""
        items = list(iterate_all(uow, EVIDENCE.name, [owner_org], [Where("incident_id", "eq", incident_id)], limit=100))
        return sorted((public(d) for d in items), key=lambda d: (d["created_at"], d["id"]))

    def list(self, principal: Principal, incident_id: str, purpose: str | None) -> list[dict[str, Any]]:
        """Items of an incident the caller may see (audited)."""
        self._need_purpose(principal, purpose)
        with self.records.unit_of_work() as uow:
            loc = self.incidents.locate(uow, principal, incident_id)
            items = self.list_for_incident(uow, loc.owner_org, incident_id)
            self._audit(
                uow, principal, loc.owner_org, "evidence.list", f"incident/{incident_id}", purpose, subjects=[i["id"] for i in items]
            )
        return items

    def _locate(self, uow: UnitOfWork, principal: Principal, evidence_id: str) -> tuple[dict[str, Any], Located]:
        """The item and its incident, or NotFound exactly as if it did not exist."""
        missing = NotFound(f"Evidence {evidence_id} was not found.")
        owner = owner_of(evidence_id)
        if owner is None:
            raise missing
        doc = uow.get(EVIDENCE.name, owner, evidence_id)
        if doc is None:
            raise missing
        try:
            loc = self.incidents.locate(uow, principal, doc["incident_id"])
        except NotFound:
            raise missing from None
        if loc.owner_org != owner:
            raise missing
        return doc, loc

    @staticmethod
    def _need_purpose(principal: Principal, purpose: str | None) -> None:
        if principal.is_police and not (purpose and purpose.strip()):
            raise Invalid("Police access to evidence needs a stated purpose (query parameter 'purpose').", errors=[{"field": "purpose"}])

    def get(self, principal: Principal, evidence_id: str, purpose: str | None) -> dict[str, Any]:
        """An item's description (a `viewed` custody event)."""
        self._need_purpose(principal, purpose)
        with self.records.unit_of_work() as uow:
            doc, loc = self._locate(uow, principal, evidence_id)
            self._custody(uow, loc.owner_org, evidence_id, CustodyEvent.VIEWED, principal, purpose=purpose, details={"what": "description"})
            self._audit(uow, principal, loc.owner_org, "evidence.read", f"evidence/{evidence_id}", purpose)
        return public(doc)

    def download(self, principal: Principal, evidence_id: str, purpose: str | None, range_header: str | None) -> Download:
        """Stream the stored bytes (all or one range); a `downloaded` custody event and an audit entry."""
        from shared.domain.evidence import parse_range

        self._need_purpose(principal, purpose)
        with self.records.unit_of_work() as uow:
            doc, loc = self._locate(uow, principal, evidence_id)
            size = doc["size"]
            start, end, partial = 0, size, False
            if range_header:
                try:
                    wanted = parse_range(range_header, size)
                except ValueError as exc:
                    raise RangeNotSatisfiable(f"Range {range_header} cannot be served from {size} bytes.", size=size) from exc
                if wanted is not None and wanted != (0, size):
                    start, end, partial = wanted[0], wanted[1], True
            body = self.blobs.open(evidence_id, start, end)
            self._custody(
                uow,
                loc.owner_org,
                evidence_id,
                CustodyEvent.DOWNLOADED,
                principal,
                purpose=purpose,
                details={"range": [start, end - 1] if partial else None, "sha256": doc["sha256"]},
            )
            self._audit(uow, principal, loc.owner_org, "evidence.download", f"evidence/{evidence_id}", purpose)
        return Download(item=public(doc), start=start, end=end, partial=partial, body=body)

    def custody(self, principal: Principal, evidence_id: str, purpose: str | None) -> dict[str, Any]:
        """The item's custody chain and whether every link verifies."""
        self._need_purpose(principal, purpose)
        with self.records.unit_of_work() as uow:
            doc, loc = self._locate(uow, principal, evidence_id)
            events = self._events(uow, loc.owner_org, evidence_id)
            self._audit(uow, principal, loc.owner_org, "evidence.custody", f"evidence/{evidence_id}", purpose)
        check = verify_custody(events)
        return {
            "evidence_id": evidence_id,
            "events": [public_custody(e) for e in events],
            "verified": check["verified"],
            "first_broken": check["first_broken"],
            "head": events[-1]["hash"] if events else None,
        }

    def _events(self, uow: UnitOfWork, owner: str, evidence_id: str) -> list[dict[str, Any]]:
        return list(iterate_all(uow, CUSTODY.name, [owner], [Where("chain", "eq", custody_chain(evidence_id))], order_by="seq", limit=500))

    # ==== verification ===================================================================
    def verify(self, principal: Principal, evidence_id: str, purpose: str | None) -> dict[str, Any]:
        """Re-read the stored bytes, recompute SHA-256 and size, record the result in custody."""
        self._need_purpose(principal, purpose)
        with self.records.unit_of_work() as uow:
            doc, loc = self._locate(uow, principal, evidence_id)
        result = self._rehash(doc)
        with self.records.unit_of_work() as uow:
            self._record_verification(uow, principal, doc, result, purpose)
            self._audit(uow, principal, loc.owner_org, "evidence.verify", f"evidence/{evidence_id}", purpose)
        return result

    def _rehash(self, doc: dict[str, Any]) -> dict[str, Any]:
        hasher = hashlib.sha256()
        size = 0
        try:
            for chunk in self.blobs.open(doc["id"]):
                hasher.update(chunk)
                size += len(chunk)
            found, missing = hasher.hexdigest(), False
        except NotFound:
            found, missing = None, True
        match = not missing and found == doc["sha256"] and size == doc["size"]
        return {
            "evidence_id": doc["id"],
            "result": "match" if match else "mismatch",
            "expected_sha256": doc["sha256"],
            "expected_size": doc["size"],
            "found_sha256": found,
            "found_size": None if missing else size,
            "missing": missing,
            "verified_at": to_iso(self.clock.now()),
        }

    def _record_verification(
        self,
        uow: UnitOfWork,
        principal: Principal | None,
        doc: dict[str, Any],
        result: dict[str, Any],
        purpose: str | None,
        actor: str = "system",
    ) -> None:
        owner = doc["organisation_id"]
        self._custody(
            uow,
            owner,
            doc["id"],
            CustodyEvent.VERIFIED,
            principal,
            purpose=purpose,
            system_actor=actor,
            details={k: result[k] for k in ("result", "found_sha256", "found_size", "missing")},
        )
        current = uow.get(EVIDENCE.name, owner, doc["id"])
        if current is not None:
            updated = {k: v for k, v in current.items() if not k.startswith("_")}
            updated.update(last_verified_at=result["verified_at"], last_verification=result["result"])
            uow.replace(EVIDENCE.name, owner, updated, if_match=current["_etag"])

    def verify_sample(self, as_of: datetime) -> JobReport:
        """The daily rolling check: the least recently verified items, each re-hashed; a
        mismatch raises an alert record (and is logged without personal data)."""
        report = JobReport(job="evidence-verify", as_of=as_of)
        counts = {"checked": 0, "matched": 0, "mismatched": 0}
        with self.records.unit_of_work() as uow:
            due = uow.query(
                EVIDENCE.name,
                None,
                [Where("last_verified_at", "le", to_iso(as_of))],
                order_by="last_verified_at",
                limit=self.limits.verify_sample_size,
            ).items
        for doc in due:
            result = self._rehash(doc)
            counts["checked"] += 1
            with self.records.unit_of_work() as uow:
                self._record_verification(uow, None, doc, result, None, actor="evidence-verify")
                if result["result"] == "match":
                    counts["matched"] += 1
                    continue
                counts["mismatched"] += 1
                uow.insert(
                    EVIDENCE_ALERTS.name,
                    doc["organisation_id"],
                    {
                        "id": uuid.uuid4().hex,
                        "evidence_id": doc["id"],
                        "incident_id": doc["incident_id"],
                        "raised_at": to_iso(as_of),
                        "status": "open",
                        "expected_sha256": doc["sha256"],
                        "expected_size": doc["size"],
                        "found_sha256": result["found_sha256"],
                        "found_size": result["found_size"],
                        "missing": result["missing"],
                    },
                )
            log.warning("evidence integrity mismatch", extra={"evidence_id": doc["id"], "missing": result["missing"]})
        report.counts.update(counts)
        return report

    def alerts(self, owner_org: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Open integrity alerts of an organisation, newest first."""
        with self.records.unit_of_work() as uow:
            page = uow.query(
                EVIDENCE_ALERTS.name, [owner_org], [Where("status", "eq", "open")], order_by="raised_at", descending=True, limit=limit
            )
        return [{k: v for k, v in a.items() if not k.startswith("_")} for a in page.items]

    def sweep_staging(self, as_of: datetime) -> JobReport:
        """Remove abandoned upload bytes and expired upload sessions."""
        report = JobReport(job="staging-sweep", as_of=as_of)
        cutoff = as_of - timedelta(hours=self.limits.session_hours)
        report.counts["staged_removed"] = self.blobs.sweep_staging(cutoff)
        removed = 0
        while True:
            with self.records.unit_of_work() as uow:
                due = uow.query(
                    EVIDENCE_UPLOADS.name, None, [Where("expires_at", "le", to_iso(as_of))], order_by="expires_at", limit=200
                ).items
                for s in due:
                    removed += uow.delete(EVIDENCE_UPLOADS.name, s["_tenant"], s["id"])
            for s in due:
                if s.get("state") == "open":
                    self.blobs.discard_staged(s["id"])
            if len(due) < 200:
                break
        report.counts["sessions_removed"] = removed
        return report

    # ==== redaction ========================================================================
    def _image_bytes(self, doc: dict[str, Any], what: str) -> bytes:
        media = doc["media"]
        if media != Media.IMAGE.value:
            raise Invalid(f"{what} is not supported for {media} evidence (only images).", errors=[{"field": "evidence"}], media=media)
        if doc["size"] > self.limits.image_max_bytes:
            raise PayloadTooLarge(
                f"{what} handles images up to {self.limits.image_max_bytes} bytes; this one has {doc['size']}.",
                max_bytes=self.limits.image_max_bytes,
            )
        data = b"".join(self.blobs.open(doc["id"]))
        if hashlib.sha256(data).hexdigest() != doc["sha256"]:
            raise Conflict(
                f"The stored bytes of evidence {doc['id']} no longer match their recorded SHA-256; verify it before working from it."
            )
        return data

    def redact(self, principal: Principal, evidence_id: str, body: RedactionIn) -> dict[str, Any]:
        """Make a redacted copy as a new item (`derived_from` the original); the original is untouched."""
        with self.records.unit_of_work() as uow:
            doc, loc = self._locate(uow, principal, evidence_id)
        if doc["media"] == Media.VIDEO.value:
            raise Invalid("Redaction is not supported for video yet; redact images only.", errors=[{"field": "evidence"}], media="video")
        data = self._image_bytes(doc, "Redaction")
        try:
            out = imaging.redact(data, doc["detected_type"], body.method, body.regions, max_pixels=self.limits.image_max_pixels)
        except imaging.ImageError as exc:
            raise Invalid(str(exc), errors=[{"field": "regions"}]) from exc
        file_type = ALLOWED[doc["detected_type"]]
        now = self.clock.now()
        new_id = new_evidence_id(loc.owner_org)
        retention_until = from_iso_safe(doc["retention_until"])
        writer = self.blobs.writer(new_id, content_type=file_type.content_type, retention_until=retention_until, legal_hold=False)
        regions = [r.model_dump() for r in body.regions]
        try:
            writer.write(out)
            stem, dot, ext = doc["filename"].rpartition(".")
            name = f"{stem}-redacted.{ext}" if dot else f"{doc['filename']}-redacted"

            def mark_original(uow: UnitOfWork) -> None:
                self._custody(
                    uow,
                    loc.owner_org,
                    evidence_id,
                    CustodyEvent.REDACTED,
                    principal,
                    details={"derived_id": new_id, "method": body.method, "regions": regions, "reason": body.reason},
                )
                self.audit.record(
                    uow,
                    owner_org=loc.owner_org,
                    principal=principal,
                    action=AuditAction.CONSULTATION,
                    operation="evidence.redact",
                    entity=f"evidence/{evidence_id}",
                    subjects=[new_id],
                    purpose=body.reason,
                )

            got = Received(sha256=hashlib.sha256(out).hexdigest(), size=len(out), file_type=file_type)
            new = self._record_new(
                principal,
                loc,
                new_id,
                got,
                kind=EvidenceKind(doc["kind"]),
                filename=safe_filename(name),
                received_at=now,
                retention_until=retention_until,
                derived_from=evidence_id,
                writer=writer,
                extra=mark_original,
                received_details={
                    "derived_from": evidence_id,
                    "original_sha256": doc["sha256"],
                    "method": body.method,
                    "regions": regions,
                    "reason": body.reason,
                    "via": "redaction",
                },
            )
        except BaseException:
            writer.abort()
            raise
        return public(new)

    def face_proposals(self, principal: Principal, evidence_id: str, purpose: str | None) -> dict[str, Any]:
        """Suggested face rectangles for a person to confirm or edit; nothing is redacted."""
        self._need_purpose(principal, purpose)
        with self.records.unit_of_work() as uow:
            doc, loc = self._locate(uow, principal, evidence_id)
        data = self._image_bytes(doc, "Face proposals")
        try:
            faces = imaging.face_proposals(data, doc["detected_type"], max_pixels=self.limits.image_max_pixels)
        except imaging.ImageError as exc:
            raise Invalid(str(exc), errors=[{"field": "evidence"}]) from exc
        with self.records.unit_of_work() as uow:
            self._custody(
                uow,
                loc.owner_org,
                evidence_id,
                CustodyEvent.VIEWED,
                principal,
                purpose=purpose,
                details={"what": "face proposals", "proposals": len(faces)},
            )
            self._audit(uow, principal, loc.owner_org, "evidence.face-proposals", f"evidence/{evidence_id}", purpose)
        return {
            "evidence_id": evidence_id,
            "proposals": faces,
            "detector": "OpenCV Haar cascade (frontal face)",
            "note": "Suggestions only: confirm, edit or add rectangles, then POST them to /redactions. Nothing has been redacted.",
        }

    # ==== court package ======================================================================
    def package(self, principal: Principal, incident_id: str, purpose: str | None) -> Package:
        """A zip for court: case summary, every file, manifest of hashes, custody logs. The
        manifest's SHA-256 is recorded as an `exported` custody event on each item."""
        self._need_purpose(principal, purpose)
        now = self.clock.now()
        with self.records.unit_of_work() as uow:
            loc = self.incidents.locate(uow, principal, incident_id)
            items = self.list_for_incident(uow, loc.owner_org, incident_id)
            chains = {i["id"]: [public_custody(e) for e in self._events(uow, loc.owner_org, i["id"])] for i in items}
            incident = {k: v for k, v in loc.doc.items() if not k.startswith("_")}
            if loc.share_level is not None:
                incident = view_for_partner(incident, loc.share_level, dispatched_to_viewer=loc.dispatched_to_viewer)
            members: list[tuple[str, bytes | str]] = []  # (path, bytes) for small files, (path, evidence id) for evidence
            files: list[dict[str, Any]] = []
            for item in items:
                path = f"evidence/{item['id']}-{safe_filename(item['filename'])}"
                members.append((path, item["id"]))
                files.append(
                    {
                        "path": path,
                        "evidence_id": item["id"],
                        "size": item["size"],
                        "sha256": item["sha256"],
                        "kind": item["kind"],
                        "content_type": item["content_type"],
                        "derived_from": item["derived_from"],
                    }
                )
                log_bytes = json.dumps({"evidence_id": item["id"], "events": chains[item["id"]]}, indent=2, sort_keys=True).encode()
                log_path = f"custody/{item['id']}.json"
                members.append((log_path, log_bytes))
                files.append(
                    {
                        "path": log_path,
                        "evidence_id": item["id"],
                        "size": len(log_bytes),
                        "sha256": hashlib.sha256(log_bytes).hexdigest(),
                        "kind": "custody-log",
                    }
                )
            summary = _summary_html(incident, items, chains, now, principal).encode()
            members.insert(0, ("case-summary.html", summary))
            files.insert(
                0,
                {"path": "case-summary.html", "size": len(summary), "sha256": hashlib.sha256(summary).hexdigest(), "kind": "case-summary"},
            )
            manifest = {
                "format": PACKAGE_FORMAT,
                "incident": {"id": incident_id, "reference": loc.doc.get("reference"), "organisation_id": loc.owner_org},
                "generated_at": to_iso(now),
                "generated_by": {"user": principal.user_id, "organisation": principal.organisation_id, "role": principal.primary_role},
                "purpose": purpose,
                "files": files,
                "custody_heads": {
                    i["id"]: ({"seq": chains[i["id"]][-1]["seq"], "hash": chains[i["id"]][-1]["hash"]} if chains[i["id"]] else None)
                    for i in items
                },
            }
            mbytes = manifest_bytes(manifest)
            msha = hashlib.sha256(mbytes).hexdigest()
            for item in items:
                self._custody(
                    uow,
                    loc.owner_org,
                    item["id"],
                    CustodyEvent.EXPORTED,
                    principal,
                    purpose=purpose,
                    details={"manifest_sha256": msha, "package": "court package", "incident_id": incident_id},
                )
            self._audit(
                uow, principal, loc.owner_org, "evidence.package", f"incident/{incident_id}", purpose, subjects=[i["id"] for i in items]
            )
        reference = safe_filename(loc.doc.get("reference") or incident_id)
        return Package(filename=f"{reference}-evidence-package.zip", manifest_sha256=msha, body=self._zip(members, mbytes, msha, now))

    def _zip(self, members: list[tuple[str, bytes | str]], mbytes: bytes, msha: str, now: datetime) -> Iterator[bytes]:
        sink = _Sink()
        stamp = (now.year, now.month, now.day, now.hour, now.minute, now.second)
        with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:
            for path, content in members:
                if isinstance(content, bytes):
                    info = zipfile.ZipInfo(path, stamp)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, content)
                else:
                    info = zipfile.ZipInfo(path, stamp)
                    info.compress_type = zipfile.ZIP_STORED  # media is compressed already
                    with zf.open(info, "w", force_zip64=True) as dst:
                        for chunk in self.blobs.open(content):
                            dst.write(chunk)
                            if len(sink.buffer) >= 1024 * 1024:
                                yield sink.drain()
                if sink.buffer:
                    yield sink.drain()
            info = zipfile.ZipInfo(MANIFEST_NAME, stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, mbytes)
            info = zipfile.ZipInfo("manifest.sha256", stamp)
            zf.writestr(info, f"{msha}  {MANIFEST_NAME}\n")
        yield sink.drain()

    # ==== retention hooks ======================================================================
    def set_legal_hold(
        self, uow: UnitOfWork, principal: Principal | None, owner_org: str, incident_id: str, held: bool, reason: str
    ) -> int:
        """Set or clear the hold on every item of an incident (custody `held`/`released`;
        the blob legal-hold flag in Azure). Returns how many items changed."""
        changed = 0
        for item in list(iterate_all(uow, EVIDENCE.name, [owner_org], [Where("incident_id", "eq", incident_id)], limit=100)):
            if bool(item.get("legal_hold")) == held:
                continue
            self.blobs.set_legal_hold(item["id"], held)
            updated = {k: v for k, v in item.items() if not k.startswith("_")}
            updated["legal_hold"] = held
            uow.replace(EVIDENCE.name, owner_org, updated, if_match=item["_etag"])
            self._custody(
                uow,
                owner_org,
                item["id"],
                CustodyEvent.HELD if held else CustodyEvent.RELEASED,
                principal,
                details={"reason": reason},
                system_actor="retention",
            )
            changed += 1
        return changed

    def erase_for_incident(self, uow: UnitOfWork, owner_org: str, incident_id: str, rule: str, *, keep_custody: bool = False) -> int:
        """Delete every item of an incident: bytes (refused with Conflict while an
        immutability period or legal hold protects them), records and custody. With
        `keep_custody`, custody stays and ends with a `deleted` event. Returns items erased."""
        items = list(iterate_all(uow, EVIDENCE.name, [owner_org], [Where("incident_id", "eq", incident_id)], limit=100))
        now = to_iso(self.clock.now())
        for item in items:
            if item.get("legal_hold"):
                raise Conflict(f"Evidence {item['id']} of incident {incident_id} is under legal hold; release the hold before erasing.")
            if item["retention_until"] > now:
                raise Conflict(
                    f"Evidence {item['id']} of incident {incident_id} is protected until {item['retention_until']}; it cannot be erased before then."
                )
        erased = 0
        for item in items:
            self.blobs.delete(item["id"])
            if keep_custody:
                self._custody(
                    uow,
                    owner_org,
                    item["id"],
                    CustodyEvent.DELETED,
                    None,
                    details={"rule": rule, "sha256": item["sha256"]},
                    system_actor="retention",
                )
            else:
                for event in list(self._events(uow, owner_org, item["id"])):
                    uow.delete(CUSTODY.name, owner_org, event["id"])
                uow.delete(CHAIN_HEADS.name, owner_org, custody_chain(item["id"]))
            uow.delete(EVIDENCE.name, owner_org, item["id"])
            self.audit.record(
                uow,
                owner_org=owner_org,
                principal=None,
                action=AuditAction.ERASURE,
                operation="evidence.erase",
                entity=f"evidence/{item['id']}",
                purpose=rule,
                system_actor="retention",
            )
            erased += 1
        for session in list(iterate_all(uow, EVIDENCE_UPLOADS.name, [owner_org], [Where("incident_id", "eq", incident_id)], limit=100)):
            self.blobs.discard_staged(session["id"])
            uow.delete(EVIDENCE_UPLOADS.name, owner_org, session["id"])
        return erased

    def erase_item(self, uow: UnitOfWork, owner_org: str, item: dict[str, Any], rule: str, *, custody_event: bool = True) -> None:
        """Delete one item ahead of its incident (a person-of-interest image): its bytes
        (refused with Conflict while a legal hold or immutability period protects them) and
        its record. Custody stays, ended with a `deleted` event, until the incident goes
        (`drop_custody`). Safe to repeat: bytes already gone are not an error."""
        if item.get("legal_hold"):
            raise Conflict(f"Evidence {item['id']} is under legal hold; release the hold before erasing.")
        if item["retention_until"] > to_iso(self.clock.now()):
            raise Conflict(f"Evidence {item['id']} is protected until {item['retention_until']}; it cannot be erased before then.")
        self.blobs.delete(item["id"])
        if custody_event:
            self._custody(
                uow,
                owner_org,
                item["id"],
                CustodyEvent.DELETED,
                None,
                details={"rule": rule, "sha256": item["sha256"]},
                system_actor="retention",
            )
        uow.delete(EVIDENCE.name, owner_org, item["id"])

    def drop_custody(self, uow: UnitOfWork, owner_org: str, evidence_id: str) -> int:
        """Remove the custody chain of an item erased earlier (its incident is going now)."""
        events = list(self._events(uow, owner_org, evidence_id))
        for event in events:
            uow.delete(CUSTODY.name, owner_org, event["id"])
        uow.delete(CHAIN_HEADS.name, owner_org, custody_chain(evidence_id))
        return len(events)

    # ==== internals ============================================================================
    def _custody(
        self,
        uow: UnitOfWork,
        owner: str,
        evidence_id: str,
        event: CustodyEvent,
        principal: Principal | None,
        *,
        purpose: str | None = None,
        details: dict[str, Any] | None = None,
        at: datetime | None = None,
        system_actor: str = "system",
    ) -> None:
        entry = {
            "id": uuid.uuid4().hex,
            "evidence_id": evidence_id,
            "event": event.value,
            "at": to_iso(at or self.clock.now()),
            "actor_user": principal.user_id if principal else system_actor,
            "actor_org": principal.organisation_id if principal else "_platform",
            "actor_role": principal.primary_role if principal else "system",
            "purpose": purpose,
            "details": details or {},
        }
        uow.append_chained(CUSTODY.name, owner, custody_chain(evidence_id), json.loads(json.dumps(entry, default=str)), custody_link_hash)

    def _audit(
        self,
        uow: UnitOfWork,
        principal: Principal,
        owner: str,
        operation: str,
        entity: str,
        purpose: str | None,
        subjects: list[str] | None = None,
    ) -> None:
        own = owner == principal.organisation_id
        self.audit.record(
            uow,
            owner_org=owner,
            principal=principal,
            action=AuditAction.CONSULTATION if own else AuditAction.DISCLOSURE,
            operation=operation,
            entity=entity,
            purpose=purpose,
            subjects=subjects or [],
            recipient_org=None if own else principal.organisation_id,
        )
        if not own:
            self.audit.record(
                uow,
                owner_org=principal.organisation_id,
                principal=principal,
                action=AuditAction.CONSULTATION,
                operation=operation,
                entity=entity,
                purpose=purpose,
                subjects=subjects or [],
            )


class RangeNotSatisfiable(DomainError):
    status, slug, title = 416, "range-not-satisfiable", "Range not satisfiable"


class _Sink:
    """A write-only, unseekable file for zipfile: what was written is drained as it goes."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        out = bytes(self.buffer)
        self.buffer.clear()
        return out


def from_iso_safe(value: str) -> datetime:
    from shared.domain.clock import from_iso

    return from_iso(value)


def _summary_html(
    incident: dict[str, Any], items: list[dict[str, Any]], chains: dict[str, list[dict[str, Any]]], now: datetime, principal: Principal
) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(i['id'])}</td><td>{e(i['kind'])}</td><td>{e(i['filename'])}</td><td>{e(i['content_type'])}</td><td>{i['size']}</td>"
        f"<td><code>{e(i['sha256'])}</code></td><td>{e(i['created_at'])}</td><td>{e(i['derived_from'] or '')}</td><td>{len(chains[i['id']])}</td></tr>"
        for i in items
    )
    custody = "".join(
        f"<h3>{e(i['id'])}</h3><ol>"
        + "".join(
            f"<li>{e(ev['at'])}: {e(ev['event'])} by {e(ev['actor_user'])} ({e(ev['actor_org'])}, {e(ev['actor_role'])})"
            f"{(' for ' + e(ev['purpose'])) if ev.get('purpose') else ''}</li>"
            for ev in chains[i["id"]]
        )
        + "</ol>"
        for i in items
    )
    fields = [
        ("Reference", incident.get("reference")),
        ("Incident id", incident.get("id")),
        ("Category", incident.get("category")),
        ("Occurred at", incident.get("occurred_at")),
        ("Store", incident.get("store_id")),
        ("Police force", incident.get("force_id")),
        ("Reported at", incident.get("reported_at")),
    ]
    facts = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in fields if v is not None)
    narrative = e(str(incident.get("narrative") or ""))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence package {e(str(incident.get("reference") or incident.get("id")))}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.3em;text-align:left;vertical-align:top}}code{{font-size:.8em}}</style>
</head><body>
<h1>Evidence package: {e(str(incident.get("reference") or incident.get("id")))}</h1>
<p>Generated {e(to_iso(now))} by {e(principal.user_id)} ({e(principal.organisation_id)}, {e(principal.primary_role)}).
Every file's size and SHA-256 are listed in <code>manifest.json</code>; check them offline with <code>make verify-package FILE=...</code>.
The manifest's own SHA-256 (in <code>manifest.sha256</code>) is recorded as an "exported" event in each item's chain of custody.</p>
<h2>Incident</h2><table>{facts}</table>
<h2>Narrative</h2><p>{narrative}</p>
<h2>Evidence ({len(items)} items)</h2>
<table><tr><th>Evidence id</th><th>Kind</th><th>File name</th><th>Type</th><th>Bytes</th><th>SHA-256</th><th>Received</th><th>Derived from</th><th>Custody events</th></tr>{rows}</table>
<h2>Chain of custody</h2>{custody}
</body></html>
"""


def suspect_images(uow: UnitOfWork, owner_org: str, incident_id: str) -> list[dict[str, Any]]:
    """The incident's items of kind `suspect_image` (redacted copies keep the kind), as stored."""
    items = iterate_all(uow, EVIDENCE.name, [owner_org], [Where("incident_id", "eq", incident_id)], limit=100)
    return sorted((d for d in items if d.get("kind") == EvidenceKind.SUSPECT_IMAGE.value), key=lambda d: (d["created_at"], d["id"]))
