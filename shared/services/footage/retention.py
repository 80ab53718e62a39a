"""The footage-request retention lane: a request goes once its retention basis (when it
was answered, withdrawn or declined; an unanswered one's deadline) is the footage-request
period old, leaving a tombstone. The files supplied are evidence on the report and follow
its retention, not this one; a request whose report is under a legal hold stays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.domain.retention import RecordType, Tombstone, tombstone_id
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import Page, UnitOfWork, Where
from shared.records import FOOTAGE_REQUESTS
from shared.services.retention import tombstones
from shared.services.retention.index import is_held
from shared.services.retention.lanes import Batch, LaneRun, Scope


class FootageRequestLane:
    record_type: RecordType = RecordType.FOOTAGE_REQUEST
    scope: Scope = "retailers"
    counts: tuple[str, ...] = ("footage_requests_deleted",)
    pages_on: bool = True  # held requests stay due

    def batch_size(self, deps: Any) -> int:
        return deps.batch

    def due(self, uow: UnitOfWork, run: LaneRun, continuation: str | None) -> Page:
        where = [Where("retention_basis", "le", run.cutoff)]
        return uow.query(FOOTAGE_REQUESTS.name, [run.org], where, order_by="retention_basis", limit=run.batch, continuation=continuation)

    def basis(self, item: dict[str, Any]) -> datetime:
        return from_iso(item["retention_basis"])

    def apply(self, uow: UnitOfWork, run: LaneRun, items: Sequence[dict[str, Any]]) -> Batch:
        gone = []
        for request in items:
            if request.get("incident_id") and is_held(uow, run.org, request["incident_id"]):
                continue
            if not tombstones.exists(uow, run.org, RecordType.FOOTAGE_REQUEST.value, request["id"]):
                tombstones.write(
                    uow,
                    run.org,
                    Tombstone(
                        id=tombstone_id(RecordType.FOOTAGE_REQUEST.value, request["id"]),
                        entity_id=request["id"],
                        type=RecordType.FOOTAGE_REQUEST.value,
                        deleted_at=to_iso(run.as_of),
                        rule=run.rule,
                        schedule_version=run.schedule.version,
                        cause="schedule",
                    ),
                )
            uow.delete(FOOTAGE_REQUESTS.name, run.org, request["id"])
            gone.append(request["id"])
        run.erased(uow, operation="retention.footage_request", entity="footage_request", subjects=gone, count="footage_requests_deleted")
        return Batch(handled=len(gone))
