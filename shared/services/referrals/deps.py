"""What every referral use case shares: adapters and collaborators, who may refer and who
decides, and the one rule deciding whether a caller may see a referral."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.errors import NotFound
from shared.domain.referrals import Referral
from shared.domain.tenancy import PLATFORM_TENANT, OrgKind, Principal, Role
from shared.ports import Clock, RecordStore, UnitOfWork, Where, iterate_all
from shared.records import ORGANISATIONS, REFERRALS
from shared.services.audit import AuditTrail
from shared.services.directory import Directory
from shared.services.incidents import IncidentService
from shared.services.repository import Stored, dump, load

# Who refers a series: a force's officers and analysts, a retailer's investigators
# (the people who link incidents; store staff and admins do not).
REFERRERS = (Role.POLICE_OFFICER, Role.POLICE_ANALYST, Role.RETAILER_INVESTIGATOR)
# Who works the unit's intake.
UNIT = (Role.NATIONAL_UNIT_OFFICER, Role.NATIONAL_UNIT_ANALYST)


@dataclass
class ReferralDeps:
    """Built once in the composition root and shared by every referral use case."""

    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    incidents: IncidentService
    region: str = "uk"

    def now(self) -> datetime:
        return self.clock.now()


def units_here(uow: UnitOfWork, region: str) -> list[str]:
    """The national units homed in this region: the partitions referrals live in."""
    docs = iterate_all(uow, ORGANISATIONS.name, [PLATFORM_TENANT], [Where("kind", "eq", OrgKind.NATIONAL_UNIT.value)])
    return sorted(d["id"] for d in docs if d.get("home_region") == region)


def referral_id_ok(referral_id: str) -> bool:
    return len(referral_id) == 32 and all(c in "0123456789abcdef" for c in referral_id)


def find(deps: ReferralDeps, uow: UnitOfWork, principal: Principal, referral_id: str) -> Stored[Referral]:
    """The referral as the caller may see it, or NotFound exactly as if it did not exist:
    the unit it was referred to, and the organisation that referred it; nobody else.

    Referrals live in the unit's partition; a referrer looks in each unit homed here."""
    missing = NotFound(f"Referral {referral_id} was not found.")
    if not referral_id_ok(referral_id):
        raise missing
    if principal.is_national_unit and principal.has(*UNIT):
        units = [principal.organisation_id]
    elif principal.has(*REFERRERS):
        units = units_here(uow, deps.region)
    else:
        raise missing
    for unit in units:
        doc = uow.get(REFERRALS.name, unit, referral_id)
        if doc is None:
            continue
        stored = load(Referral, doc)
        if principal.organisation_id in (stored.record.unit_id, stored.record.referrer_org):
            return stored
    raise missing


def replace(uow: UnitOfWork, stored: Stored[Referral]) -> str:
    """Write the referral back over the version read (PreconditionFailed if it moved meanwhile)."""
    return uow.replace(REFERRALS.name, stored.record.unit_id, dump(stored.record), if_match=stored.etag)
