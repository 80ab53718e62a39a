"""The retention index, kept by the incident handler inside the incident's unit of work.

Every incident has one entry (tenant = the owning organisation) with a `lane` (the
record type whose period applies: `incident`, `incident_police_case`, or `held` while a
legal hold is active) and a `basis_at` (when the period starts: when the incident was first
reported, a time the server sets and no edit moves), so the sweep reads only
what is due. Whether an incident has a police case is checked again for each due entry
(an acknowledged dispatch moves it to the longer lane), so D2P needs no hook into
retention.

Each offender an incident names has one person-of-interest entry per organisation
(`poi_image:<offender id>`, basis = the occurred-at of the newest incident listing the
offender). The person index (name keys) lets subject requests find a person's incidents.
"""

from __future__ import annotations

from typing import Any

from shared.domain.retention import HELD_LANE, IncidentEntry, PoiEntry, RecordType, index_id
from shared.domain.subject_requests import name_key
from shared.domain.tenancy import Principal
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import DISPATCHES, INCIDENTS, PERSON_INDEX, RETENTION_INDEX
from shared.services.repository import dump, load


def incident_entry(uow: UnitOfWork, org: str, incident_id: str) -> IncidentEntry | None:
    doc = uow.get(RETENTION_INDEX.name, org, index_id("incident", incident_id))
    return None if doc is None else load(IncidentEntry, doc).record


def poi_entry(uow: UnitOfWork, org: str, offender_id: str) -> PoiEntry | None:
    doc = uow.get(RETENTION_INDEX.name, org, index_id(RecordType.POI_IMAGE.value, offender_id))
    return None if doc is None else load(PoiEntry, doc).record


def put(uow: UnitOfWork, org: str, entry: IncidentEntry | PoiEntry) -> None:
    uow.upsert(RETENTION_INDEX.name, org, dump(entry))


def is_held(uow: UnitOfWork, org: str, incident_id: str) -> bool:
    """Whether an active legal hold covers the incident."""
    entry = uow.get(RETENTION_INDEX.name, org, index_id("incident", incident_id))
    return entry is not None and entry["lane"] == HELD_LANE


def has_police_case(uow: UnitOfWork, org: str, incident_id: str) -> bool:
    """An incident has a police case once a force acknowledged a dispatch of it."""
    for d in iterate_all(uow, DISPATCHES.name, [org], [Where("incident_id", "eq", incident_id)]):
        if d.get("acknowledged_at") or d.get("crime_reference"):
            return True
    return False


def index_incident(
    uow: UnitOfWork, org: str, incident: dict[str, Any], *, holds: int | None = None, created: bool = False
) -> IncidentEntry:
    """Write the incident's entry in the lane that applies now (`holds`: the active holds, when
    they just changed). `created`: the incident is being recorded in this unit, so it has no
    entry, hold or dispatch yet, and none is looked up."""
    existing = None if created else incident_entry(uow, org, incident["id"])
    if holds is None:
        holds = existing.holds if existing else 0
    if holds > 0:
        lane = HELD_LANE
    elif not created and has_police_case(uow, org, incident["id"]):
        lane = RecordType.INCIDENT_POLICE_CASE.value
    else:
        lane = RecordType.INCIDENT.value
    entry = IncidentEntry.of(incident, lane=lane, holds=holds, poi_erased=existing.poi_erased if existing else [])
    put(uow, org, entry)
    return entry


def index_persons(uow: UnitOfWork, org: str, incident: dict[str, Any], *, created: bool = False) -> None:
    """One person-index entry per named person; entries of persons no longer named go
    (`created`: a new incident has none to look for)."""
    keep = set()
    for i, person in enumerate(incident.get("persons", [])):
        key = name_key(person.get("name") or "")
        if not key:
            continue
        pid = f"{incident['id']}:{i:03d}"
        keep.add(pid)
        uow.upsert(
            PERSON_INDEX.name,
            org,
            {"id": pid, "incident_id": incident["id"], "person": i, "name_key": key, "date_of_birth": person.get("date_of_birth")},
        )
    if created:
        return
    for old in iterate_all(uow, PERSON_INDEX.name, [org], [Where("incident_id", "eq", incident["id"])]):
        if old["id"] not in keep:
            uow.delete(PERSON_INDEX.name, org, old["id"])


def index_offender(uow: UnitOfWork, org: str, offender_id: str, incident: dict[str, Any] | None, *, gone: str | None = None) -> None:
    """Set the offender's person-of-interest entry to its last linked incident.

    `incident` is the incident being written (queries may not see this unit's writes
    yet, so it is taken as given); `gone` an incident being deleted. The entry goes back
    to the `poi_image` lane: a change (a later incident, an image added to an old one)
    is looked at again by the next sweep. No incident left: the entry goes.
    """
    this = incident["id"] if incident else gone
    last_at: str | None = None
    last_id: str | None = None
    if incident is not None and offender_id in incident.get("offender_ids", []):
        last_at, last_id = incident["occurred_at"], incident["id"]
    page = uow.query(
        INCIDENTS.name, [org], [Where("offender_ids", "contains", offender_id)], order_by="occurred_at", descending=True, limit=2
    )
    for doc in page.items:
        if doc["id"] == this:
            continue
        if last_at is None or doc["occurred_at"] > last_at:
            last_at, last_id = doc["occurred_at"], doc["id"]
        break
    if last_at is None or last_id is None:
        uow.delete(RETENTION_INDEX.name, org, index_id(RecordType.POI_IMAGE.value, offender_id))
        return
    put(uow, org, PoiEntry.of(offender_id, last_at=last_at, last_incident_id=last_id))


class RetentionIndex:
    def on_incident(self, uow: UnitOfWork, principal: Principal, incident: dict[str, Any], *, created: bool = False) -> dict[str, Any]:
        """Keep the incident's retention and person index entries current (on report,
        change and evidence added); nothing to add to the caller's answer. `created`: the
        incident is recorded in this unit, so none of its entries exist yet and none is read."""
        org = incident["organisation_id"]
        before = None if created else incident_entry(uow, org, incident["id"])
        index_incident(uow, org, incident, created=created)
        index_persons(uow, org, incident, created=created)
        previous = set(before.offender_ids) if before else set()
        for offender_id in sorted(previous | set(incident.get("offender_ids", []))):
            index_offender(uow, org, offender_id, incident)
        return {}

    def is_held(self, uow: UnitOfWork, org: str, incident_id: str) -> bool:
        """Whether an active legal hold covers the incident."""
        return is_held(uow, org, incident_id)
