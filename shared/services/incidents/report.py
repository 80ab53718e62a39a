"""Reporting an incident (POST /incidents): checks, the record and its first version, the
audit entry, what the handler table says follows, and the answer a retry replays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Forbidden, Gone, Invalid
from shared.domain.events import IncidentRecorded, IncidentViewed
from shared.domain.incident_ids import external_incident_id, new_incident_id
from shared.domain.incident_report import IncidentIn
from shared.domain.incidents import Incident
from shared.domain.retention import tombstone_id
from shared.domain.tenancy import Principal, Role, Store
from shared.ports import UnitOfWork
from shared.records import INCIDENTS, TOMBSTONES
from shared.services import idempotency, repository
from shared.services.incidents.change import keep_version
from shared.services.incidents.common import IncidentDeps, IncidentView, Located, check_offenders, present, read_entries

OPERATION = "incident.report"


def incident_id_for(organisation_id: str, external_reference: str) -> str:
    """The id an incident reported with this external reference has (or will have):
    derived from the organisation and the reference, so the store's own key uniqueness (an
    insert of an id that exists conflicts, on SQLite and on Cosmos alike) makes the
    reference unique per organisation, with no look-up a concurrent report could slip past."""
    return external_incident_id(organisation_id, external_reference)


def check_report(deps: IncidentDeps, principal: Principal, body: IncidentIn, now: datetime) -> Store:
    """The rules a report must meet beyond its own shape (which IncidentIn checks): one of
    the caller's organisation's stores, one the caller reports for, not in the future.
    Returns the store."""
    store = deps.directory.store(body.store_id)
    if store is None or store.organisation_id != principal.organisation_id:
        raise Invalid(f"Store {body.store_id} is not one of your organisation's stores.", errors=[{"field": "store_id"}])
    if principal.has(Role.RETAILER_REPORTER) and not principal.has(Role.RETAILER_INVESTIGATOR) and body.store_id not in principal.stores:
        raise Forbidden(f"You report for stores {', '.join(sorted(principal.stores)) or '(none)'}, not {body.store_id}.")
    if body.occurred_at > now:
        raise Invalid("occurred_at is in the future.", errors=[{"field": "occurred_at"}])
    return store


@dataclass(frozen=True)
class Reported:
    """The incident as first answered, and whether this answer replays an earlier request
    (`replayed`: the same Idempotency-Key; `repeat`: the same external reference)."""

    incident: IncidentView
    replayed: bool = False
    repeat: bool = False


@dataclass
class ReportIncident:
    deps: IncidentDeps

    def submit(self, principal: Principal, body: IncidentIn, idempotency_key: str | None) -> Reported:
        """Record a new incident for the caller's organisation. A retry with the same
        Idempotency-Key answers the incident it created as that incident now stands (410
        once it has been erased); past the key's lifetime a retry is a new request.

        A report with an `external_reference` the organisation already used records
        nothing: the same report answers the incident as it now stands (`repeat`), a
        different one is Conflict naming that incident, and one whose incident was erased
        is Gone, however long ago and whoever sends it."""
        key = idempotency.check_key(idempotency_key)
        request_fingerprint = idempotency.fingerprint(OPERATION, body.report_fields())
        now = self.deps.clock.now()
        store = check_report(self.deps, principal, body, now)
        org = self.deps.directory.organisation(principal.organisation_id)
        try:
            reported = self._report(principal, body, key, request_fingerprint, store.force_id, org.reference_prefix if org else "INC", now)
        except Conflict:
            # A concurrent request with the same key or external reference won; answer what it answered.
            with self.deps.records.read_only() as uow:
                stored = idempotency.replay(uow, principal, OPERATION, key, request_fingerprint, now=now)
                if stored is not None:
                    reported = self._replayed(uow, principal, stored)
                else:
                    repeated = self._repeat(uow, principal, body, request_fingerprint)
                    if repeated is None:
                        raise
                    reported = repeated
        if reported.replayed or reported.repeat:
            # A replay shows the incident again: a consultation, journalled once no unit is open.
            located = Located(doc={"id": reported.incident.id}, owner_org=principal.organisation_id)
            operation = "incident.report.replay" if reported.replayed else "incident.report.repeat"
            self.deps.audit.record_read(principal, read_entries(principal, located, None, operation))
        return reported

    def _report(
        self, principal: Principal, body: IncidentIn, key: str | None, request_fingerprint: str, force_id: str, prefix: str, now: datetime
    ) -> Reported:
        with self.deps.records.unit_of_work() as uow:
            stored = idempotency.replay(uow, principal, OPERATION, key, request_fingerprint, now=now)
            if stored is not None:
                return self._replayed(uow, principal, stored)
            repeated = self._repeat(uow, principal, body, request_fingerprint)
            if repeated is not None:
                return repeated
            seq = uow.next_sequence(principal.organisation_id, "incident-reference")
            incident = Incident.reported(
                body,
                id=incident_id_for(principal.organisation_id, body.external_reference) if body.external_reference else new_incident_id(now),
                reference=f"{prefix}-{seq:06d}",
                organisation_id=principal.organisation_id,
                force_id=force_id,
                by=principal.user_id,
                now=now,
            )
            check_offenders(uow, principal.organisation_id, incident.persons)
            incident.derive()
            doc = repository.dump(incident)
            if body.external_reference:
                # A digest of the first report, never a copy: a repeat is told apart from a different report.
                doc["external_digest"] = request_fingerprint
            etag = uow.insert(INCIDENTS.name, principal.organisation_id, doc)
            keep_version(uow, principal, incident, "created")
            self.deps.audit.record(
                uow,
                owner_org=principal.organisation_id,
                principal=principal,
                action=AuditAction.COLLECTION,
                operation="incident.create",
                entity=f"incident/{incident.id}",
                fields=list(body.report_fields().keys()),
            )
            extras = self.deps.bus.gather(uow, IncidentRecorded(principal=principal, incident=doc))
            view = present(incident, etag, extras)
            idempotency.remember(
                uow, principal, OPERATION, key, request_fingerprint, f"incident/{incident.id}", now=now, ttl=self.deps.idempotency_ttl
            )
            return Reported(incident=view)

    def _replayed(self, uow: UnitOfWork, principal: Principal, stored: idempotency.Remembered) -> Reported:
        # The key holds no copy of the incident: it is read again, so a retry sees a
        # correction, and an incident erased since (its key not yet told) is not answered.
        doc = uow.get(INCIDENTS.name, principal.organisation_id, stored.record_id)
        if doc is None:
            raise Gone(
                f"The incident this Idempotency-Key created ({stored.record_id}) has since been erased; it is not recorded again.",
                errors=[{"field": "Idempotency-Key"}],
            )
        loaded = repository.load(Incident, doc)
        extras = self.deps.bus.gather(uow, IncidentViewed(principal=principal, incident=doc))
        return Reported(incident=present(loaded.record, loaded.etag, extras), replayed=True)

    def _repeat(self, uow: UnitOfWork, principal: Principal, body: IncidentIn, request_fingerprint: str) -> Reported | None:
        """The answer to a report whose external reference the organisation already used,
        or None when it is new."""
        if not body.external_reference:
            return None
        incident_id = incident_id_for(principal.organisation_id, body.external_reference)
        field = [{"field": "external_reference"}]
        doc = uow.get(INCIDENTS.name, principal.organisation_id, incident_id)
        if doc is None:
            # Erased data is not recorded again by replaying the source it came from.
            if uow.get(TOMBSTONES.name, principal.organisation_id, tombstone_id("incident", incident_id)) is not None:
                raise Gone(
                    f"The incident reported with external reference {body.external_reference!r} has been erased; it is not recorded again.",
                    errors=field,
                )
            return None
        loaded = repository.load(Incident, doc)
        if doc.get("external_digest") != request_fingerprint:
            raise Conflict(
                f"External reference {body.external_reference!r} is already incident {loaded.record.reference}, reported with "
                "different details; change that incident (PATCH) instead of reporting it again.",
                errors=field,
                incident_id=incident_id,
                reference=loaded.record.reference,
            )
        extras = self.deps.bus.gather(uow, IncidentViewed(principal=principal, incident=doc))
        return Reported(incident=present(loaded.record, loaded.etag, extras), repeat=True)
