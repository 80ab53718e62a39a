"""The lookout retention lane: a lookout goes, with its acknowledgements, once its
retention basis (its expiry, or its withdrawal if earlier) is the lookout period old,
leaving a tombstone. Lookouts hold no copy of the person's details (readers see the
profile as it stands), so what goes is who was warned, why, and who acknowledged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.domain.retention import RecordType, Tombstone, tombstone_id
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import Page, UnitOfWork, Where, iterate_all
from shared.records import LOOKOUT_ACKNOWLEDGEMENTS, LOOKOUTS
from shared.services.retention import tombstones
from shared.services.retention.lanes import Batch, LaneRun, Scope


class LookoutLane:
    record_type: RecordType = RecordType.LOOKOUT
    # Retailers and forces both issue lookouts.
    scope: Scope = "homed"
    counts: tuple[str, ...] = ("lookouts_deleted",)
    pages_on: bool = False  # every due lookout goes: nothing is passed over

    def batch_size(self, deps: Any) -> int:
        return deps.batch

    def due(self, uow: UnitOfWork, run: LaneRun, continuation: str | None) -> Page:
        where = [Where("retention_basis", "le", run.cutoff)]
        return uow.query(LOOKOUTS.name, [run.org], where, order_by="retention_basis", limit=run.batch, continuation=continuation)

    def basis(self, item: dict[str, Any]) -> datetime:
        return from_iso(item["retention_basis"])

    def apply(self, uow: UnitOfWork, run: LaneRun, items: Sequence[dict[str, Any]]) -> Batch:
        gone = []
        for lookout in items:
            for ack in list(iterate_all(uow, LOOKOUT_ACKNOWLEDGEMENTS.name, [run.org], [Where("lookout_id", "eq", lookout["id"])])):
                uow.delete(LOOKOUT_ACKNOWLEDGEMENTS.name, run.org, ack["id"])
            if not tombstones.exists(uow, run.org, RecordType.LOOKOUT.value, lookout["id"]):
                tombstones.write(
                    uow,
                    run.org,
                    Tombstone(
                        id=tombstone_id(RecordType.LOOKOUT.value, lookout["id"]),
                        entity_id=lookout["id"],
                        type=RecordType.LOOKOUT.value,
                        deleted_at=to_iso(run.as_of),
                        rule=run.rule,
                        schedule_version=run.schedule.version,
                        cause="schedule",
                    ),
                )
            uow.delete(LOOKOUTS.name, run.org, lookout["id"])
            gone.append(lookout["id"])
        run.erased(uow, operation="retention.lookout", entity="lookout", subjects=gone, count="lookouts_deleted")
        return Batch(handled=len(gone))
