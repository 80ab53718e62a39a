"""The incident lanes: incidents without a police case, and with one (a longer period),
each from when the incident occurred, read from the retention index by (lane, basis_at).
A legal hold moves an entry to the `held` lane, which no sweep reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.domain.errors import Conflict
from shared.domain.retention import IncidentEntry, RecordType
from shared.ports import UnitOfWork, Where
from shared.records import RETENTION_INDEX
from shared.services.repository import load
from shared.services.retention.deletion import delete
from shared.services.retention.index import has_police_case, put
from shared.services.retention.lanes import Batch, Lane, LaneRecords, LaneRun

COUNTS = ("incidents_deleted", "moved_to_police_case", "dependents_deleted")


class IncidentLane(Lane):
    counts = COUNTS
    pages_on = False  # deleted and moved entries leave the lane; protected ones stay and end it

    def __init__(self, record_type: RecordType):
        self.record_type = record_type
        self.records = LaneRecords(RETENTION_INDEX.name, "basis_at", (Where("lane", "eq", record_type.value),))

    def apply(self, uow: UnitOfWork, run: LaneRun, items: Sequence[dict[str, Any]]) -> Batch:
        handled = 0
        for doc in items:
            entry = load(IncidentEntry, doc).record
            if self.record_type == RecordType.INCIDENT and has_police_case(uow, run.org, entry.entity_id):
                put(uow, run.org, entry.in_lane(RecordType.INCIDENT_POLICE_CASE.value))
                run.add("moved_to_police_case")
                handled += 1
                continue
            try:
                removed = delete(
                    run.deps, uow, run.org, entry, rule=run.rule, version=run.schedule.version, cause="schedule", principal=None
                )
            except Conflict as exc:
                # Evidence still under its immutability period: nothing of this incident was
                # written; it is tried again on the next run.
                run.kept_protected(f"incident {entry.entity_id} kept: {exc.detail}")
                continue
            handled += 1
            run.add("incidents_deleted")
            run.add("dependents_deleted", removed)
        return Batch(handled=handled)
