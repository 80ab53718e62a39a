"""The ANPR unlinked-hit lane: hits linked to no incident go once the ANPR-hit period
has passed since the read. Linked hits are kept with their incidents (and go with them).
Found through (linked, captured_at), so the cost follows what is due.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.domain.retention import RecordType
from shared.domain.timestamps import from_iso
from shared.ports import Page, UnitOfWork, Where
from shared.records import ANPR_HITS
from shared.services.retention.lanes import Batch, LaneRun, Scope


class UnlinkedHitLane:
    record_type: RecordType = RecordType.ANPR_HIT
    scope: Scope = "retailers"
    counts: tuple[str, ...] = ("unlinked_hits_deleted",)
    pages_on: bool = False  # every due hit is deleted

    def batch_size(self, deps: Any) -> int:
        return deps.batch

    def due(self, uow: UnitOfWork, run: LaneRun, continuation: str | None) -> Page:
        where = [Where("linked", "eq", False), Where("captured_at", "le", run.cutoff)]
        return uow.query(ANPR_HITS.name, [run.org], where, order_by="captured_at", limit=run.batch, continuation=continuation)

    def basis(self, item: dict[str, Any]) -> datetime:
        return from_iso(item["captured_at"])

    def apply(self, uow: UnitOfWork, run: LaneRun, items: Sequence[dict[str, Any]]) -> Batch:
        due = [h["id"] for h in items]
        uow.delete_many(ANPR_HITS.name, [(run.org, i) for i in due])
        run.erased(uow, operation="retention.anpr_hit", entity="anpr_hit", subjects=due, count="unlinked_hits_deleted")
        return Batch(handled=len(due))
