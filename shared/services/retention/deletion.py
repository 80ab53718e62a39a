"""One deletion path for the timer and for subject-request erasure.

Dependents first (evidence, ANPR hits: through the IncidentErased event; an eraser that
refuses raises Conflict before anything of the incident is written, so the sweep can pass
it over), then the tombstone, the deleted-count for statistics and the erasure audit
entry, then versions, person index, holds, partner access grants, the incident and its
index entry. A failure leaves nothing half-done on SQLite (one transaction) and a re-run
finishes it.
"""

from __future__ import annotations

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, NotFound
from shared.domain.events import IncidentErased
from shared.domain.retention import IncidentEntry, RecordType, Tombstone, rule_text, tombstone_id
from shared.domain.tenancy import PLATFORM_TENANT, OrgKind, Principal
from shared.domain.timestamps import to_iso
from shared.ports import RecordStore, UnitOfWork, Where, iterate_all
from shared.records import (
    ACCESS_GRANTS,
    INCIDENT_VERSIONS,
    INCIDENTS,
    LEGAL_HOLDS,
    ORGANISATIONS,
    PERSON_INDEX,
    RETENTION_COUNTS,
    RETENTION_INDEX,
)
from shared.services import repository
from shared.services.retention import tombstones
from shared.services.retention.deps import SYSTEM_ACTOR, RetentionDeps
from shared.services.retention.index import incident_entry, index_incident, index_offender
from shared.services.retention.schedules import schedule_for


def police_forces(records: RecordStore) -> list[str]:
    with records.unit_of_work() as uow:
        return sorted(
            d["id"] for d in iterate_all(uow, ORGANISATIONS.name, [PLATFORM_TENANT], [Where("kind", "eq", OrgKind.POLICE_FORCE.value)])
        )


def count(uow: UnitOfWork, org: str, entry: IncidentEntry, what: str) -> None:
    """Add one to a count kept per (month, store, category) of the incident's entry."""
    key = entry.count_key
    doc = uow.get(RETENTION_COUNTS.name, org, key)
    if doc is None:
        base = {
            "id": key,
            "month": entry.month,
            "store_id": entry.store_id,
            "category": entry.category,
            "deleted": 0,
            "poi_images_deleted": 0,
        }
        uow.insert(RETENTION_COUNTS.name, org, {**base, what: 1})
    else:
        uow.replace(RETENTION_COUNTS.name, org, {**repository.body(doc), what: doc.get(what, 0) + 1}, if_match=repository.etag(doc))


def delete(
    deps: RetentionDeps,
    uow: UnitOfWork,
    org: str,
    entry: IncidentEntry,
    *,
    rule: str,
    version: str,
    cause: str,
    principal: Principal | None,
    request_id: str | None = None,
) -> int:
    """Delete the entry's incident and what is only its; returns how many dependents went."""
    incident_id = entry.entity_id
    erased = IncidentErased(organisation_id=org, incident_id=incident_id, rule=rule, erased_evidence_ids=tuple(entry.poi_erased))
    removed = sum(deps.bus.publish(uow, erased))
    doc = uow.get(INCIDENTS.name, org, incident_id)
    if not tombstones.exists(uow, org, "incident", incident_id):
        tombstones.write(
            uow,
            org,
            Tombstone(
                id=tombstone_id("incident", incident_id),
                entity_id=incident_id,
                type="incident",
                deleted_at=to_iso(deps.clock.now()),
                rule=rule,
                schedule_version=version,
                cause="erasure" if cause == "erasure" else "schedule",
                request_id=request_id,
            ),
        )
        count(uow, org, entry, "deleted")
        deps.audit.record(
            uow,
            owner_org=org,
            principal=principal,
            action=AuditAction.ERASURE,
            operation="retention.delete" if cause != "erasure" else "subject_request.erase",
            entity=f"incident/{incident_id}",
            purpose=rule,
            system_actor=SYSTEM_ACTOR,
        )
    for ver in list(iterate_all(uow, INCIDENT_VERSIONS.name, [org], [Where("incident_id", "eq", incident_id)])):
        removed += uow.delete(INCIDENT_VERSIONS.name, org, ver["id"])
    for person in list(iterate_all(uow, PERSON_INDEX.name, [org], [Where("incident_id", "eq", incident_id)])):
        uow.delete(PERSON_INDEX.name, org, person["id"])
    for hold in list(iterate_all(uow, LEGAL_HOLDS.name, [org], [Where("incident_id", "eq", incident_id)])):
        uow.delete(LEGAL_HOLDS.name, org, hold["id"])
    forces = police_forces(deps.records)
    if forces:
        for grant in list(iterate_all(uow, ACCESS_GRANTS.name, forces, [Where("incident_id", "eq", incident_id)])):
            if grant.get("owner_org") == org:
                uow.delete(ACCESS_GRANTS.name, repository.tenant(grant), grant["id"])
    uow.delete(INCIDENTS.name, org, incident_id)
    uow.delete(RETENTION_INDEX.name, org, entry.id)
    # The offender's last linked incident may now be an older one.
    for offender_id in (doc or {}).get("offender_ids", []):
        index_offender(uow, org, offender_id, None, gone=incident_id)
    return removed


class Deletion:
    def __init__(self, deps: RetentionDeps):
        self.deps = deps

    def delete_incident(
        self, uow: UnitOfWork, org: str, incident_id: str, *, principal: Principal | None, cause: str, request_id: str | None = None
    ) -> int:
        """Delete an incident and everything that is only its, leaving a tombstone;
        returns how many dependents went.

        Raises Conflict while a legal hold is active. Used by subject-request erasure; the
        sweep takes the same path.
        """
        entry = incident_entry(uow, org, incident_id)
        if entry is None:
            doc = uow.get(INCIDENTS.name, org, incident_id)
            if doc is None:
                raise NotFound(f"Incident {incident_id} was not found.")
            entry = index_incident(uow, org, doc)
        if entry.held:
            raise Conflict(f"Incident {incident_id} is under a legal hold and cannot be deleted until the hold is released.")
        schedule = schedule_for(self.deps, uow, org)
        lane = RecordType(entry.lane)
        return delete(
            self.deps,
            uow,
            org,
            entry,
            rule=f"erasure on request ({rule_text(lane, schedule.months[lane])} not yet reached)",
            version=schedule.version,
            cause=cause,
            principal=principal,
            request_id=request_id,
        )
