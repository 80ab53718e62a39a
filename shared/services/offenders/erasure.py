"""Persons of interest and retention: a profile goes at its expiry (set within the
person-of-interest period when listed), leaving a tombstone, with its versions and the
rejected suggestions naming it; an erased incident leaves every profile it was linked to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.offenders import PersonOfInterest
from shared.domain.retention import RecordType, Tombstone, add_months, tombstone_id
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import Page, UnitOfWork, Where, iterate_all
from shared.records import INCIDENTS, OFFENDER_REJECTIONS, OFFENDER_VERSIONS, OFFENDERS
from shared.services.offenders.deps import OffenderDeps, write
from shared.services.repository import load
from shared.services.retention import tombstones
from shared.services.retention.lanes import Batch, LaneRun, Scope

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


class OffenderLane:
    """Profiles past their expiry. The person-of-interest period is the schedule that
    applies: a listing's expiry was set within it when the person was listed."""

    record_type: RecordType = RecordType.POI_IMAGE
    scope: Scope = "retailers"
    counts: tuple[str, ...] = ("offenders_deleted",)
    pages_on: bool = False  # every due profile goes

    def batch_size(self, deps: Any) -> int:
        return deps.batch

    def due(self, uow: UnitOfWork, run: LaneRun, continuation: str | None) -> Page:
        page = uow.query(
            OFFENDERS.name,
            [run.org],
            [Where("expires_at", "le", to_iso(run.as_of))],
            order_by="expires_at",
            limit=run.batch,
            continuation=continuation,
        )
        # The sweep judges each item by basis + period: the basis that puts it due at its expiry.
        for item in page.items:
            item["_retention_basis"] = to_iso(add_months(from_iso(item["expires_at"]), -run.months))
        return page

    def basis(self, item: dict[str, Any]) -> datetime:
        return from_iso(item["_retention_basis"])

    def apply(self, uow: UnitOfWork, run: LaneRun, items: Sequence[dict[str, Any]]) -> Batch:
        gone = []
        for doc in items:
            if not tombstones.exists(uow, run.org, TOMBSTONE_TYPE, doc["id"]):
                tombstones.write(
                    uow,
                    run.org,
                    Tombstone(
                        id=tombstone_id(TOMBSTONE_TYPE, doc["id"]),
                        entity_id=doc["id"],
                        type=TOMBSTONE_TYPE,
                        deleted_at=to_iso(run.as_of),
                        rule=run.rule,
                        schedule_version=run.schedule.version,
                        cause="schedule",
                    ),
                )
            erase_profile(uow, run.org, doc["id"])
            gone.append(doc["id"])
        run.erased(uow, operation="retention.offender", entity="offender", subjects=gone, count="offenders_deleted")
        return Batch(handled=len(gone))
