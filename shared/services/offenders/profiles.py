"""Reading persons of interest: one profile of the caller's own organisation, audited."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.audit import AuditAction
from shared.domain.offenders import PersonOfInterest
from shared.domain.tenancy import Principal
from shared.services.audit import ReadEntry
from shared.services.offenders.deps import OffenderDeps, find_own


@dataclass
class Profiles:
    """GET /offenders/{id} and the reads other capabilities make on a caller's behalf."""

    deps: OffenderDeps

    def get(self, principal: Principal, offender_id: str) -> PersonOfInterest:
        """The caller's organisation's profile (404 for any other organisation's, or for a
        role that does not work on profiles); the read is audited as a consultation."""
        with self.deps.records.read_only() as uow:
            profile = find_own(uow, principal, offender_id).record
        self.deps.audit.record_read(
            principal,
            [
                ReadEntry(
                    owner_org=profile.organisation_id,
                    action=AuditAction.CONSULTATION,
                    operation="offender.read",
                    entity=f"offender/{profile.id}",
                    subjects=list(profile.incident_ids),
                )
            ],
        )
        return profile
