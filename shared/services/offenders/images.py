"""Suspect images on a profile: redacted copies of stills or photos of the organisation's
own incidents linked to the profile. The profile keeps the evidence id; the file stays in
the evidence locker, under its custody and retention."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.errors import Invalid
from shared.domain.evidence import EvidenceItem
from shared.domain.file_types import Media
from shared.domain.tenancy import Principal
from shared.records import EVIDENCE
from shared.services.offenders.deps import OffenderDeps, check_if_match, find_own, write
from shared.services.offenders.listing import Saved
from shared.services.repository import load

MAX_IMAGES = 20


@dataclass
class Images:
    """PUT and DELETE /offenders/{id}/images/{evidence_id}."""

    deps: OffenderDeps

    def add(self, principal: Principal, offender_id: str, evidence_id: str, if_match: str | None) -> Saved:
        """Show a suspect image on the profile: an image of one of its incidents, redacted of
        bystanders (a redacted copy; the original and unredacted stills are refused)."""
        with self.deps.records.unit_of_work() as uow:
            stored = find_own(uow, principal, offender_id)
            check_if_match(stored, if_match)
            current = stored.record
            if evidence_id in current.image_evidence_ids:
                return Saved(current, stored.etag)
            doc = uow.get(EVIDENCE.name, principal.organisation_id, evidence_id) if len(evidence_id) <= 128 else None
            item = load(EvidenceItem, doc).record if doc is not None else None
            if item is None or item.incident_id not in current.incident_ids:
                raise Invalid(
                    f"Evidence {evidence_id} is not an item of this person's incidents.",
                    errors=[{"field": "evidence_id", "criterion": "own_incident"}],
                )
            if item.media != Media.IMAGE:
                raise Invalid(
                    f"Evidence {evidence_id} is not an image: take a still from the video first (POST /evidence/{evidence_id}/stills).",
                    errors=[{"field": "evidence_id", "criterion": "image"}],
                )
            if not item.is_redacted_copy:
                raise Invalid(
                    f"Evidence {evidence_id} is not redacted: obscure bystanders first (POST /evidence/{evidence_id}/redactions) and use the redacted copy.",
                    errors=[{"field": "evidence_id", "criterion": "redacted"}],
                )
            if len(current.image_evidence_ids) >= MAX_IMAGES:
                raise Invalid(f"A profile shows at most {MAX_IMAGES} images.", errors=[{"field": "evidence_id"}])
            profile = current.model_copy(
                update={"image_evidence_ids": [*current.image_evidence_ids, evidence_id], "version": current.version + 1}
            )
            etag = write(
                self.deps,
                uow,
                principal,
                profile,
                etag=stored.etag,
                note=f"image {evidence_id} added",
                operation="offender.image",
                fields=["image_evidence_ids"],
            )
        return Saved(profile, etag)

    def remove(self, principal: Principal, offender_id: str, evidence_id: str, if_match: str | None) -> Saved:
        """Stop showing an image on the profile (the evidence item itself stays)."""
        with self.deps.records.unit_of_work() as uow:
            stored = find_own(uow, principal, offender_id)
            check_if_match(stored, if_match)
            current = stored.record
            if evidence_id not in current.image_evidence_ids:
                return Saved(current, stored.etag)
            profile = current.model_copy(
                update={"image_evidence_ids": [e for e in current.image_evidence_ids if e != evidence_id], "version": current.version + 1}
            )
            etag = write(
                self.deps,
                uow,
                principal,
                profile,
                etag=stored.etag,
                note=f"image {evidence_id} removed",
                operation="offender.image",
                fields=["image_evidence_ids"],
            )
        return Saved(profile, etag)
