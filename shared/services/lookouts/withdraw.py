"""The issuer calls a lookout off: stores stop seeing it at once, and owed emails and
webhooks not yet sent are not sent."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.audit import AuditAction
from shared.domain.errors import NotFound
from shared.domain.lookouts import Lookout
from shared.domain.tenancy import Principal
from shared.records import LOOKOUTS
from shared.services.lookouts.deps import ISSUERS, LookoutDeps, find
from shared.services.repository import dump


@dataclass
class WithdrawLookout:
    deps: LookoutDeps

    def withdraw(self, principal: Principal, lookout_id: str) -> Lookout:
        """Withdraw one of the caller's organisation's lookouts (Conflict once withdrawn or
        lapsed at its expiry); NotFound for anyone else's."""
        deps = self.deps
        with deps.records.unit_of_work() as uow:
            stored = find(deps, uow, principal, lookout_id)
            lk = stored.record
            if lk.organisation_id != principal.organisation_id or not principal.has(*ISSUERS):
                raise NotFound(f"Lookout {lookout_id} was not found.")
            lk.withdraw(principal.user_id, deps.now())
            uow.replace(LOOKOUTS.name, lk.organisation_id, dump(lk), if_match=stored.etag)
            deps.audit.record(
                uow,
                owner_org=lk.organisation_id,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="lookout.withdraw",
                entity=f"lookout/{lk.id}",
                fields=["withdrawn"],
            )
        return lk
