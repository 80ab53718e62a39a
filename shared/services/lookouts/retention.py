"""The lookout retention lane: a lookout goes, with its acknowledgements, once its
retention basis (its expiry, or its withdrawal if earlier) is the lookout period old,
leaving a tombstone. Lookouts hold no copy of the person's details (readers see the
profile as it stands), so what goes is who was warned, why, and who acknowledged."""

from __future__ import annotations

from typing import Any

from shared.domain.retention import RecordType
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import LOOKOUT_ACKNOWLEDGEMENTS, LOOKOUTS
from shared.services.retention.lanes import LaneRecords, LaneRun, Scope, TombstonedLane


class LookoutLane(TombstonedLane):
    record_type = RecordType.LOOKOUT
    # Retailers and forces both issue lookouts.
    scope: Scope = "homed"
    records = LaneRecords(LOOKOUTS.name, "retention_basis")
    pages_on = False  # every due lookout goes: nothing is passed over
    operation, entity, count = "retention.lookout", "lookout", "lookouts_deleted"

    def erase(self, uow: UnitOfWork, run: LaneRun, item: dict[str, Any]) -> None:
        for ack in list(iterate_all(uow, LOOKOUT_ACKNOWLEDGEMENTS.name, [run.org], [Where("lookout_id", "eq", item["id"])])):
            uow.delete(LOOKOUT_ACKNOWLEDGEMENTS.name, run.org, ack["id"])
        uow.delete(LOOKOUTS.name, run.org, item["id"])
