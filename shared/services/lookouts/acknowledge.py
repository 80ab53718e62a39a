"""Store staff acknowledge a lookout for their store: the issuer sees which stores have
seen it, when and by whom."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import NotFound
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.records import LOOKOUT_ACKNOWLEDGEMENTS
from shared.services.lookouts.deps import LookoutDeps, find, may_read_for_store
from shared.services.lookouts.read import acknowledgement_id
from shared.services.repository import body


@dataclass(frozen=True)
class Acknowledged:
    acknowledgement: dict[str, Any]
    created: bool  # False when the store had already acknowledged it


@dataclass
class AcknowledgeLookout:
    deps: LookoutDeps

    def acknowledge(self, principal: Principal, lookout_id: str, store_id: str) -> Acknowledged:
        """Record that `store_id`'s staff have seen an active lookout that reached it (once
        per store: a second acknowledgement answers the first). NotFound for a lookout the
        caller may not see, or one that lapsed, and for a store that is not theirs or that
        it did not reach."""
        deps = self.deps
        now = deps.now()
        with deps.records.unit_of_work() as uow:
            lk = find(deps, uow, principal, lookout_id).record
            store = deps.directory.store(store_id) if len(store_id) <= 64 else None
            if store is None or store_id not in lk.store_ids or not may_read_for_store(principal, store):
                raise NotFound(f"Lookout {lookout_id} did not reach a store of yours called {store_id}.")
            ack_id = acknowledgement_id(lk.id, store.id)
            existing = uow.get(LOOKOUT_ACKNOWLEDGEMENTS.name, lk.organisation_id, ack_id)
            if existing is not None:
                return Acknowledged(_public(existing), created=False)
            doc = {
                "id": ack_id,
                "lookout_id": lk.id,
                "store_id": store.id,
                "organisation_id": store.organisation_id,
                "acknowledged_by": principal.user_id,
                "acknowledged_at": to_iso(now),
            }
            uow.insert(LOOKOUT_ACKNOWLEDGEMENTS.name, lk.organisation_id, doc)
            deps.audit.record(
                uow,
                owner_org=lk.organisation_id,
                principal=principal,
                action=AuditAction.COLLECTION,
                operation="lookout.acknowledge",
                entity=f"lookout/{lk.id}",
                fields=["store_id"],
            )
        return Acknowledged(_public(doc), created=True)


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    d = body(doc)
    return {k: d.get(k) for k in ("lookout_id", "store_id", "organisation_id", "acknowledged_by", "acknowledged_at")}
