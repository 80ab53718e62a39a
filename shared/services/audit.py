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

Shards (docs/audit.md). The trail is `shards` independent hash chains (shard 0 is the
chain `audit`, so a trail written before sharding is its shard 0): a unit's entries go to
one shard, picked by the store so concurrent writers rarely move the same chain head.
Every walk covers every shard that exists (shared/services/audit_walk.py), whatever the
shard count is now.

Retention prunes the oldest entries of each shard (`prune_prefix`) behind that shard's
anchor kept beside its head (CHAIN_HEADS, id `anchor:audit`, `anchor:audit/<k>`);
`verify_chain` starts each shard from its anchor.

Verification (docs/audit.md). Entry hashes are keyed (HMAC under the chain keys), a walk
must reach the stored head, and it must pass through the state the newest write-once
checkpoint (shared/services/checkpoints.py) published. `verify_chain` walks the whole
chain (the daily `audit-verify` job, which records its result); `check` walks only from
the newest checkpoint to the head (what `GET /audit` shows, beside the last whole walk),
and `publish_checkpoint` publishes the next checkpoint once that walk verifies.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
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
    audit_linker,
    prunable_prefix,
    shard_chain,
)
from shared.domain.errors import Invalid
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import Clock, JobReport, Page, RecordStore, UnitOfWork, Where, iterate_all
from shared.records import AUDIT, CHAIN_HEADS
from shared.services import repository
from shared.services.audit_walk import CHAINS, Broken, anchor_id, shard_docs, walk
from shared.services.checkpoints import ChainCheckpoints, CheckpointInvalid

log = logging.getLogger("vigil.audit")

ANCHOR_ID = anchor_id(0)
# The result of the last whole-chain verification (the `audit-verify` job).
VERIFIED_ID = f"verified:{AUDIT_CHAIN}"


