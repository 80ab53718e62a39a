"""The audit trail: one hash-chained log per organisation, written in the same unit
of work as the processing it records, so there is no processing without its entry."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from shared.domain.audit import AUDIT_CHAIN, AuditAction, first_broken_link, link_hash
from shared.domain.clock import to_iso
from shared.domain.errors import Invalid
from shared.domain.tenancy import Principal
from shared.ports import Clock, RecordStore, UnitOfWork, Where
from shared.records import AUDIT


class AuditTrail:
    def __init__(self, records: RecordStore, clock: Clock):
        self._records = records
        self._clock = clock

    def record(
        self,
        uow: UnitOfWork,
        *,
        owner_org: str,
        principal: Principal | None,
        action: AuditAction,
        operation: str,
        entity: str,
        fields: Sequence[str] = (),
        subjects: Sequence[str] = (),
        purpose: str | None = None,
        recipient_org: str | None = None,
        system_actor: str = "system",
    ) -> None:
        """Append an entry to `owner_org`'s chain: the organisation whose data was processed."""
        entry: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "at": to_iso(self._clock.now()),
            "actor_user": principal.user_id if principal else system_actor,
            "actor_org": principal.organisation_id if principal else "_platform",
            "actor_role": principal.primary_role if principal else "system",
            "action": action.value,
            "operation": operation,
            "entity": entity,
            "fields": sorted(fields),
            "subjects": list(subjects),
            "purpose": purpose,
            "recipient_org": recipient_org,
        }
        uow.append_chained(AUDIT.name, owner_org, AUDIT_CHAIN, entry, link_hash)

    def entries(self, org_id: str, *, entity: str | None, limit: int, continuation: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Entries of an organisation's chain, newest first, optionally for one entity."""
        where = [Where("chain", "eq", AUDIT_CHAIN)]
        if entity:
            where.append(Where("entity", "eq", entity))
        with self._records.unit_of_work() as uow:
            page = uow.query(AUDIT.name, [org_id], where, order_by="seq", descending=True, limit=limit, continuation=continuation)
        return [_public(e) for e in page.items], page.continuation

    def verify_chain(self, org_id: str, *, batch: int = 1000) -> dict[str, Any]:
        """Walk the organisation's whole chain in order; name the first entry that fails."""
        checked = 0
        prev_hash = ""
        next_seq = 1
        with self._records.unit_of_work() as uow:
            while True:
                page = uow.query(
                    AUDIT.name, [org_id], [Where("chain", "eq", AUDIT_CHAIN), Where("seq", "ge", next_seq)], order_by="seq", limit=batch
                )
                if not page.items:
                    break
                broken = first_broken_link(page.items, prev_hash)
                if broken is None and page.items[0]["seq"] != next_seq:
                    broken = {"seq": next_seq, "id": None, "reason": f"entry {next_seq} is missing"}
                if broken:
                    return {"verified": False, "entries_checked": checked + broken["seq"] - next_seq, "first_broken": broken}
                checked += len(page.items)
                prev_hash = page.items[-1]["hash"]
                next_seq = page.items[-1]["seq"] + 1
                if len(page.items) < batch:
                    break
        return {"verified": True, "entries_checked": checked, "first_broken": None}


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


def parse_entity(entity: str) -> str:
    if len(entity) > 200 or "/" not in entity:
        raise Invalid("entity must look like 'incident/<id>'.", errors=[{"field": "entity"}])
    return entity

