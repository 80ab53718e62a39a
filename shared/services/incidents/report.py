"""Reporting an incident (POST /incidents): checks, the record and its first version, the
audit entry, what the handler table says follows, and the answer a retry replays."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Forbidden, Gone, Invalid
from shared.domain.events import IncidentRecorded, IncidentViewed
from shared.domain.incidents import Incident, IncidentIn
from shared.domain.tenancy import Principal, Role
from shared.ports import UnitOfWork
from shared.records import INCIDENTS
from shared.services import idempotency, repository
from shared.services.incidents.change import keep_version
from shared.services.incidents.common import IncidentDeps, IncidentView, Located, check_offenders, present, read_entries

OPERATION = "incident.report"


@dataclass(frozen=True)
class Reported:
    """The incident as first answered, and whether this answer replays an earlier request."""

    incident: IncidentView
    replayed: bool = False


@dataclass
class ReportIncident:
    deps: IncidentDeps

    def submit(self, principal: Principal, body: IncidentIn, idempotency_key: str | None) -> Reported:
        """Record a new incident for the caller's organisation. A retry with the same
        Idempotency-Key answers the incident it created as that incident now stands (410
        once it has been erased); past the key's lifetime a retry is a new request."""
        key = idempotency.check_key(idempotency_key)
        request_fingerprint = idempotency.fingerprint(OPERATION, body.model_dump(mode="json"))
        directory = self.deps.directory
        store = directory.store(body.store_id)
        if store is None or store.organisation_id != principal.organisation_id:
            raise Invalid(f"Store {body.store_id} is not one of your organisation's stores.", errors=[{"field": "store_id"}])
        if (
            principal.has(Role.RETAILER_REPORTER)
            and not principal.has(Role.RETAILER_INVESTIGATOR)
            and body.store_id not in principal.stores
        ):
            raise Forbidden(f"You report for stores {', '.join(sorted(principal.stores)) or '(none)'}, not {body.store_id}.")
        org = directory.organisation(principal.organisation_id)
        now = self.deps.clock.now()
        if body.occurred_at > now:
            raise Invalid("occurred_at is in the future.", errors=[{"field": "occurred_at"}])
        try:
            reported = self._report(principal, body, key, request_fingerprint, store.force_id, org.reference_prefix if org else "INC", now)
        except Conflict:
            # A concurrent request with the same key won; answer what it answered.
            with self.deps.records.read_only() as uow:
                stored = idempotency.replay(uow, principal, OPERATION, key, request_fingerprint, now=now)
                if stored is None:
                    raise
                reported = self._replayed(uow, principal, stored)
        if reported.replayed:
            # A replay shows the incident again: a consultation, journalled once no unit is open.
            located = Located(doc={"id": reported.incident.id}, owner_org=principal.organisation_id)
            self.deps.audit.record_read(principal, read_entries(principal, located, None, "incident.report.replay"))
        return reported

    def _report(
        self, principal: Principal, body: IncidentIn, key: str | None, request_fingerprint: str, force_id: str, prefix: str, now: datetime
    ) -> Reported:
        with self.deps.records.unit_of_work() as uow:
            stored = idempotency.replay(uow, principal, OPERATION, key, request_fingerprint, now=now)
            if stored is not None:
                return self._replayed(uow, principal, stored)
            seq = uow.next_sequence(principal.organisation_id, "incident-reference")
            incident = Incident.reported(
                body,
                id=str(uuid.uuid4()),
                reference=f"{prefix}-{seq:06d}",
                organisation_id=principal.organisation_id,
                force_id=force_id,
                by=principal.user_id,
                now=now,
            )
            check_offenders(uow, principal.organisation_id, incident.persons)
            incident.derive()
            doc = repository.dump(incident)
            etag = uow.insert(INCIDENTS.name, principal.organisation_id, doc)
            keep_version(uow, principal, incident, "created")
            self.deps.audit.record(
                uow,
                owner_org=principal.organisation_id,
                principal=principal,
                action=AuditAction.COLLECTION,
                operation="incident.create",
                entity=f"incident/{incident.id}",
                fields=list(body.model_dump(mode="json").keys()),
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
