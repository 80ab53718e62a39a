"""Reading footage requests: one, or a page of the force's own (or the retailer's, to its stores)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.audit import AuditAction
from shared.domain.errors import NotFound
from shared.domain.footage import FootageRequest, FootageStatus
from shared.domain.tenancy import Principal, Role
from shared.ports import Where
from shared.records import FOOTAGE_REQUESTS
from shared.services.audit import ReadEntry
from shared.services.d2p.deps import retailers_in_area
from shared.services.footage.deps import FootageDeps, find
from shared.services.repository import body


@dataclass(frozen=True)
class FootagePage:
    items: list[FootageRequest]
    continuation: str | None


@dataclass
class ReadRequests:
    deps: FootageDeps

    def get(self, principal: Principal, request_id: str) -> FootageRequest:
        """One request as the caller may see it (404 for anyone else); the read is audited
        in the retailer's trail, a disclosure when the force reads the store's answer."""
        with self.deps.records.read_only() as uow:
            request = find(uow, principal, request_id).record
        own = principal.organisation_id == request.organisation_id
        self.deps.audit.record_read(
            principal,
            [
                ReadEntry(
                    owner_org=request.organisation_id,
                    action=AuditAction.CONSULTATION if own else AuditAction.DISCLOSURE,
                    operation="footage_request.read",
                    entity=f"footage_request/{request.id}",
                    subjects=[request.incident_id] if request.incident_id else [],
                    recipient_org=None if own else principal.organisation_id,
                )
            ],
        )
        return request

    def list(
        self, principal: Principal, *, status: FootageStatus | None = None, limit: int = 50, continuation: str | None = None
    ) -> FootagePage:
        """Newest first: a force's own requests; a retailer's requests to its stores (store
        staff see their own stores' only)."""
        where = [Where("status", "eq", status.value)] if status else []
        with self.deps.records.read_only() as uow:
            if principal.is_police:
                owners = retailers_in_area(uow, principal.organisation_id)
                where.append(Where("force_id", "eq", principal.organisation_id))
            elif principal.is_retailer:
                owners = [principal.organisation_id]
                if not principal.has(Role.RETAILER_INVESTIGATOR, Role.RETAILER_ADMIN):
                    if not principal.stores:
                        return FootagePage([], None)
                    where.append(Where("store_id", "in", sorted(principal.stores)))
            else:
                raise NotFound("There are no footage requests for you.")
            if not owners:
                return FootagePage([], None)
            page = uow.query(
                FOOTAGE_REQUESTS.name, owners, where, order_by="created_at", descending=True, limit=limit, continuation=continuation
            )
        return FootagePage([FootageRequest.model_validate(body(d)) for d in page.items], page.continuation)
