"""The ANPR unlinked-hit lane: hits linked to no incident go once the ANPR-hit period
has passed since the read. Linked hits are kept with their incidents (and go with them).
Found through (linked, captured_at), so the cost follows what is due.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.domain.retention import RecordType
from shared.ports import UnitOfWork, Where
from shared.records import ANPR_HITS
from shared.services.retention.lanes import Batch, Lane, LaneRecords, LaneRun


class UnlinkedHitLane(Lane):
    record_type = RecordType.ANPR_HIT
    counts = ("unlinked_hits_deleted",)
    pages_on = False  # every due hit is deleted
    records = LaneRecords(ANPR_HITS.name, "captured_at", (Where("linked", "eq", False),))

    def apply(self, uow: UnitOfWork, run: LaneRun, items: Sequence[dict[str, Any]]) -> Batch:
        due = [h["id"] for h in items]
        uow.delete_many(ANPR_HITS.name, [(run.org, i) for i in due])
        run.erased(uow, operation="retention.anpr_hit", entity="anpr_hit", subjects=due, count="unlinked_hits_deleted")
        return Batch(handled=len(due))
