"""A force calls off its request: the store is told, and nothing more may be supplied."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.audit import AuditAction
from shared.domain.errors import NotFound
from shared.domain.footage import FootageRequest
from shared.domain.tenancy import Principal
from shared.services.footage.deps import FootageDeps, find, owe_mail, replace


@dataclass
class WithdrawRequest:
    deps: FootageDeps

    def withdraw(self, principal: Principal, request_id: str, reason: str | None) -> FootageRequest:
        """Withdraw an open request (Conflict once it is answered or closed); only the force that asked."""
        deps = self.deps
        with deps.records.unit_of_work() as uow:
            stored = find(uow, principal, request_id)
            if not principal.is_police:
                raise NotFound(f"Footage request {request_id} was not found.")
            stored.record.withdraw(reason, now=deps.now())
            replace(uow, stored)
            message_id = owe_mail(deps, uow, stored.record, "withdrawn")
            deps.audit.record(
                uow,
                owner_org=stored.record.organisation_id,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="footage_request.withdraw",
                entity=f"footage_request/{request_id}",
                fields=["status", "withdrawn_reason"],
            )
        deps.outbox.relay_now(stored.record.organisation_id, [message_id])
        return stored.record
