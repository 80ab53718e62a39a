"""Persons of interest and retention: a profile goes at its expiry (set within the
person-of-interest period when listed), leaving a tombstone, with its versions and the
rejected suggestions naming it; an erased incident leaves every profile it was linked to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.offenders import PersonOfInterest
from shared.domain.retention import RecordType, add_months
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import Page, UnitOfWork, Where, iterate_all
from shared.records import INCIDENTS, OFFENDER_REJECTIONS, OFFENDER_VERSIONS, OFFENDERS
from shared.services.offenders.deps import OffenderDeps, write
from shared.services.repository import load
from shared.services.retention.lanes import LaneRecords, LaneRun, TombstonedLane

TOMBSTONE_TYPE = "offender"


@dataclass
class OffenderErasure:
    deps: OffenderDeps

    def unlink_incident(self, uow: UnitOfWork, org: str, incident_id: str) -> int:
        """Take an incident being erased out of every profile linking it (a new version,
        its plates recomputed without it) and drop rejected suggestions about it; returns
        how many records were removed (the rejections: profiles are changed, not removed)."""
        for doc in list(iterate_all(uow, OFFENDERS.name, [org], [Where("incident_ids", "contains", incident_id)])):
            stored = load(PersonOfInterest, doc)
            current = stored.record
            remaining = [i for i in current.incident_ids if i != incident_id]
            plates = sorted({p for i in remaining if (d := uow.get(INCIDENTS.name, org, i)) for p in d.get("plates", [])})
            profile = current.model_copy(update={"incident_ids": remaining, "plates": plates, "version": current.version + 1})
            write(
                self.deps,
                uow,
                None,
                profile,
                etag=stored.etag,
                note="an incident was erased",
                operation="offender.unlink",
                fields=["incident_ids", "plates"],
            )
        gone = [d["id"] for d in iterate_all(uow, OFFENDER_REJECTIONS.name, [org], [Where("incident_id", "eq", incident_id)])]
        for rejection_id in gone:
            uow.delete(OFFENDER_REJECTIONS.name, org, rejection_id)
        return len(gone)


def erase_profile(uow: UnitOfWork, org: str, offender_id: str) -> None:
    """Delete a profile with its versions and the rejected suggestions naming it."""
    for collection, field in ((OFFENDER_VERSIONS.name, "offender_id"), (OFFENDER_REJECTIONS.name, "offender_id")):
        for doc in list(iterate_all(uow, collection, [org], [Where(field, "eq", offender_id)])):
            uow.delete(collection, org, doc["id"])
    uow.delete(OFFENDERS.name, org, offender_id)


class OffenderLane(TombstonedLane):
    """Profiles past their expiry. The person-of-interest period is the schedule that
    applies: a listing's expiry was set within it when the person was listed."""

    record_type = RecordType.POI_IMAGE
    records = LaneRecords(OFFENDERS.name, "expires_at")
    pages_on = False  # every due profile goes
    operation, entity, count = "retention.offender", "offender", "offenders_deleted"
    tombstone_type = TOMBSTONE_TYPE

    def cutoff(self, as_of: datetime, months: int) -> datetime:
        return as_of  # due at its expiry

    def due(self, uow: UnitOfWork, run: LaneRun, continuation: str | None) -> Page:
        page = super().due(uow, run, continuation)
        # The sweep judges each item by basis + period: the basis that puts it due at its expiry.
        for item in page.items:
            item["_retention_basis"] = to_iso(add_months(from_iso(item["expires_at"]), -run.months))
        return page

    def basis(self, item: dict[str, Any]) -> datetime:
        return from_iso(item["_retention_basis"])

    def erase(self, uow: UnitOfWork, run: LaneRun, item: dict[str, Any]) -> None:
        erase_profile(uow, run.org, item["id"])
