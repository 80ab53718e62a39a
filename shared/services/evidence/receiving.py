"""Receiving bytes as evidence: the request's declarations checked, the bytes hashed,
sized and type-checked as they stream, and the new item recorded with its first custody
events. Shared by single uploads, resumable uploads and redacted copies.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.custody import CustodyEvent
from shared.domain.errors import Invalid, MalformedHeader, NotFound, PayloadTooLarge, UnsupportedMediaType
from shared.domain.events import EvidenceAdded
from shared.domain.evidence import EvidenceItem, EvidenceKind, kind_misfit
from shared.domain.file_types import ALLOWED, SNIFF_BYTES, FileType, allowed_summary, declared_type, sniff
from shared.domain.http_fields import parse_content_digest, safe_filename
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.evidence_ports import EvidenceWriter
from shared.ports import UnitOfWork
from shared.records import EVIDENCE, INCIDENTS
from shared.services.evidence import custody
from shared.services.evidence.deps import EvidenceDeps, owe_video_job
from shared.services.evidence.exhibits import next_label
from shared.services.incidents import Located
from shared.services.repository import dump, load

log = logging.getLogger("vigil.evidence")


@dataclass(frozen=True)
class Received:
    sha256: str
    size: int
    file_type: FileType


def declared(content_type: str | None) -> FileType:
    """The accepted type a Content-Type names, or 415 listing what is accepted."""
    found = declared_type(content_type)
    if found is None:
        raise UnsupportedMediaType(
            f"Content-Type {content_type or '(none)'} is not accepted for evidence; accepted: {allowed_summary()}.",
            errors=[{"field": "Content-Type"}],
            declared=content_type,
            accepted=[t.content_type for t in ALLOWED.values()],
        )
    return found


def client_digest(header: str | None) -> str | None:
    """The SHA-256 (hex) a Content-Digest header promises, if it was sent."""
    if not header:
        return None
    try:
        digest = parse_content_digest(header)
    except ValueError as exc:
        raise MalformedHeader(str(exc), errors=[{"field": "Content-Digest"}]) from exc
    if digest is None:
        raise Invalid("Content-Digest names no sha-256 value; send sha-256=:<base64>:.", errors=[{"field": "Content-Digest"}])
    return digest


def display_name(filename: str | None) -> str:
    """The client's file name made safe for people to read (never a storage key)."""
    if filename is not None and len(filename) > 255:
        raise Invalid("X-Filename is longer than 255 characters.", errors=[{"field": "X-Filename"}])
    return safe_filename(filename)


def too_large(deps: EvidenceDeps) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Evidence files are limited to {deps.limits.max_bytes} bytes; use a smaller file.", max_bytes=deps.limits.max_bytes
    )


def check_type(head: bytes, expected: FileType) -> None:
    """415 unless the first bytes show the declared type."""
    found = sniff(head)
    if found.type_id is None:
        raise UnsupportedMediaType(
            f"The file looks like {found.label}, which is not accepted for evidence; accepted: {allowed_summary()}.",
            errors=[{"field": "body"}],
            detected=found.label,
        )
    if found.type_id != expected.id:
        raise UnsupportedMediaType(
            f"The file is {found.label} ({ALLOWED[found.type_id].content_type}) but was declared as {expected.content_type}; send the right Content-Type.",
            errors=[{"field": "Content-Type"}],
            detected=ALLOWED[found.type_id].content_type,
        )


def check_kind(kind: EvidenceKind | None, file_type: FileType, field: str = "kind") -> None:
    """422 unless the file's media fits its declared kind (cctv is video, suspect_image an image)."""
    why = kind_misfit(kind, file_type)
    if why is not None:
        raise Invalid(why, errors=[{"field": field}], kind=kind.value if kind else None, detected=file_type.content_type)


def receive(deps: EvidenceDeps, body: Iterable[bytes], expected_type: FileType, expected: str | None, writer: EvidenceWriter) -> Received:
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
        if size > deps.limits.max_bytes:
            raise too_large(deps)
        hasher.update(chunk)
        if not checked:
            head += chunk
            if len(head) < SNIFF_BYTES:
                continue
            check_type(bytes(head[:SNIFF_BYTES]), expected_type)
            checked = True
            writer.write(bytes(head))
            head.clear()
            continue
        writer.write(chunk)
    if not checked:
        check_type(bytes(head), expected_type)
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
    return Received(sha256=digest, size=size, file_type=expected_type)


