"""The crime-group retention lane: a group record goes once its review date has passed
unreviewed for the crime-group period, leaving a tombstone. Reviewing it (a new review
date) moves its basis on. A group linking an incident under a legal hold stays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.domain.retention import RecordType, Tombstone, tombstone_id
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import Page, UnitOfWork, Where
from shared.records import CRIME_GROUPS
from shared.services.retention import tombstones
from shared.services.retention.index import is_held
from shared.services.retention.lanes import Batch, LaneRun, Scope


class CrimeGroupLane:
    record_type: RecordType = RecordType.CRIME_GROUP
    scope: Scope = "homed"  # forces keep groups as well as retailers
    counts: tuple[str, ...] = ("crime_groups_deleted",)
    pages_on: bool = True  # held groups stay due

    def batch_size(self, deps: Any) -> int:
        return int(deps.batch)

    def due(self, uow: UnitOfWork, run: LaneRun, continuation: str | None) -> Page:
        where = [Where("review_at", "le", run.cutoff)]
        return uow.query(CRIME_GROUPS.name, [run.org], where, order_by="review_at", limit=run.batch, continuation=continuation)

    def basis(self, item: dict[str, Any]) -> datetime:
        return from_iso(item["review_at"])

    def apply(self, uow: UnitOfWork, run: LaneRun, items: Sequence[dict[str, Any]]) -> Batch:
        gone = []
        for group in items:
            if any(is_held(uow, ref["organisation_id"], ref["incident_id"]) for ref in group.get("incidents") or []):
                continue
            kind = RecordType.CRIME_GROUP.value
            if not tombstones.exists(uow, run.org, kind, group["id"]):
                tombstones.write(
                    uow,
                    run.org,
                    Tombstone(
                        id=tombstone_id(kind, group["id"]),
                        entity_id=group["id"],
                        type=kind,
                        deleted_at=to_iso(run.as_of),
                        rule=run.rule,
                        schedule_version=run.schedule.version,
                        cause="schedule",
                    ),
                )
            uow.delete(CRIME_GROUPS.name, run.org, group["id"])
            gone.append(group["id"])
        run.erased(uow, operation="retention.crime_group", entity="group", subjects=gone, count="crime_groups_deleted")
        return Batch(handled=len(gone))
