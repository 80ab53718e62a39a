"""The audit lane: each organisation's audit chain loses its oldest entries once they are
older than its audit period, as a prefix only, behind a chain anchor
(shared/services/audit.py). Each batch leaves a tombstone of type `audit_entries` (counts
and seq range, nothing personal) and a pruning entry in the chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.domain.audit import AUDIT_CHAIN
from shared.domain.retention import RecordType, Tombstone, is_due, tombstone_id
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import Page, UnitOfWork, Where
from shared.records import AUDIT
from shared.services.retention import tombstones
from shared.services.retention.deps import RetentionDeps
from shared.services.retention.lanes import Batch, Lane, LaneRecords, LaneRun, Scope


class AuditLane(Lane):
    record_type = RecordType.AUDIT
    scope: Scope = "homed"
    counts = ("audit_entries_pruned",)
    pages_on = False  # pruned entries leave the chain
    records = LaneRecords(AUDIT.name, "at", (Where("chain", "eq", AUDIT_CHAIN),))

    def batch_size(self, deps: RetentionDeps) -> int:
        return deps.audit_batch

    def due(self, uow: UnitOfWork, run: LaneRun, continuation: str | None) -> Page:
        where = [Where("chain", "eq", AUDIT_CHAIN)]
        # The daily case has nothing due: the oldest entry alone says so, in one small read.
        oldest = uow.query(AUDIT.name, [run.org], where, order_by="seq", limit=1)
        if not oldest.items or not is_due(self.basis(oldest.items[0]), run.months, run.as_of):
            return oldest
        return uow.query(AUDIT.name, [run.org], where, order_by="seq", limit=run.batch, continuation=continuation)

    def apply(self, uow: UnitOfWork, run: LaneRun, items: Sequence[dict[str, Any]]) -> Batch:
        def due(entry: dict[str, Any]) -> bool:
            return is_due(from_iso(entry["at"]), run.months, run.as_of)

        removed = run.audit.prune_prefix(uow, run.org, due=due, limit=run.batch, rule=run.rule, schedule_version=run.schedule.version)
        if removed:
            first, last = removed[0]["seq"], removed[-1]["seq"]
            tombstones.write(
                uow,
                run.org,
                Tombstone(
                    id=tombstone_id("audit_entries", f"{first:012d}-{last:012d}"),
                    entity_id=f"audit/{first}-{last}",
                    type="audit_entries",
                    deleted_at=to_iso(run.deps.clock.now()),
                    rule=run.rule,
                    schedule_version=run.schedule.version,
                    cause="schedule",
                    request_id=None,
                    count=len(removed),
                    first_seq=first,
                    last_seq=last,
                ),
            )
        run.add("audit_entries_pruned", len(removed))
        return Batch(handled=len(removed))
