"""The audit trail: one hash-chained log per organisation, written in the same unit
of work as the processing it records, so there is no processing without its entry.

Retention prunes the oldest entries (`prune_prefix`) behind a chain anchor kept beside
the chain head (CHAIN_HEADS, id `anchor:audit`); `verify_chain` starts from it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from shared.domain.audit import (
    ANCHOR_ENTITY,
    AUDIT_CHAIN,
    AuditAction,
    anchor_subjects,
    attests,
    first_broken_link,
    link_hash,
    prunable_prefix,
)
from shared.domain.errors import Invalid
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import Clock, RecordStore, UnitOfWork, Where
from shared.records import AUDIT, CHAIN_HEADS

ANCHOR_ID = f"anchor:{AUDIT_CHAIN}"


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

    def anchor(self, uow: UnitOfWork, org_id: str) -> dict[str, Any] | None:
        """Where the organisation's chain starts after pruning (None if never pruned)."""
        return uow.get(CHAIN_HEADS.name, org_id, ANCHOR_ID)

    def verify_chain(self, org_id: str, *, batch: int = 1000) -> dict[str, Any]:
        """Walk the organisation's chain in order from its anchor (or its first entry);
        name the first entry that fails, and say what retention pruned before it."""
        checked = 0
        with self._records.unit_of_work() as uow:
            anchor = self.anchor(uow, org_id)
            prev_hash = anchor["hash"] if anchor else ""
            next_seq = anchor["seq"] + 1 if anchor else 1
            pruned = _anchor_view(anchor)
            if anchor is not None:
                # The newest pruning entry must name this anchor; one moved by hand does not.
                page = uow.query(
                    AUDIT.name,
                    [org_id],
                    [Where("chain", "eq", AUDIT_CHAIN), Where("entity", "eq", ANCHOR_ENTITY)],
                    order_by="seq",
                    descending=True,
                    limit=1,
                )
                if not attests(page.items[0] if page.items else None, anchor):
                    reason = f"the chain anchor (entries up to {anchor['seq']} pruned) is not attested by a pruning entry"
                    return {
                        "verified": False,
                        "entries_checked": 0,
                        "first_broken": {"seq": anchor["seq"], "id": None, "reason": reason},
                        "pruned": pruned,
                    }
            while True:
                page = uow.query(
                    AUDIT.name, [org_id], [Where("chain", "eq", AUDIT_CHAIN), Where("seq", "ge", next_seq)], order_by="seq", limit=batch
                )
                if not page.items:
                    break
                # A gap before the page is named as the missing entry, not as a bad link after it.
                if page.items[0]["seq"] != next_seq:
                    broken = {"seq": next_seq, "id": None, "reason": f"entry {next_seq} is missing"}
                else:
                    broken = first_broken_link(page.items, prev_hash)
                if broken:
                    return {
                        "verified": False,
                        "entries_checked": checked + broken["seq"] - next_seq,
                        "first_broken": broken,
                        "pruned": pruned,
                    }
                checked += len(page.items)
                prev_hash = page.items[-1]["hash"]
                next_seq = page.items[-1]["seq"] + 1
                if len(page.items) < batch:
                    break
        return {"verified": True, "entries_checked": checked, "first_broken": None, "pruned": pruned}

    def prune_prefix(
        self,
        uow: UnitOfWork,
        org_id: str,
        *,
        due: Callable[[dict[str, Any]], bool],
        limit: int,
        rule: str,
        schedule_version: str,
    ) -> list[dict[str, Any]]:
        """Remove up to `limit` of the oldest entries of the organisation's chain while each is
        `due`, as a prefix only, in the caller's unit of work; returns those removed.

        Moves the anchor to the last one removed first, then deletes, then appends a pruning
        entry attesting the anchor. Never prunes past a gap or a broken link (the break stays
        for `verify_chain` to name). Entries at or below the anchor left by an interrupted
        run on a store without transactions are removed without counting them again.
        """
        anchor = self.anchor(uow, org_id)
        base_seq = anchor["seq"] if anchor else 0
        base_hash = anchor["hash"] if anchor else ""
        where = [Where("chain", "eq", AUDIT_CHAIN)]
        # One read when nothing is due (the daily case): the oldest entry decides.
        oldest = uow.query(AUDIT.name, [org_id], where, order_by="seq", limit=1).items
        if not oldest or (oldest[0]["seq"] > base_seq and not due(oldest[0])):
            return []
        page = uow.query(AUDIT.name, [org_id], where, order_by="seq", limit=limit)
        leftovers = [e for e in page.items if e["seq"] <= base_seq]
        fresh = [e for e in page.items if e["seq"] > base_seq]
        removed = prunable_prefix(fresh, base_seq, base_hash, due)
        if leftovers:
            uow.delete_many(AUDIT.name, [(org_id, e["id"]) for e in leftovers])
        if not removed:
            return []
        last = removed[-1]
        count = (anchor.get("count", 0) if anchor else 0) + len(removed)
        now = to_iso(self._clock.now())
        uow.upsert(
            CHAIN_HEADS.name,
            org_id,
            {
                "id": ANCHOR_ID,
                "chain": AUDIT_CHAIN,
                "seq": last["seq"],
                "hash": last["hash"],
                "last_at": last["at"],
                "count": count,
                "pruned_at": now,
                "rule": rule,
                "schedule_version": schedule_version,
            },
        )
        uow.delete_many(AUDIT.name, [(org_id, e["id"]) for e in removed])
        self.record(
            uow,
            owner_org=org_id,
            principal=None,
            action=AuditAction.ERASURE,
            operation="retention.audit",
            entity=ANCHOR_ENTITY,
            subjects=anchor_subjects(last["seq"], last["hash"], count),
            purpose=rule,
            system_actor="retention-timer",
        )
        return removed


def _anchor_view(anchor: dict[str, Any] | None) -> dict[str, Any] | None:
    if anchor is None:
        return None
    return {k: anchor[k] for k in ("seq", "count", "last_at", "pruned_at", "rule", "schedule_version")}


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


def parse_entity(entity: str) -> str:
    if len(entity) > 200 or "/" not in entity:
        raise Invalid("entity must look like 'incident/<id>'.", errors=[{"field": "entity"}])
    return entity
