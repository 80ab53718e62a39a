"""The store answers a request: files supplied into it (uploaded with the evidence
locker's own single or resumable uploads, onto the report of the event, then supplied
by id), or a decline
with a reason. Each supplied file's custody names the request and crime reference, and
the force is given read access to the report those files belong to."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.custody import CustodyEvent
from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.evidence import EvidenceItem, EvidenceKind
from shared.domain.footage import FootageRequest
from shared.domain.tenancy import Principal
from shared.ports import UnitOfWork
from shared.records import ACCESS_GRANTS, EVIDENCE
from shared.services.evidence import custody
from shared.services.footage.deps import FootageDeps, find, replace
from shared.services.repository import load


def _not_for_police(principal: Principal, request_id: str) -> None:
    if not principal.is_retailer:
        raise NotFound(f"Footage request {request_id} was not found.")


@dataclass
class AnswerRequest:
    deps: FootageDeps
    evidence: Callable[[], Any]  # gives the evidence capability (shared.services.evidence.Evidence), whose intake stores streamed files

    def target_incident(self, principal: Principal, request_id: str, incident_id: str | None) -> str:
        """The report the footage is stored on: the request's own, or (for a request that
        names none) the store's report of the event, named by the uploader, which the
        request is then linked to when the first file is supplied."""
        with self.deps.records.read_only() as uow:
            stored = find(uow, principal, request_id)
            _not_for_police(principal, request_id)
            return self._target(uow, principal, stored.record, incident_id)

    def _target(self, uow: UnitOfWork, principal: Principal, request: FootageRequest, incident_id: str | None) -> str:
        if request.closed:
            raise Conflict(f"This footage request is {request.status.value.replace('_', ' ')}; nothing more can be supplied.")
        if request.incident_id is not None:
            if incident_id is not None and incident_id != request.incident_id:
                raise Invalid(
                    "This request belongs to another report; upload to the request without naming one.",
                    errors=[{"field": "incident_id", "message": "The request already names its report."}],
                )
            return request.incident_id
        if incident_id is None:
            raise Invalid(
                "This request names no report: choose your store's report of the event (file one first if there is none).",
                errors=[{"field": "incident_id", "message": "Choose the report of the event."}],
            )
        try:
            doc = self.deps.incidents.locate(uow, principal, incident_id).doc
        except NotFound:
            raise Invalid("That report was not found.", errors=[{"field": "incident_id", "message": "No such report."}]) from None
        if doc.get("store_id") != request.store_id:
            raise Invalid(
                "That report is from another store than the one asked.",
                errors=[{"field": "incident_id", "message": "Choose a report from the store asked."}],
            )
        return incident_id

    def upload(
        self,
        principal: Principal,
        request_id: str,
        body: Iterable[bytes],
        *,
        incident_id: str | None,
        complete: bool,
        content_type: str | None,
        filename: str | None,
        kind: EvidenceKind | None,
        content_digest: str | None,
        content_length: int | None,
    ) -> tuple[FootageRequest, EvidenceItem]:
        """Stream one file into the request: stored on its report by the evidence locker's own
        upload (every check it makes: type, size, digest, write once), then supplied. A
        request that names no report takes `incident_id`, the store's report of the event."""
        target = self.target_incident(principal, request_id, incident_id)
        item = self.evidence().intake.upload(
            principal,
            target,
            body,
            content_type=content_type,
            filename=filename,
            kind=kind,
            content_digest=content_digest,
            content_length=content_length,
        )
        return self.supply(principal, request_id, item.id, complete=complete), item

    def supply(self, principal: Principal, request_id: str, evidence_id: str, *, complete: bool) -> FootageRequest:
        """Supply an item already stored on the request's report (a resumable upload, or a
        file uploaded before the request came). Supplying the same item again answers the
        request as it stands."""
        deps = self.deps
        with deps.records.unit_of_work() as uow:
            stored = find(uow, principal, request_id)
            _not_for_police(principal, request_id)
            request = stored.record
            if any(s.evidence_id == evidence_id for s in request.supplied):
                return request
            doc = uow.get(EVIDENCE.name, request.organisation_id, evidence_id)
            if doc is None or doc.get("pending_since"):
                raise NotFound(f"Evidence {evidence_id} was not found.")
            item = load(EvidenceItem, doc).record
            target = self._target(uow, principal, request, request.incident_id or item.incident_id)
            if item.incident_id != target:
                raise Invalid(
                    "That file belongs to another report.", errors=[{"field": "evidence_id", "message": "Another report's file."}]
                )
            now = deps.now()
            request.incident_id = target
            request.supply(evidence_id, item.filename, by=principal.user_id, complete=complete, now=now)
            replace(uow, stored)
            custody.record_event(
                uow,
                deps.chain_keys,
                request.organisation_id,
                evidence_id,
                CustodyEvent.SUPPLIED,
                principal,
                at=now,
                details={
                    "footage_request_id": request.id,
                    "crime_reference": request.crime_reference,
                    "force_id": request.force_id,
                    "note": f"supplied in answer to footage request {request.id} for crime reference {request.crime_reference}",
                },
            )
            # The force reads what it was given as it reads a dispatched report: with a purpose, audited.
            if uow.get(ACCESS_GRANTS.name, request.force_id, target) is None:
                uow.upsert(
                    ACCESS_GRANTS.name,
                    request.force_id,
                    {
                        "id": target,
                        "owner_org": request.organisation_id,
                        "incident_id": target,
                        "reason": "footage_request",
                        "footage_request_id": request.id,
                    },
                )
            deps.audit.record(
                uow,
                owner_org=request.organisation_id,
                principal=principal,
                action=AuditAction.DISCLOSURE,
                operation="footage_request.supply",
                entity=f"evidence/{evidence_id}",
                subjects=[target, request.id],
                recipient_org=request.force_id,
            )
        return request

    def decline(self, principal: Principal, request_id: str, reason: str) -> FootageRequest:
        """The store cannot supply the footage, and says why (the force reads the reason)."""
        deps = self.deps
        with deps.records.unit_of_work() as uow:
            stored = find(uow, principal, request_id)
            _not_for_police(principal, request_id)
            stored.record.decline(reason, now=deps.now())
            replace(uow, stored)
            deps.audit.record(
                uow,
                owner_org=stored.record.organisation_id,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="footage_request.decline",
                entity=f"footage_request/{request_id}",
                fields=["status", "decline_reason"],
            )
        return stored.record
