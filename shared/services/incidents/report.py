"""Reporting an incident (POST /incidents): checks, the record and its first version, the
audit entry, what the handler table says follows, and the answer a retry replays."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Forbidden, Invalid
from shared.domain.events import IncidentRecorded
from shared.domain.incidents import Incident, IncidentIn
from shared.domain.tenancy import Principal, Role
from shared.records import INCIDENTS
from shared.services import idempotency, repository
from shared.services.incidents.change import keep_version
from shared.services.incidents.common import IncidentDeps, IncidentView, check_offenders, present

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
        """Record a new incident for the caller's organisation; a replay returns the first answer."""
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
            return self._report(principal, body, key, request_fingerprint, store.force_id, org.reference_prefix if org else "INC", now)
        except Conflict:
            # A concurrent request with the same key won; answer what it answered.
            with self.deps.records.read_only() as uow:
                stored = idempotency.replay(uow, principal, OPERATION, key, request_fingerprint)
            if stored is None:
                raise
            return _replayed(stored)

    def _report(
        self, principal: Principal, body: IncidentIn, key: str | None, request_fingerprint: str, force_id: str, prefix: str, now: datetime
    ) -> Reported:
        with self.deps.records.unit_of_work() as uow:
            stored = idempotency.replay(uow, principal, OPERATION, key, request_fingerprint)
            if stored is not None:
                return _replayed(stored)
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
                uow, self.deps.clock, principal, OPERATION, key, request_fingerprint, idempotency.Remembered(view.body, view.etag)
            )
            return Reported(incident=view)


def _replayed(stored: idempotency.Remembered) -> Reported:
    return Reported(incident=IncidentView(body=stored.body, etag=stored.etag), replayed=True)
