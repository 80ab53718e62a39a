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

Verification (docs/audit.md). Entry hashes are keyed (HMAC under the chain keys), a walk
must reach the stored head, and it must pass through the state the newest write-once
checkpoint (shared/services/checkpoints.py) published. `verify_chain` walks the whole
chain (the daily `audit-verify` job, which records its result); `check` walks only from
the newest checkpoint to the head (what `GET /audit` shows, beside the last whole walk),
and `publish_checkpoint` publishes the next checkpoint once that walk verifies.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.domain.audit import (
    ANCHOR_ENTITY,
    AUDIT_CHAIN,
    AuditAction,
    ChainKeys,
    anchor_subjects,
    attests,
    audit_linker,
    checkpoint_problem,
    entry_problem,
    first_broken_link,
    head_problem,
    prunable_prefix,
)
from shared.domain.errors import Invalid
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import Clock, JobReport, Page, RecordStore, UnitOfWork, Where, iterate_all
from shared.records import AUDIT, CHAIN_HEADS
from shared.services import repository
from shared.services.checkpoints import ChainCheckpoints, CheckpointInvalid

log = logging.getLogger("vigil.audit")

ANCHOR_ID = f"anchor:{AUDIT_CHAIN}"
# The result of the last whole-chain verification (the `audit-verify` job).
VERIFIED_ID = f"verified:{AUDIT_CHAIN}"


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
    def __init__(self, records: RecordStore, clock: Clock, keys: ChainKeys, checkpoints: ChainCheckpoints):
        self._records = records
        self._clock = clock
        self._keys = keys
        self._link = audit_linker(keys)
        self.checkpoints = checkpoints

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
            "key_id": self._keys.current,
        }

    def record_read(self, principal: Principal, entries: Sequence[ReadEntry]) -> None:
        """Journal the entries of a read, durably, before the read answers (no unit of work:
        the read's own unit is read-only). Each is linked into its owner's chain later."""
        for e in entries:
            entry = self._entry(principal, e.action, e.operation, e.entity, e.fields, e.subjects, e.purpose, e.recipient_org, "system")
            self._records.journal(AUDIT.name, e.owner_org, AUDIT_CHAIN, entry, self._link)

    def link_pending(self, org_id: str) -> int:
        """Link the organisation's journaled entries into its chain; returns how many. Takes
        the write lock only when something is waiting."""
        with self._records.read_only() as uow:
            waiting = uow.journal_pending(AUDIT.name, org_id, AUDIT_CHAIN)
        if not waiting:
            return 0
        with self._records.unit_of_work() as uow:
            return uow.link_journal(AUDIT.name, org_id, AUDIT_CHAIN, self._link)

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
        uow.link_journal(AUDIT.name, owner_org, AUDIT_CHAIN, self._link)
        uow.append_chained(AUDIT.name, owner_org, AUDIT_CHAIN, entry, self._link)

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
        """A page of entries (see `entries`) with the check of the chain (see `check`)."""
        items, token = self.entries(org_id, entity=entity, limit=limit, continuation=continuation)
        return Review(items=items, continuation=token, chain=self.check(org_id, link=False))

    def anchor(self, uow: UnitOfWork, org_id: str) -> dict[str, Any] | None:
        """Where the organisation's chain starts after pruning (None if never pruned)."""
        return uow.get(CHAIN_HEADS.name, org_id, ANCHOR_ID)

    def verify_chain(self, org_id: str, *, batch: int = 1000, link: bool = True) -> dict[str, Any]:
        """Walk the organisation's whole chain in order from its anchor (or its first entry)
        to its stored head, after linking what reads journaled, checking each keyed hash and
        that the chain still holds what the newest checkpoint published; name the first
        entry that fails, and say what retention pruned before it."""
        return self._walk(org_id, batch=batch, link=link, from_checkpoint=False)

    def check(self, org_id: str, *, batch: int = 1000, link: bool = True) -> dict[str, Any]:
        """The chain's check as a reader sees it: the entries since the newest checkpoint
        walked now (everything before it was verified when it was published), with the
        last whole-chain verification beside it; `verified` only when both hold."""
        tail = self._walk(org_id, batch=batch, link=link, from_checkpoint=True)
        with self._records.read_only() as uow:
            last = uow.get(CHAIN_HEADS.name, org_id, VERIFIED_ID)
        full = None
        if last is not None:
            full = {k: last.get(k) for k in ("at", "verified", "entries_checked", "first_broken")}
        tail.pop("reached")
        return dict(tail, verified=tail["verified"] and (full is None or bool(full["verified"])), full_verification=full)

    def verify_and_record(self, org_id: str) -> dict[str, Any]:
        """Walk the whole chain (`verify_chain`) and keep the result for `check` to show."""
        result = self.verify_chain(org_id)
        with self._records.unit_of_work() as uow:
            uow.upsert(
                CHAIN_HEADS.name,
                org_id,
                {
                    "id": VERIFIED_ID,
                    "at": to_iso(self._clock.now()),
                    "verified": result["verified"],
                    "entries_checked": result["entries_checked"],
                    "first_broken": result["first_broken"],
                },
            )
        return result

    def publish_checkpoint(self, org_id: str) -> tuple[str, dict[str, Any] | None]:
        """Publish the next write-once checkpoint of the chain once the entries since the
        last one verify. Returns what happened ("published", "unchanged": nothing new or
        another process published it, "not_verified": the break stays for `check` to name
        and nothing vouches for it) and the checkpoint published, if any."""
        result = self._walk(org_id, batch=1000, link=True, from_checkpoint=True)
        if not result["verified"]:
            return "not_verified", None
        latest = result["checkpoint"]
        if not result["reached"] or (latest is not None and latest["seq"] >= result["reached"][0]):
            return "unchanged", None
        seq, hash_ = result["reached"]
        published = self.checkpoints.publish(org_id, after=latest, seq=seq, hash_=hash_)
        return ("published" if published else "unchanged"), published

    def organisations(self) -> list[str]:
        """Every organisation with an audit chain in this store (those with a chain head)."""
        with self._records.read_only() as uow:
            heads = iterate_all(uow, CHAIN_HEADS.name, None, [Where("id", "eq", AUDIT_CHAIN)], limit=500)
            return sorted({repository.tenant(h) for h in heads})

    def checkpoint_all(self, as_of: datetime) -> JobReport:
        """The `audit-checkpoint` job: for each chain, publish the next checkpoint once the
        entries since the last one verify. A chain that does not verify gets none, and is
        counted and logged (no personal data) for someone to look at."""
        report = JobReport(job="audit-checkpoint", as_of=as_of)
        counts = {"published": 0, "unchanged": 0, "not_verified": 0}
        for org_id in self.organisations():
            outcome, _ = self.publish_checkpoint(org_id)
            counts[outcome] += 1
            if outcome == "not_verified":
                log.warning("audit chain does not verify; no checkpoint published", extra={"organisation": org_id})
        report.counts.update(counts)
        return report

    def checkpoint_due(self, as_of: datetime, *, every: int) -> JobReport:
        """The `audit-checkpoint-due` job: publish the next checkpoint of each chain that has
        grown by at least `every` entries (journaled reads included) since its newest one,
        so a busy chain is pinned every `every` entries, not only once an hour. Chains below
        it are only counted: two reads each (the head and the newest checkpoint)."""
        report = JobReport(job="audit-checkpoint-due", as_of=as_of)
        counts = {"published": 0, "unchanged": 0, "not_verified": 0, "not_due": 0}
        for org_id in self.organisations():
            with self._records.read_only() as uow:
                head = uow.get(CHAIN_HEADS.name, org_id, AUDIT_CHAIN)
                grown = (int(head["seq"]) if head else 0) + uow.journal_pending(AUDIT.name, org_id, AUDIT_CHAIN)
            try:
                latest = self.checkpoints.latest(org_id)
            except CheckpointInvalid:
                latest = None  # publish_checkpoint's walk names it and publishes nothing
            if grown - (int(latest["seq"]) if latest else 0) < every:
                counts["not_due"] += 1
                continue
            outcome, _ = self.publish_checkpoint(org_id)
            counts[outcome] += 1
            if outcome == "not_verified":
                log.warning("audit chain does not verify; no checkpoint published", extra={"organisation": org_id})
        report.counts.update(counts)
        return report

    def verify_all(self, as_of: datetime) -> JobReport:
        """The `audit-verify` job: walk every chain whole and record the result, which
        `GET /audit` shows beside its check of the entries since the newest checkpoint."""
        report = JobReport(job="audit-verify", as_of=as_of)
        counts = {"verified": 0, "not_verified": 0, "entries_checked": 0}
        for org_id in self.organisations():
            result = self.verify_and_record(org_id)
            counts["entries_checked"] += result["entries_checked"]
            if result["verified"]:
                counts["verified"] += 1
            else:
                counts["not_verified"] += 1
                log.warning("audit chain does not verify", extra={"organisation": org_id, "seq": result["first_broken"]["seq"]})
        report.counts.update(counts)
        return report

    def _walk(self, org_id: str, *, batch: int, link: bool, from_checkpoint: bool) -> dict[str, Any]:
        if link:
            self.link_pending(org_id)
        try:
            checkpoint = self.checkpoints.latest(org_id)
        except CheckpointInvalid as bad:
            checkpoint, bad_checkpoint = None, bad
        else:
            bad_checkpoint = None
        checked = 0
        with self._records.read_only() as uow:
            # The head first: whatever is appended while walking lies beyond it.
            head = uow.get(CHAIN_HEADS.name, org_id, AUDIT_CHAIN)
            anchor = self.anchor(uow, org_id)
            pruned = _anchor_view(anchor)
            cp_view = None if checkpoint is None else {k: checkpoint[k] for k in ("number", "seq", "at")}

            def failed(broken: dict[str, Any], checked: int) -> dict[str, Any]:
                return {
                    "verified": False,
                    "entries_checked": checked,
                    "first_broken": broken,
                    "pruned": pruned,
                    "checkpoint": cp_view,
                    "reached": None,
                }

            if bad_checkpoint is not None:
                return failed({"seq": None, "id": None, "reason": bad_checkpoint.reason}, 0)
            prev_hash = anchor["hash"] if anchor else ""
            prev_seq = anchor["seq"] if anchor else 0
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
                    return failed({"seq": anchor["seq"], "id": None, "reason": reason}, 0)
            at_checkpoint = prev_hash if checkpoint is not None and checkpoint["seq"] == prev_seq else None
            if from_checkpoint and checkpoint is not None and checkpoint["seq"] > prev_seq:
                # Start at the checkpointed entry: it must still be there, as published.
                found = uow.query(
                    AUDIT.name,
                    [org_id],
                    [Where("chain", "eq", AUDIT_CHAIN), Where("seq", "eq", checkpoint["seq"])],
                    order_by="seq",
                    limit=1,
                ).items
                entry = found[0] if found else None
                if entry is None:
                    reason = f"entry {checkpoint['seq']} is missing (checkpoint {checkpoint['number']} published it)"
                    return failed({"seq": checkpoint["seq"], "id": None, "reason": reason}, 0)
                problem = entry_problem(self._keys, entry, str(entry.get("prev_hash")))
                if problem is None and entry["hash"] != checkpoint["hash"]:
                    problem = f"differs from what checkpoint {checkpoint['number']} published"
                if problem:
                    return failed({"seq": entry["seq"], "id": entry["id"], "reason": problem}, 0)
                prev_seq, prev_hash, at_checkpoint, checked = entry["seq"], entry["hash"], entry["hash"], 1
            while True:
                page = uow.query(
                    AUDIT.name, [org_id], [Where("chain", "eq", AUDIT_CHAIN), Where("seq", "ge", prev_seq + 1)], order_by="seq", limit=batch
                )
                if not page.items:
                    break
                # A gap before the page is named as the missing entry, not as a bad link after it.
                if page.items[0]["seq"] != prev_seq + 1:
                    broken = {"seq": prev_seq + 1, "id": None, "reason": f"entry {prev_seq + 1} is missing"}
                else:
                    broken = first_broken_link(self._keys, page.items, prev_hash)
                if broken:
                    return failed(broken, checked + broken["seq"] - prev_seq - 1)
                if checkpoint is not None:
                    at_checkpoint = next((e["hash"] for e in page.items if e["seq"] == checkpoint["seq"]), at_checkpoint)
                checked += len(page.items)
                prev_hash = page.items[-1]["hash"]
                prev_seq = page.items[-1]["seq"]
                if len(page.items) < batch:
                    break
            broken = head_problem(prev_seq, prev_hash, head) or checkpoint_problem(prev_seq, at_checkpoint, checkpoint)
            if broken:
                return failed(broken, checked)
        return {
            "verified": True,
            "entries_checked": checked,
            "first_broken": None,
            "pruned": pruned,
            "checkpoint": cp_view,
            "reached": (prev_seq, prev_hash) if prev_seq else None,
        }

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
        removed = prunable_prefix(self._keys, fresh, base_seq, base_hash, due)
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
