"""The footage-request retention lane: a request goes once its retention basis (when it
was answered, withdrawn or declined; an unanswered one's deadline) is the footage-request
period old, leaving a tombstone. The files supplied are evidence on the report and follow
its retention, not this one; a request whose report is under a legal hold stays."""

from __future__ import annotations

from typing import Any

from shared.domain.retention import RecordType
from shared.ports import UnitOfWork
from shared.records import FOOTAGE_REQUESTS
from shared.services.retention.index import is_held
from shared.services.retention.lanes import LaneRecords, LaneRun, TombstonedLane


class FootageRequestLane(TombstonedLane):
    record_type = RecordType.FOOTAGE_REQUEST
    records = LaneRecords(FOOTAGE_REQUESTS.name, "retention_basis")
    pages_on = True  # held requests stay due
    operation, entity, count = "retention.footage_request", "footage_request", "footage_requests_deleted"

    def kept(self, uow: UnitOfWork, run: LaneRun, item: dict[str, Any]) -> bool:
        return bool(item.get("incident_id")) and is_held(uow, run.org, item["incident_id"])
