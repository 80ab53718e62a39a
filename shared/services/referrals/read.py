"""Reading referrals: one (audited), or a page of the caller's: the unit's intake, or what
the referrer's organisation referred."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.audit import AuditAction
from shared.domain.errors import NotFound
from shared.domain.referrals import Referral, ReferralStatus
from shared.domain.tenancy import Principal
from shared.ports import Where
from shared.records import REFERRALS
from shared.services.audit import ReadEntry
from shared.services.referrals.deps import REFERRERS, UNIT, ReferralDeps, find, units_here
from shared.services.repository import body


@dataclass(frozen=True)
class Seen:
    """A referral as one reader sees it: the unit never sees what was withheld."""

    referral: Referral
    for_unit: bool


@dataclass(frozen=True)
class ReferralPage:
    items: list[Seen]
    continuation: str | None


@dataclass
class ReadReferrals:
    deps: ReferralDeps

    def get(self, principal: Principal, referral_id: str) -> Seen:
        """One referral as the caller may see it (404 for anyone else); the read is audited
        in the reader's own trail before it answers."""
        with self.deps.records.read_only() as uow:
            referral = find(self.deps, uow, principal, referral_id).record
        self.deps.audit.record_read(
            principal,
            [
                ReadEntry(
                    owner_org=principal.organisation_id,
                    action=AuditAction.CONSULTATION,
                    operation="referral.read",
                    entity=f"referral/{referral.id}",
                    subjects=[e.incident_id for e in referral.incidents if e.erased_at is None],
                )
            ],
        )
        return Seen(referral, for_unit=principal.organisation_id == referral.unit_id)

    def list(
        self, principal: Principal, *, status: ReferralStatus | None = None, limit: int = 50, continuation: str | None = None
    ) -> ReferralPage:
        """Newest first: the unit's intake, or the referrals the caller's organisation made.
        A page names each referral's title, status and counts, no personal data."""
        where = [Where("status", "eq", status.value)] if status else []
        with self.deps.records.read_only() as uow:
            if principal.is_national_unit and principal.has(*UNIT):
                units = [principal.organisation_id]
            elif principal.has(*REFERRERS):
                units = units_here(uow, self.deps.region)
                where.append(Where("referrer_org", "eq", principal.organisation_id))
            else:
                raise NotFound("There are no referrals for you.")
            if not units:
                return ReferralPage([], None)
            page = uow.query(REFERRALS.name, units, where, order_by="created_at", descending=True, limit=limit, continuation=continuation)
        return ReferralPage(
            [Seen(r, for_unit=r.unit_id == principal.organisation_id) for r in (Referral.model_validate(body(d)) for d in page.items)],
            page.continuation,
        )
