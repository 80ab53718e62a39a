"""Changing an incident (PATCH, a JSON merge patch) and reverting it to an earlier
version: both under If-Match, both kept as a new version, audited and published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.audit import AuditAction
from shared.domain.d2p import ALREADY_SENT
from shared.domain.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed, PreconditionRequired
from shared.domain.events import IncidentChanged
from shared.domain.incident_report import MAX_WITNESSES, IncidentPatch, WitnessIn
from shared.domain.incidents import EDITABLE_FIELDS, Incident, check_occurred_at_change, version_id
from shared.domain.tenancy import Principal, Role
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import DISPATCHES, INCIDENT_VERSIONS, INCIDENTS
from shared.services import repository
from shared.services.incidents.common import IncidentDeps, IncidentView, Located, check_offenders, present
from shared.services.incidents.read import locate


def keep_version(uow: UnitOfWork, principal: Principal, incident: Incident, note: str) -> None:
    """Keep the editable fields of the incident's current version, for history and revert."""
    # The first version belongs to an incident this unit creates: nothing to look up.
    uow.insert(
        INCIDENT_VERSIONS.name,
        incident.organisation_id,
        {
            "id": version_id(incident.id, incident.version),
            "incident_id": incident.id,
            "version": incident.version,
            "at": incident.updated_at,
            "by": principal.user_id,
            "note": note,
            "snapshot": incident.snapshot(),
        },
        fresh=incident.version == 1,
    )


def check_precondition(loc: Located, if_match: str) -> None:
    """Raise PreconditionFailed unless If-Match is the incident's current ETag.

    Checked before the change is validated: a client working from a stale copy must hear
    that first (412, read again), not be told its change conflicts with, or is invalid
    against, a version it has not seen. The write checks the ETag again, for a change
    landing in between."""
    if if_match != loc.etag:
        raise PreconditionFailed(f"Incident {loc.doc['id']} has changed since you read it; read it again.")


@dataclass
class ChangeIncident:
    deps: IncidentDeps

    def apply(self, principal: Principal, incident_id: str, patch: IncidentPatch, if_match: str | None) -> IncidentView:
        """Apply a merge patch under If-Match (the stored ETag); each change is a new version."""
        if not if_match:
            raise PreconditionRequired("Send If-Match with the ETag you last read; changes without it could overwrite someone else's.")
        changes = patch.model_dump(mode="json", exclude_unset=True)
        if not changes:
            raise Invalid("The patch changes nothing.", errors=[])
        directory = self.deps.directory
        with self.deps.records.unit_of_work() as uow:
            loc = locate(uow, directory, principal, incident_id)
            check_precondition(loc, if_match)
            if changes.get("store_id") is not None:
                store = directory.store(changes["store_id"])
                if store is None or store.organisation_id != principal.organisation_id:
                    raise Invalid(f"Store {changes['store_id']} is not one of your organisation's stores.", errors=[{"field": "store_id"}])
            incident = loc.incident.model_copy(deep=True)
            merged = incident.merge_patch(changes)
            if merged.occurred_at > self.deps.clock.now():
                raise Invalid("occurred_at is in the future.", errors=[{"field": "occurred_at"}])
            note = "changed"
            if merged.occurred_at != incident.occurred:
                self._check_time_change(uow, loc.owner_org, incident, merged.occurred_at)
                note = f"changed; occurred_at from {incident.occurred_at} to {to_iso(merged.occurred_at)}"
            incident.adopt(merged)
            if changes.get("store_id") is not None:
                incident.force_id = directory.store(incident.store_id).force_id
            check_offenders(uow, loc.owner_org, incident.persons)
            return self._write(uow, principal, loc, incident, if_match, note, sorted(changes))

    def add_statement(self, principal: Principal, incident_id: str, statement: WitnessIn) -> IncidentView:
        """Append one witness statement, as a new version. Store staff add only to the
        reports they filed (a colleague's report they can read answers 403); nobody
        changes or removes a statement this way, so no If-Match is needed: an append
        cannot overwrite anyone's work."""
        with self.deps.records.unit_of_work() as uow:
            loc = locate(uow, self.deps.directory, principal, incident_id)
            if not principal.has(Role.RETAILER_INVESTIGATOR) and loc.doc.get("created_by") != principal.user_id:
                raise Forbidden(
                    f"Store staff may add statements only to incidents they reported; {incident_id} was reported by someone else."
                )
            incident = loc.incident.model_copy(deep=True)
            if len(incident.witnesses) >= MAX_WITNESSES:
                raise Invalid(f"Incident {incident_id} already has {MAX_WITNESSES} witness statements.", errors=[{"field": "witnesses"}])
            incident.witnesses.append(statement.model_dump(mode="json"))
            who = "the reporter's own statement" if statement.is_reporter else "a witness statement"
            return self._write(uow, principal, loc, incident, loc.etag, f"added {who}", ["witnesses"], operation="incident.statement")

    @staticmethod
    def _check_time_change(uow: UnitOfWork, org: str, incident: Incident, new: datetime) -> None:
        """A force that received the report holds it with this time: the record must keep saying
        what the force was told. Otherwise only a correction within bounds (the domain rule)."""
        for d in iterate_all(uow, DISPATCHES.name, [org], [Where("incident_id", "eq", incident.id)]):
            if d.get("status") in ALREADY_SENT or d.get("acknowledged_at") or d.get("crime_reference"):
                raise Conflict(
                    f"occurred_at of incident {incident.id} cannot change: the report was sent to force {d.get('force_id')} "
                    "with this time. Tell the force of the correction instead."
                )
        check_occurred_at_change(incident.occurred, new, from_iso(incident.reported_at))

    def revert(self, principal: Principal, incident_id: str, version: int, if_match: str | None) -> IncidentView:
        """Make an earlier version current again, as a new version."""
        if not if_match:
            raise PreconditionRequired("Send If-Match with the ETag you last read.")
        with self.deps.records.unit_of_work() as uow:
            loc = locate(uow, self.deps.directory, principal, incident_id)
            check_precondition(loc, if_match)
            old = uow.get(INCIDENT_VERSIONS.name, loc.owner_org, version_id(incident_id, version))
            if old is None:
                raise NotFound(f"Incident {incident_id} has no version {version}.")
            incident = loc.incident.model_copy(deep=True)
            before = incident.occurred
            incident.restore(old["snapshot"])
            if from_iso(incident.occurred_at) != before:
                self._check_time_change(uow, loc.owner_org, loc.incident, from_iso(incident.occurred_at))
            store = self.deps.directory.store(incident.store_id)
            if store is not None:
                incident.force_id = store.force_id
            return self._write(uow, principal, loc, incident, if_match, f"reverted to {version}", list(EDITABLE_FIELDS), reverted=True)

    def _write(
        self,
        uow: UnitOfWork,
        principal: Principal,
        loc: Located,
        incident: Incident,
        if_match: str,
        note: str,
        fields: list[str],
        *,
        reverted: bool = False,
        operation: str | None = None,
    ) -> IncidentView:
        incident.next_version(self.deps.clock.now())
        doc = repository.dump(incident)
        etag = uow.replace(INCIDENTS.name, loc.owner_org, doc, if_match=if_match)
        keep_version(uow, principal, incident, note)
        self.deps.audit.record(
            uow,
            owner_org=loc.owner_org,
            principal=principal,
            action=AuditAction.ALTERATION,
            operation=operation or ("incident.revert" if reverted else "incident.change"),
            entity=f"incident/{incident.id}",
            fields=fields,
        )
        extras = self.deps.bus.gather(uow, IncidentChanged(principal=principal, incident=doc))
        return present(incident, etag, extras)
