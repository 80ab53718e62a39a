"""What every person-of-interest use case shares: adapters, collaborators, and the one
rule deciding whether a caller may see a profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.errors import NotFound
from shared.domain.offenders import PersonOfInterest
from shared.domain.tenancy import Principal, Role
from shared.ports import Clock, RecordStore, UnitOfWork
from shared.records import OFFENDERS
from shared.services.audit import AuditTrail
from shared.services.directory import Directory
from shared.services.incidents import IncidentService
from shared.services.repository import Stored, load

# Who works on an organisation's own profiles (API.md: investigators read and edit their
# organisation's offenders); a force's officers and analysts keep profiles of their own.
EDITORS = (Role.RETAILER_INVESTIGATOR, Role.POLICE_OFFICER, Role.POLICE_ANALYST)


@dataclass
class OffenderDeps:
    """Built once in the composition root and shared by every person-of-interest use case."""

    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    incidents: IncidentService

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
