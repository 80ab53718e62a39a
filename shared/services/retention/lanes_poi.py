"""The person-of-interest image lane.

An image of kind `suspect_image` on an incident that names an offender is a
person-of-interest image: it goes once the POI period has passed since that offender's
last linked incident, even though the incident lives longer. Each due offender entry
erases the suspect images of each of the offender's incidents, except an incident under
a legal hold (the entry then waits in lane `poi_held` until the hold is released) or with
a police case (its images stay with it and go when it goes). Each image leaves a
tombstone, an erasure audit entry and a count; its custody chain ends with a `deleted`
event and goes with the incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict
from shared.domain.events import EvidenceErasureDue
from shared.domain.retention import POI_HELD_LANE, PoiEntry, RecordType, Tombstone, tombstone_id
from shared.domain.timestamps import to_iso
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import INCIDENTS, RETENTION_INDEX
from shared.services.evidence.erasure import suspect_images
from shared.services.repository import load
from shared.services.retention import tombstones
from shared.services.retention.deletion import count
from shared.services.retention.deps import SYSTEM_ACTOR
from shared.services.retention.index import has_police_case, incident_entry, index_incident, is_held, put
from shared.services.retention.lanes import Batch, Lane, LaneRecords, LaneRun


class PoiImageLane(Lane):
    record_type = RecordType.POI_IMAGE
    counts = ("poi_images_deleted", "poi_images_kept_held", "poi_images_kept_police_case")
    pages_on = True  # an entry whose images are protected stays due; the batch counts images erased
    records = LaneRecords(RETENTION_INDEX.name, "basis_at", (Where("lane", "eq", RecordType.POI_IMAGE.value),))

    def apply(self, uow: UnitOfWork, run: LaneRun, items: Sequence[dict[str, Any]]) -> Batch:
        budget = run.batch
        for doc in items:
            erased, complete = _erase_offender_images(uow, run, load(PoiEntry, doc).record, budget)
            budget -= erased
            if not complete:
                return Batch(unfinished=True)
        return Batch(handled=len(items))


def _erase_offender_images(uow: UnitOfWork, run: LaneRun, entry: PoiEntry, budget: int) -> tuple[int, bool]:
    """Erase the suspect images of every incident naming the entry's offender (held and
    police-case incidents excepted). Returns (images erased, whether the entry is done);
    stops unfinished when `budget` images were erased."""
    org = run.org
    erased = 0
    held = protected = False
    for incident in list(iterate_all(uow, INCIDENTS.name, [org], [Where("offender_ids", "contains", entry.entity_id)])):
        items = suspect_images(uow, org, incident["id"])
        if not items:
            continue
        if is_held(uow, org, incident["id"]):
            held = True
            run.add("poi_images_kept_held", len(items))
            continue
        if has_police_case(uow, org, incident["id"]):
            run.add("poi_images_kept_police_case", len(items))
            continue
        for item in items:
            if erased >= budget:
                return erased, False
            try:
                _erase_image(uow, run, incident, item)
            except Conflict as exc:
                # Still immutable (the schedule was shortened after upload) or held on the
                # item itself: nothing of it was written; the entry stays due and is looked
                # at again by the next run.
                protected = True
                run.kept_protected(f"person-of-interest image {item['id']} kept: {exc.detail}")
                continue
            erased += 1
            run.add("poi_images_deleted")
    if held:
        put(uow, org, entry.in_lane(POI_HELD_LANE))
    elif not protected:
        uow.delete(RETENTION_INDEX.name, org, entry.id)
    return erased, True


def _erase_image(uow: UnitOfWork, run: LaneRun, incident: dict[str, Any], item: dict[str, Any]) -> None:
    org, deps = run.org, run.deps
    first = not tombstones.exists(uow, org, RecordType.POI_IMAGE.value, item["id"])
    # An earlier attempt that wrote its tombstone also wrote the custody event: not twice.
    deps.bus.publish(uow, EvidenceErasureDue(organisation_id=org, item=item, rule=run.rule, custody_event=first))
    if not first:
        return
    tombstones.write(
        uow,
        org,
        Tombstone(
            id=tombstone_id(RecordType.POI_IMAGE.value, item["id"]),
            entity_id=item["id"],
            type=RecordType.POI_IMAGE.value,
            deleted_at=to_iso(deps.clock.now()),
            rule=run.rule,
            schedule_version=run.schedule.version,
            cause="schedule",
            request_id=None,
        ),
    )
    deps.audit.record(
        uow,
        owner_org=org,
        principal=None,
        action=AuditAction.ERASURE,
        operation="retention.poi_image",
        entity=f"evidence/{item['id']}",
        subjects=[incident["id"]],
        purpose=run.rule,
        system_actor=SYSTEM_ACTOR,
    )
    entry = incident_entry(uow, org, incident["id"]) or index_incident(uow, org, incident)
    entry = entry.with_poi_erased(item["id"])
    put(uow, org, entry)
    count(uow, org, entry, "poi_images_deleted")