def record_new(
    deps: EvidenceDeps,
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
    extra: Callable[[UnitOfWork], None] | None = None,
    claim: Callable[[UnitOfWork], None] | None = None,
    undo: Callable[[UnitOfWork], None] | None = None,
    describe: dict[str, Any] | None = None,
) -> EvidenceItem:
    """Record the item as pending, commit its write-once bytes, then mark it stored with
    its first custody events and the audit entry.

    The record comes first because the bytes cannot be taken back once committed: a
    failure after them leaves a pending record that the settling sweep finds, never an
    object nothing points at. `claim` runs in the unit that writes the pending record
    (`undo` reverses it when the bytes could not be committed); `extra` runs in the unit
    that marks the item stored, so what it records exists only if the item does.
    `describe` adds fields to the record (a derived item's `derivation`, a video's `video`)."""
    # On the type the bytes showed: whatever was checked before they arrived, this decides.
    check_kind(kind, got.file_type)
    now = deps.clock.now()
    with deps.records.unit_of_work() as uow:
        # Asked again at commit: a hold placed while the bytes arrived must still apply.
        held = deps.retention.evidence_terms(uow, loc.owner_org, loc.doc, now, None)[1]
        item = EvidenceItem.received(
            evidence_id=evidence_id,
            incident_id=loc.doc["id"],
            organisation_id=loc.owner_org,
            file_type=got.file_type,
            kind=kind,
            filename=filename,
            sha256=got.sha256,
            size=got.size,
            at=now,
            by=principal.user_id if principal else "system",
            derived_from=derived_from,
            retention_until=retention_until,
            held=held,
        ).as_pending(now)
        item.exhibit_label = next_label(uow, loc.owner_org, loc.doc)
        if describe:
            item = item.model_copy(update=describe)
        uow.insert(EVIDENCE.name, loc.owner_org, dump(item))
        if claim is not None:
            claim(uow)
    try:
        writer.commit()
    except BaseException as failure:
        # A commit can fail on the way back after the service stored the object; then
        # the record is kept and finished like any other. When the store cannot even say,
        # the pending record is left to the settling sweep.
        try:
            landed = deps.blobs.size(evidence_id) == got.size
        except Exception:
            raise failure from None
        if not landed:
            forget_pending(deps, item, undo)
            raise
    return complete(deps, principal, item, received_at=received_at, received_details=received_details, extra=extra)


def forget_pending(deps: EvidenceDeps, item: EvidenceItem, undo: Callable[[UnitOfWork], None] | None = None) -> None:
    """Remove a pending record whose bytes never landed (and run `undo` with it). A
    failure here is left to the settling sweep, which removes such records too."""
    try:
        with deps.records.unit_of_work() as uow:
            current = uow.get(EVIDENCE.name, item.organisation_id, item.id)
            if current is not None and current.get("pending_since"):
                uow.delete(EVIDENCE.name, item.organisation_id, item.id)
            if undo is not None:
                undo(uow)
    except Exception:  # noqa: BLE001 - the original failure is the one to report
        log.warning("pending evidence record left for the settling sweep", extra={"evidence_id": item.id})


def complete(
    deps: EvidenceDeps,
    principal: Principal | None,
    item: EvidenceItem,
    *,
    received_at: datetime,
    received_details: dict[str, Any],
    system_actor: str = "system",
    extra: Callable[[UnitOfWork], None] | None = None,
) -> EvidenceItem:
    """Mark a pending item stored once its bytes are committed: custody `received` and
    `stored`, whatever `extra` records, the audit entry and `EvidenceAdded` (when a
    person acted; otherwise an uploaded video's job is owed directly), in one unit.
    Returns the item as stored; an item someone else finished first is returned as is."""
    owner = item.organisation_id
    with deps.records.unit_of_work() as uow:
        current = uow.get(EVIDENCE.name, owner, item.id)
        if current is None:
            raise NotFound(f"Evidence {item.id} was not found.")
        stored = load(EvidenceItem, current)
        if not stored.record.pending:
            return stored.record
        incident = uow.get(INCIDENTS.name, owner, item.incident_id)
        now = deps.clock.now()
        held = stored.record.legal_hold
        if incident is not None:
            held = held or deps.retention.evidence_terms(uow, owner, incident, now, None)[1]
        done = stored.record.as_stored(now, held)
        uow.replace(EVIDENCE.name, owner, dump(done), if_match=stored.etag)
        custody.record_event(
            uow,
            deps.chain_keys,
            owner,
            item.id,
            CustodyEvent.RECEIVED,
            principal,
            at=received_at,
            details={"filename": item.filename, "sha256": item.sha256, "size": item.size, **received_details},
            system_actor=system_actor,
        )
        custody.record_event(
            uow,
            deps.chain_keys,
            owner,
            item.id,
            CustodyEvent.STORED,
            principal,
            at=now,
            details={"sha256": item.sha256, "size": item.size, "write_once": True, "retention_until": to_iso(item.retention_until)},
            system_actor=system_actor,
        )
        if extra is not None:
            extra(uow)
        deps.audit.record(
            uow,
            owner_org=owner,
            principal=principal,
            action=AuditAction.COLLECTION,
            operation="evidence.create",
            entity=f"evidence/{item.id}",
            fields=["content"],
            subjects=[item.incident_id],
        )
        if principal is None and done.processing is not None and done.derived_from is None:
            # No person acted (the settling sweep finished an upload), so no EvidenceAdded:
            # the video job is owed here, or the item would wait `queued` for ever.
            owe_video_job(deps, uow, owner, item.id)
        if principal is not None and incident is not None:
            deps.bus.publish(
                uow,
                EvidenceAdded(
                    principal=principal,
                    incident=incident,
                    evidence_id=item.id,
                    owner_org=owner,
                    media=item.media.value,
                    derived_from=item.derived_from,
                ),
            )
    if held:
        deps.blobs.set_legal_hold(item.id, True)
    return done
