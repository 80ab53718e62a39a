"""What every person-of-interest use case shares: adapters, collaborators, the one rule
deciding whether a caller may see a profile, and the versioned, audited write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Invalid, NotFound, PreconditionFailed, PreconditionRequired
from shared.domain.incident_report import IncidentPatch
from shared.domain.offenders import PersonOfInterest
from shared.domain.tenancy import Principal, Role
from shared.ports import Clock, RecordStore, UnitOfWork
from shared.records import OFFENDER_VERSIONS, OFFENDERS
from shared.services.audit import AuditTrail
from shared.services.directory import Directory
from shared.services.incidents import IncidentService
from shared.services.offenders.catalogue import to_document
from shared.services.repository import Stored, dump, load

# Who works on an organisation's own profiles: investigators read and edit their
# organisation's offenders. Forces read retailers' profiles through `partners`.
EDITORS = (Role.RETAILER_INVESTIGATOR,)


@dataclass
class OffenderDeps:
    """Built once in the composition root and shared by every person-of-interest use case."""

    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    incidents: IncidentService
    retention_months: int = 24  # the person-of-interest period: the longest a listing may run
    # Publishes what a change sets off elsewhere (a review answers the contest's subject request).
    bus: Any = None

    def now(self) -> datetime:
        return self.clock.now()


def find_own(uow: UnitOfWork, principal: Principal, offender_id: str) -> Stored[PersonOfInterest]:
    """The caller's organisation's profile, or NotFound exactly as if it did not exist:
    another organisation's profile, or a caller without an editing role, is told nothing."""
    missing = NotFound(f"Person of interest {offender_id} was not found.")
    if len(offender_id) > 64 or not principal.has(*EDITORS):
        raise missing
    doc = uow.get(OFFENDERS.name, principal.organisation_id, offender_id)
    if doc is None:
        raise missing
    return load(PersonOfInterest, doc)


def check_if_match(stored: Stored[PersonOfInterest], if_match: str | None) -> None:
    """A change names the version it was made from, so it cannot overwrite another's."""
    if not if_match:
        raise PreconditionRequired("Send If-Match with the ETag you last read; changes without it could overwrite someone else's.")
    if if_match != stored.etag:
        raise PreconditionFailed(f"Person of interest {stored.record.id} has changed since you read it; read it again.")


def version_id(offender_id: str, version: int) -> str:
    return f"{offender_id}.{version}"


def write(
    deps: OffenderDeps,
    uow: UnitOfWork,
    principal: Principal | None,
    profile: PersonOfInterest,
    *,
    etag: str | None,
    note: str,
    operation: str,
    fields: list[str],
    action: AuditAction = AuditAction.ALTERATION,
) -> str:
    """Store `profile` as its next version (inserted when `etag` is None, else replacing that
    version), keep the version for history and revert, and audit it. Returns the new ETag."""
    doc = to_document(profile)
    new_etag = (
        uow.insert(OFFENDERS.name, profile.organisation_id, doc)
        if etag is None
        else uow.replace(OFFENDERS.name, profile.organisation_id, doc, if_match=etag)
    )
    uow.upsert(
        OFFENDER_VERSIONS.name,
        profile.organisation_id,
        {
            "id": version_id(profile.id, profile.version),
            "offender_id": profile.id,
            "version": profile.version,
            "at": dump(profile)["listed_at"] if etag is None else deps.now().isoformat(),
            "by": principal.user_id if principal else "system",
            "note": note,
            "snapshot": dump(profile),
        },
    )
    deps.audit.record(
        uow,
        owner_org=profile.organisation_id,
        principal=principal,
        action=action,
        operation=operation,
        entity=f"offender/{profile.id}",
        fields=fields,
        subjects=list(profile.incident_ids),
    )
    return new_etag


def set_offender(
    deps: OffenderDeps, uow: UnitOfWork, principal: Principal, incident_id: str, person_index: int, offender_id: str
) -> dict[str, Any]:
    """Name `offender_id` on one person of an incident through the incidents service, so the
    incident keeps its version, history and audit; returns the incident as it was before."""
    loc = deps.incidents.locate(uow, principal, incident_id)
    persons = [dict(p) for p in loc.doc.get("persons", [])]
    if person_index >= len(persons):
        raise Invalid(f"Incident {incident_id} has no person {person_index}.", errors=[{"field": "person_index"}])
    if persons[person_index].get("offender_id") != offender_id:
        persons[person_index]["offender_id"] = offender_id
        deps.incidents.change.apply(principal, incident_id, IncidentPatch.model_validate({"persons": persons}), loc.etag)
    return loc.doc
