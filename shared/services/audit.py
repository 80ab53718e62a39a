"""The audit trail: one hash-chained log per organisation. There is no processing
without its entry: a change writes its entry in its own unit of work; a read writes its
entry durably before it answers.

Reads and the audit journal. A read runs in a read-only unit (`records.read_only()`),
which takes no write lock, so a GET does not queue behind writes. Its entries cannot be
chained there (a chain append needs the chain head, which writers move), so they go to
the store's audit journal (`RecordStore.journal`): durable before the answer leaves,
outside any unit, never waiting for the write lock (locally a separate SQLite file; on
Cosmos the entry is appended to the chain at once, which takes no store-wide lock). A
journaled entry is linked into its organisation's chain, in the order journaled and
exactly once, by the next unit that appends to that chain (`record` links first), and
before the chain is shown or verified (`review`, `verify_chain`, `link_pending`).

To convert a read of another capability:

    with records.read_only() as uow:
        ...read, decide what the caller sees...
    audit.record_read(principal, [ReadEntry(owner_org=..., action=AuditAction.CONSULTATION,
                                            operation="thing.read", entity=f"thing/{id}")])
    return answer

Retention prunes the oldest entries (`prune_prefix`) behind a chain anchor kept beside
the chain head (CHAIN_HEADS, id `anchor:audit`); `verify_chain` starts from it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
from shared.ports import Clock, Page, RecordStore, UnitOfWork, Where
from shared.records import AUDIT, CHAIN_HEADS
from shared.services import repository

ANCHOR_ID = f"anchor:{AUDIT_CHAIN}"


@dataclass(frozen=True)
class ReadEntry:
    """One audit entry a read makes (see `AuditTrail.record_read`)."""

    owner_org: str
    action: AuditAction
    operation: str
    entity: str
    fields: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    purpose: str | None = None
    recipient_org: str | None = None


@dataclass(frozen=True)
class Review:
    """A page of an organisation's entries, newest first, and the check of its whole chain."""

    items: list[dict[str, Any]]
    continuation: str | None
    chain: dict[str, Any]


class AuditTrail:
    def __init__(self, records: RecordStore, clock: Clock):
        self._records = records
        self._clock = clock

    def _entry(
        self,
        principal: Principal | None,
        action: AuditAction,
        operation: str,
        entity: str,
        fields: Sequence[str],
        subjects: Sequence[str],
        purpose: str | None,
        recipient_org: str | None,
        system_actor: str,
    ) -> dict[str, Any]:
        return {
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

    def record_read(self, principal: Principal, entries: Sequence[ReadEntry]) -> None:
        """Journal the entries of a read, durably, before the read answers (no unit of work:
        the read's own unit is read-only). Each is linked into its owner's chain later."""
        for e in entries:
            entry = self._entry(principal, e.action, e.operation, e.entity, e.fields, e.subjects, e.purpose, e.recipient_org, "system")
            self._records.journal(AUDIT.name, e.owner_org, AUDIT_CHAIN, entry, link_hash)

    def link_pending(self, org_id: str) -> int:
        """Link the organisation's journaled entries into its chain; returns how many. Takes
        the write lock only when something is waiting."""
        with self._records.read_only() as uow:
            waiting = uow.journal_pending(AUDIT.name, org_id, AUDIT_CHAIN)
        if not waiting:
            return 0
        with self._records.unit_of_work() as uow:
            return uow.link_journal(AUDIT.name, org_id, AUDIT_CHAIN, link_hash)

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
        """Append an entry to `owner_org`'s chain (the organisation whose data was processed),
        after the entries reads journaled before it."""
        entry = self._entry(principal, action, operation, entity, fields, subjects, purpose, recipient_org, system_actor)
        uow.link_journal(AUDIT.name, owner_org, AUDIT_CHAIN, link_hash)
        uow.append_chained(AUDIT.name, owner_org, AUDIT_CHAIN, entry, link_hash)

    def entries(self, org_id: str, *, entity: str | None, limit: int, continuation: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Entries of an organisation's chain, newest first, optionally for one entity
        (journaled entries linked first, so every entry shows)."""
        where = [Where("chain", "eq", AUDIT_CHAIN)]
        if entity:
            where.append(Where("entity", "eq", entity))

        def page() -> Page:
            with self._records.read_only() as uow:
                return uow.query(AUDIT.name, [org_id], where, order_by="seq", descending=True, limit=limit, continuation=continuation)

        # Read once before linking: a bad continuation is refused before anything is written.
        found = page()
        if self.link_pending(org_id):
            found = page()
        return [repository.body(e) for e in found.items], found.continuation

    def review(self, org_id: str, *, entity: str | None, limit: int, continuation: str | None) -> Review:
        """A page of entries (see `entries`) with the verification of the whole chain."""
        items, token = self.entries(org_id, entity=entity, limit=limit, continuation=continuation)
        return Review(items=items, continuation=token, chain=self.verify_chain(org_id, link=False))

    def anchor(self, uow: UnitOfWork, org_id: str) -> dict[str, Any] | None:
        """Where the organisation's chain starts after pruning (None if never pruned)."""
        return uow.get(CHAIN_HEADS.name, org_id, ANCHOR_ID)

    def verify_chain(self, org_id: str, *, batch: int = 1000, link: bool = True) -> dict[str, Any]:
        """Walk the organisation's chain in order from its anchor (or its first entry), after
        linking what reads journaled; name the first entry that fails, and say what retention
        pruned before it."""
        if link:
            self.link_pending(org_id)
        checked = 0
        with self._records.read_only() as uow:
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


def parse_entity(entity: str) -> str:
    if len(entity) > 200 or "/" not in entity:
        raise Invalid("entity must look like 'incident/<id>'.", errors=[{"field": "entity"}])
    return entity
