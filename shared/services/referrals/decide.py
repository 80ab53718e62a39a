"""The unit decides on a referral: accepts it, asks the referrer for more, or allocates a
lead force from the forces in the series (the referrer's answer is answer.py). Every step is a new version, audited in the unit's trail
and the referrer's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.domain.audit import AuditAction
from shared.domain.errors import NotFound
from shared.domain.referrals import Referral
from shared.domain.tenancy import Principal
from shared.services.referrals.deps import UNIT, ReferralDeps, find, replace


@dataclass
class DecideReferral:
    deps: ReferralDeps

    def accept(self, principal: Principal, referral_id: str, note: str | None) -> Referral:
        """The unit takes the series on."""
        return self._unit_step(
            principal, referral_id, "referral.accept", ["status"], lambda r, now: r.accept(by=principal.user_id, now=now, note=note)
        )

    def ask(self, principal: Principal, referral_id: str, question: str) -> Referral:
        """The unit asks the referrer for more; the referral waits on the answer."""
        return self._unit_step(
            principal, referral_id, "referral.ask", ["status", "questions"], lambda r, now: r.ask(question, by=principal.user_id, now=now)
        )

    def allocate(self, principal: Principal, referral_id: str, force_id: str, note: str | None) -> Referral:
        """A lead force, one of those whose areas the series spans (422 otherwise)."""
        return self._unit_step(
            principal,
            referral_id,
            "referral.allocate",
            ["status", "lead_force_id"],
            lambda r, now: r.allocate(force_id, by=principal.user_id, now=now, note=note),
        )

    def _unit_step(self, principal: Principal, referral_id: str, operation: str, fields: list[str], change: Callable) -> Referral:
        if not (principal.is_national_unit and principal.has(*UNIT)):
            raise NotFound(f"Referral {referral_id} was not found.")
        return step(self.deps, principal, referral_id, operation, fields, change, side="unit")


def step(
    deps: ReferralDeps, principal: Principal, referral_id: str, operation: str, fields: list[str], change: Callable, *, side: str
) -> Referral:
    """Take one step on a referral as one side of it (`unit` or `referrer`): a new version,
    audited in the trails of both sides."""
    now = deps.now()
    with deps.records.unit_of_work() as uow:
        stored = find(deps, uow, principal, referral_id)
        referral = stored.record
        mine = referral.unit_id if side == "unit" else referral.referrer_org
        if principal.organisation_id != mine:
            # The other side of a referral reads it but does not take this step.
            raise NotFound(f"Referral {referral_id} was not found.")
        change(referral, now)
        replace(uow, stored)
        entity = f"referral/{referral.id}"
        subjects = [e.incident_id for e in referral.incidents if e.erased_at is None]
        for owner in dict.fromkeys([principal.organisation_id, referral.unit_id, referral.referrer_org]):
            deps.audit.record(
                uow,
                owner_org=owner,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation=operation,
                entity=entity,
                fields=fields,
                subjects=subjects,
                recipient_org=None if owner == principal.organisation_id else owner,
            )
    return referral
