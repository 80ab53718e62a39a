"""The lookout's image: the profile's redacted still, served to whoever may see the
lookout. Only a copy made by redaction is ever served (an original, or a still cut from
one without redaction, shows bystanders), and only while the profile still names it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from shared.domain.audit import AuditAction
from shared.domain.errors import IntegrityFailure, NotFound
from shared.domain.evidence import EvidenceItem
from shared.domain.tenancy import Principal
from shared.records import EVIDENCE
from shared.services.audit import ReadEntry
from shared.services.lookouts.deps import LookoutDeps, Subjects, find
from shared.services.repository import body

# A still is small; anything bigger is not one and is not served here.
MAX_IMAGE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class LookoutImage:
    content_type: str
    data: bytes


@dataclass
class LookoutImages:
    deps: LookoutDeps

    def image(self, principal: Principal, lookout_id: str) -> LookoutImage:
        """The redacted still of the lookout's person (NotFound when there is none, the
        lookout is not the caller's to see, or the image is not a redacted copy); the bytes
        are checked against the SHA-256 recorded at intake. The view is audited."""
        deps = self.deps
        missing = NotFound(f"Lookout {lookout_id} has no image.")
        with deps.records.read_only() as uow:
            lk = find(deps, uow, principal, lookout_id).record
            profile = Subjects.read(uow, [lk]).profile(lk)
            if not lk.image_evidence_id or profile is None or lk.image_evidence_id not in profile.image_evidence_ids:
                raise missing
            doc = uow.get(EVIDENCE.name, lk.organisation_id, lk.image_evidence_id)
        if doc is None:
            raise missing
        item = EvidenceItem.model_validate(body(doc))
        if not item.is_redacted_copy or not item.content_type.startswith("image/") or item.size > MAX_IMAGE_BYTES:
            raise missing
        data = b"".join(deps.evidence_blobs().open(item.id))
        if hashlib.sha256(data).hexdigest() != item.sha256:
            raise IntegrityFailure("The lookout's image does not match what was stored; it is not shown.")
        own = principal.organisation_id == lk.organisation_id
        deps.audit.record_read(
            principal,
            [
                ReadEntry(
                    owner_org=lk.organisation_id,
                    action=AuditAction.CONSULTATION if own else AuditAction.DISCLOSURE,
                    operation="lookout.image",
                    entity=f"lookout/{lk.id}",
                    fields=["image"],
                    subjects=[lk.offender_id] if lk.offender_id else [],
                    recipient_org=None if own else principal.organisation_id,
                )
            ],
        )
        return LookoutImage(content_type=item.content_type, data=data)
