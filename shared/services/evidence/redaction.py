"""Redaction: an image copy with regions obscured (or cropped) becomes a new item derived
from the original, which stays untouched."""

from __future__ import annotations

import hashlib

from shared.domain import imaging
from shared.domain.audit import AuditAction
from shared.domain.custody import CustodyEvent
from shared.domain.errors import Conflict, DomainError, Invalid, PayloadTooLarge
from shared.domain.evidence import EvidenceItem, RedactionIn
from shared.domain.file_types import Media
from shared.domain.tenancy import Principal
from shared.ports import UnitOfWork
from shared.services.evidence import custody, receiving
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.lookup import locate_item, new_evidence_id


def image_refused(exc: imaging.ImageError, field: str) -> DomainError:
    """The problem an image that cannot be worked on is answered with: 413 naming the pixel
    bound for an image declaring too many pixels, 422 otherwise."""
    if isinstance(exc, imaging.ImageTooLarge):
        return PayloadTooLarge(str(exc), errors=[{"field": "evidence"}], max_pixels=exc.max_pixels, width=exc.width, height=exc.height)
    return Invalid(str(exc), errors=[{"field": field}])


def checked_image(deps: EvidenceDeps, item: EvidenceItem, what: str) -> bytes:
    """The whole image, refused unless it is an image within the size bound whose bytes
    still match their recorded SHA-256 (work never starts from damaged evidence)."""
    if not item.is_image:
        raise Invalid(
            f"{what} is not supported for {item.media.value} evidence (only images).",
            errors=[{"field": "evidence"}],
            media=item.media.value,
        )
    if item.size > deps.limits.image_max_bytes:
        raise PayloadTooLarge(
            f"{what} handles images up to {deps.limits.image_max_bytes} bytes; this one has {item.size}.",
            max_bytes=deps.limits.image_max_bytes,
        )
    data = b"".join(deps.blobs.open(item.id))
    if hashlib.sha256(data).hexdigest() != item.sha256:
        raise Conflict(f"The stored bytes of evidence {item.id} no longer match their recorded SHA-256; verify it before working from it.")
    return data


class Redaction:
    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def redact(self, principal: Principal, evidence_id: str, body: RedactionIn) -> EvidenceItem:
        """Make a redacted copy as a new item (`derived_from` the original); the original is untouched."""
        deps = self.deps
        with deps.records.unit_of_work() as uow:
            stored, loc = locate_item(deps, uow, principal, evidence_id)
        original = stored.record
        if original.media == Media.VIDEO:
            raise Invalid("Redaction is not supported for video yet; redact images only.", errors=[{"field": "evidence"}], media="video")
        # Loading, decoding and encoding hold a worker: the bytes and pixels in memory at
        # once stay bounded however many redactions are asked for.
        with deps.image_work.slot(principal, "Redaction"):
            data = checked_image(deps, original, "Redaction")
            try:
                out = imaging.redact(data, original.detected_type, body.method, body.regions, max_pixels=deps.limits.image_max_pixels)
            except imaging.ImageError as exc:
                raise image_refused(exc, "regions") from exc
            del data  # the slot bounds memory only if the bytes go with it
        file_type = original.file_type
        now = deps.clock.now()
        new_id = new_evidence_id(loc.owner_org)
        # The copy is protected exactly as long as the original it was made from.
        retention_until = original.retention_until
        writer = deps.blobs.writer(new_id, content_type=file_type.content_type, retention_until=retention_until, legal_hold=False)
        regions = [r.model_dump() for r in body.regions]

        def mark_original(uow: UnitOfWork) -> None:
            custody.record_event(
                uow,
                self.deps.chain_keys,
                loc.owner_org,
                evidence_id,
                CustodyEvent.REDACTED,
                principal,
                at=deps.clock.now(),
                details={"derived_id": new_id, "method": body.method, "regions": regions, "reason": body.reason},
            )
            deps.audit.record(
                uow,
                owner_org=loc.owner_org,
                principal=principal,
                action=AuditAction.CONSULTATION,
                operation="evidence.redact",
                entity=f"evidence/{evidence_id}",
                subjects=[new_id],
                purpose=body.reason,
            )

        try:
            writer.write(out)
            got = receiving.Received(sha256=hashlib.sha256(out).hexdigest(), size=len(out), file_type=file_type)
            return receiving.record_new(
                deps,
                principal,
                loc,
                new_id,
                got,
                kind=original.kind,
                filename=original.redacted_filename(),
                received_at=now,
                retention_until=retention_until,
                derived_from=evidence_id,
                writer=writer,
                extra=mark_original,
                received_details={
                    "derived_from": evidence_id,
                    "original_sha256": original.sha256,
                    "method": body.method,
                    "regions": regions,
                    "reason": body.reason,
                    "via": "redaction",
                },
            )
        except BaseException:
            writer.abort()
            raise
