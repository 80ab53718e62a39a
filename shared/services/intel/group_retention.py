"""The crime-group retention lane: a group record goes once its review date has passed
unreviewed for the crime-group period, leaving a tombstone. Reviewing it (a new review
date) moves its basis on. A group linking an incident under a legal hold stays."""

from __future__ import annotations

from typing import Any

from shared.domain.retention import RecordType
from shared.ports import UnitOfWork
from shared.records import CRIME_GROUPS
from shared.services.retention.index import is_held
from shared.services.retention.lanes import LaneRecords, LaneRun, Scope, TombstonedLane


class CrimeGroupLane(TombstonedLane):
    record_type = RecordType.CRIME_GROUP
    scope: Scope = "homed"  # forces keep groups as well as retailers
    records = LaneRecords(CRIME_GROUPS.name, "review_at")
    pages_on = True  # held groups stay due
    operation, entity, count = "retention.crime_group", "group", "crime_groups_deleted"

    def kept(self, uow: UnitOfWork, run: LaneRun, item: dict[str, Any]) -> bool:
        return any(is_held(uow, ref["organisation_id"], ref["incident_id"]) for ref in item.get("incidents") or [])