class _EntryIds:
    """Audit entry ids that sort in the order this process made them: the wall clock in
    nanoseconds (strictly increasing here), then 64 random bits. The trail is listed newest
    first by `at` then id, and entries made in one instant (or under a clock that does
    not move) still list in the order they were made; across processes, as the clocks say."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> str:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            now = self._last
        return f"{now:016x}{secrets.token_hex(8)}"


_ids = _EntryIds()


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
    def __init__(self, records: RecordStore, clock: Clock, keys: ChainKeys, checkpoints: ChainCheckpoints, *, shards: int = 1):
        self._records = records
        self._shards = shards
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
            "id": _ids.next(),
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
            self._records.journal(AUDIT.name, e.owner_org, AUDIT_CHAIN, entry, self._link, shards=self._shards)

    def link_pending(self, org_id: str) -> int:
        """Link the organisation's journaled entries into its chain; returns how many. Takes
        the write lock only when something is waiting."""
        with self._records.read_only() as uow:
            waiting = uow.journal_pending(AUDIT.name, org_id, AUDIT_CHAIN)
        if not waiting:
            return 0
        with self._records.unit_of_work() as uow:
            return uow.link_journal(AUDIT.name, org_id, AUDIT_CHAIN, self._link, shards=self._shards)

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
        """Append an entry to `owner_org`'s trail (the organisation whose data was processed),
        in the shard the store picks for this unit, after the entries reads journaled before it."""
        entry = self._entry(principal, action, operation, entity, fields, subjects, purpose, recipient_org, system_actor)
        uow.link_journal(AUDIT.name, owner_org, AUDIT_CHAIN, self._link, shards=self._shards)
        uow.append_chained(AUDIT.name, owner_org, AUDIT_CHAIN, entry, self._link, shards=self._shards)

    def entries(self, org_id: str, *, entity: str | None, limit: int, continuation: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Entries of an organisation's trail, newest first by time (the shards have no
        order between them but time), optionally for one entity (journaled entries linked
        first, so every entry shows)."""
        where = [Where("chain", "in", CHAINS)]
        if entity:
            where.append(Where("entity", "eq", entity))

        def page() -> Page:
            with self._records.read_only() as uow:
                return uow.query(AUDIT.name, [org_id], where, order_by="at", descending=True, limit=limit, continuation=continuation)

        # Read once before linking: a bad continuation is refused before anything is written.
        found = page()
        if self.link_pending(org_id):
            found = page()
        return [repository.body(e) for e in found.items], found.continuation

    def review(self, org_id: str, *, entity: str | None, limit: int, continuation: str | None) -> Review:
        """A page of entries (see `entries`) with the check of the chain (see `check`)."""
        items, token = self.entries(org_id, entity=entity, limit=limit, continuation=continuation)
        return Review(items=items, continuation=token, chain=self.check(org_id, link=False))

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
        if not result["reached"] or (latest is not None and latest["seq"] >= sum(seq for seq, _ in result["reached"].values())):
            return "unchanged", None
        published = self.checkpoints.publish(org_id, after=latest, shards=result["reached"])
        return ("published" if published else "unchanged"), published

    def organisations(self) -> list[str]:
        """Every organisation with an audit trail in this store (those with a shard head)."""
        with self._records.read_only() as uow:
            heads = iterate_all(uow, CHAIN_HEADS.name, None, [Where("id", "in", CHAINS)], limit=500)
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
        grown by at least `every` entries (journaled reads included, every shard counted)
        since its newest one, so a busy chain is pinned every `every` entries, not only once
        an hour. Chains below it are only counted: two reads each (the shard heads, in one
        query, and the newest checkpoint)."""
        report = JobReport(job="audit-checkpoint-due", as_of=as_of)
        counts = {"published": 0, "unchanged": 0, "not_verified": 0, "not_due": 0}
        for org_id in self.organisations():
            with self._records.read_only() as uow:
                heads, _ = shard_docs(uow, org_id)
                grown = sum(int(h["seq"]) for h in heads.values()) + uow.journal_pending(AUDIT.name, org_id, AUDIT_CHAIN)
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
        cp_view = None if checkpoint is None else {k: checkpoint[k] for k in ("number", "seq", "at")}
        result: dict[str, Any] = {"pruned": None, "checkpoint": cp_view}
        if bad_checkpoint is not None:
            broken = {"shard": None, "seq": None, "id": None, "reason": bad_checkpoint.reason}
            return dict(result, verified=False, entries_checked=0, first_broken=broken, reached=None)
        with self._records.read_only() as uow:
            try:
                checked, reached, anchors = walk(uow, self._keys, org_id, checkpoint, from_checkpoint=from_checkpoint, batch=batch)
            except Broken as broken:
                _, anchors = shard_docs(uow, org_id)
                result["pruned"] = _anchor_view(anchors)
                return dict(result, verified=False, entries_checked=broken.checked, first_broken=broken.where, reached=None)
        result["pruned"] = _anchor_view(anchors)
        return dict(result, verified=True, entries_checked=checked, first_broken=None, reached=reached or None)

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
        """Remove up to `limit` of the oldest entries of the organisation's trail while each is
        `due`, as a prefix of each shard only, in the caller's unit of work; returns those
        removed, shard by shard (each shard's in seq order).

        Per shard: moves its anchor to the last one removed first, then deletes, then appends
        to that same shard a pruning entry attesting the anchor. Never prunes past a gap or a
        broken link (the break stays for `verify_chain` to name). Entries at or below an
        anchor left by an interrupted run on a store without transactions are removed
        without counting them again.
        """
        heads, anchors = shard_docs(uow, org_id)
        removed: list[dict[str, Any]] = []
        for shard in sorted(heads):
            if len(removed) >= limit:
                break
            removed += self._prune_shard(
                uow, org_id, shard, anchors.get(shard), due=due, limit=limit - len(removed), rule=rule, schedule_version=schedule_version
            )
        return removed

    def _prune_shard(
        self,
        uow: UnitOfWork,
        org_id: str,
        shard: int,
        anchor: dict[str, Any] | None,
        *,
        due: Callable[[dict[str, Any]], bool],
        limit: int,
        rule: str,
        schedule_version: str,
    ) -> list[dict[str, Any]]:
        chain = shard_chain(AUDIT_CHAIN, shard)
        base_seq = anchor["seq"] if anchor else 0
        base_hash = anchor["hash"] if anchor else ""
        where = [Where("chain", "eq", chain)]
        # One read when nothing is due: the shard's oldest entry decides.
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
                "id": anchor_id(shard),
                "chain": chain,
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
        # The pruning entry goes to this shard itself (shards=1 names the chain exactly): a
        # shard's anchor is attested within the shard, never lost to another's pruning.
        entry = self._entry(
            None,
            AuditAction.ERASURE,
            "retention.audit",
            ANCHOR_ENTITY,
            (),
            anchor_subjects(last["seq"], last["hash"], count),
            rule,
            None,
            "retention-timer",
        )
        uow.append_chained(AUDIT.name, org_id, chain, entry, self._link)
        return removed


def _anchor_view(anchors: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    """What retention pruned from the trail: the newest pruning's rule and time, counts and
    seqs summed over the shards (one shard: its anchor as it is), each shard's under `shards`."""
    if not anchors:
        return None
    newest = max(anchors.values(), key=lambda a: str(a.get("pruned_at")))
    view = {k: newest[k] for k in ("pruned_at", "rule", "schedule_version")}
    view["seq"] = sum(int(a["seq"]) for a in anchors.values())
    view["count"] = sum(int(a.get("count", 0)) for a in anchors.values())
    view["last_at"] = max(str(a["last_at"]) for a in anchors.values())
    if set(anchors) != {0}:
        view["shards"] = {str(k): int(a["seq"]) for k, a in sorted(anchors.items())}
    return view


def parse_entity(entity: str) -> str:
    if len(entity) > 200 or "/" not in entity:
        raise Invalid("entity must look like 'incident/<id>'.", errors=[{"field": "entity"}])
    return entity
