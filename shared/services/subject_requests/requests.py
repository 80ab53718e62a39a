"""The operator's side: route a person's request, read where it stands, extend its deadline.

The operator routes and chases; it never learns whether anyone holds the person."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Invalid
from shared.domain.events import ListingContested
from shared.domain.subject_requests import (
    ExtensionIn,
    SubjectRequestIn,
    SubjectRequestKind,
    dob_compatible,
    extension_refusal,
    identity_matches,
    name_key,
    receipt_refusal,
    request_due,
)
from shared.domain.tenancy import Principal
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import PERSON_INDEX, SUBJECT_REQUESTS, SUBJECT_TASKS
from shared.services import repository
from shared.services.audit import ReadEntry
from shared.services.subject_requests.deps import SubjectRequestDeps, read_request
from shared.services.subject_requests.identity import IDENTITY_CHECK
from shared.services.subject_requests.results import SubjectRequest

# A task lists at most this many incidents: a common name must not make one task unbounded.
MAX_MATCHES_PER_ORG = 500


class Requests:
    def __init__(self, deps: SubjectRequestDeps) -> None:
        self.deps = deps

    def file(self, principal: Principal, body: SubjectRequestIn) -> SubjectRequest:
        """Route the request to every retailer of the region, each finding its own candidate matches.

        Refused (422) without an identity check by the organisation the person approached,
        or with a receipt time in the future or further back than the receipt window. The
        answer names the organisations asked (all of them) and never what any of them holds.
        """
        d = self.deps
        now = d.clock.now()
        received = body.received_at or now
        why = receipt_refusal(received, now, d.receipt_window_days)
        if why:
            raise Invalid(why, errors=[{"field": "received_at", "message": why}])
        key = name_key(body.name)
        retailers = d.retention.sweep.retailers()
        request_id = str(uuid.uuid4())
        due = request_due(received)
        with d.records.unit_of_work() as uow:
            identity = self._use_identity_check(uow, body, request_id)
            matches: dict[str, dict[str, dict[str, Any]]] = {org: {} for org in retailers}
            if retailers:
                for p in iterate_all(uow, PERSON_INDEX.name, retailers, [Where("name_key", "eq", key)], limit=500):
                    if not dob_compatible(p.get("date_of_birth"), body.date_of_birth):
                        continue
                    found = matches.setdefault(repository.tenant(p), {})
                    if p["incident_id"] in found:
                        found[p["incident_id"]]["persons"].append(p["person"])
                    elif len(found) < MAX_MATCHES_PER_ORG:
                        found[p["incident_id"]] = {"incident_id": p["incident_id"], "persons": [p["person"]]}
            tasks: list[dict[str, Any]] = []
            for org, by_incident in sorted(matches.items()):
                listed = list(by_incident.values())
                task: dict[str, Any] = {
                    "id": request_id,
                    "request_id": request_id,
                    "request_tenant": principal.organisation_id,
                    "kind": body.kind.value,
                    "name": body.name,
                    "date_of_birth": body.date_of_birth.isoformat() if body.date_of_birth else None,
                    "when_and_where": body.when_and_where,
                    "received_at": to_iso(received),
                    "due_at": to_iso(due),
                    "identity": identity,
                    "status": "open",
                    "matches": [{**m, "outcome": None} for m in listed],
                    "answers": [],
                }
                uow.insert(SUBJECT_TASKS.name, org, task)
                # Kept in the organisation's own chain: the operator's chain must not say who matched where.
                d.audit.record(
                    uow,
                    owner_org=org,
                    principal=principal,
                    action=AuditAction.CONSULTATION,
                    operation="subject_request.match",
                    entity=f"subject_request/{request_id}",
                    subjects=[m["incident_id"] for m in listed],
                    purpose=f"subject {body.kind.value} request",
                )
                tasks.append({"organisation_id": org, "status": "open", "answered_at": None})
            doc: dict[str, Any] = {
                "id": request_id,
                "kind": body.kind.value,
                "name": body.name,
                "date_of_birth": body.date_of_birth.isoformat() if body.date_of_birth else None,
                "when_and_where": body.when_and_where,
                "identity": identity,
                "received_at": to_iso(received),
                "filed_at": to_iso(now),
                "filed_by": principal.user_id,
                "due_at": to_iso(due),
                "extension_months": 0,
                "extension_reason": None,
                "status": "open" if tasks else "answered",
                "tasks": tasks,
            }
            uow.insert(SUBJECT_REQUESTS.name, principal.organisation_id, doc)
            if body.kind == SubjectRequestKind.CONTEST_LISTING and d.bus is not None:
                d.bus.publish(
                    uow,
                    ListingContested(
                        principal=principal,
                        request_id=request_id,
                        organisations=sorted(matches),
                        name=body.name,
                        date_of_birth=doc["date_of_birth"],
                        received_at=to_iso(received),
                    ),
                )
            d.audit.record(
                uow,
                owner_org=principal.organisation_id,
                principal=principal,
                action=AuditAction.COLLECTION,
                operation="subject_request.file",
                entity=f"subject_request/{request_id}",
                fields=["name", "date_of_birth", "when_and_where"],
                purpose=f"subject {body.kind.value} request",
            )
        return self._present(doc)

    def _use_identity_check(self, uow: UnitOfWork, body: SubjectRequestIn, request_id: str) -> dict[str, Any]:
        """The identity check the request names, marked as used by it (one request per check)."""
        ref = body.identity_check
        check = uow.get(SUBJECT_REQUESTS.name, ref.organisation_id, ref.id)
        why = None
        if check is None or check.get("record") != IDENTITY_CHECK:
            why = "identity_check names no identity check: the organisation the person approached records one first (POST /subject-requests/identity-checks)."
        elif check["request_id"] is not None:
            why = "identity_check has already opened a request; each request needs its own check."
        elif not identity_matches(check, body.name, body.date_of_birth):
            why = "identity_check was recorded for a different name or date of birth."
        elif from_iso(check["verified_at"]) < self.deps.clock.now() - timedelta(days=self.deps.receipt_window_days):
            # A stale check says little about who is asking now; the request is routed as it arrives.
            why = f"identity_check is more than {self.deps.receipt_window_days} days old; check the person's identity again."
        if why:
            raise Invalid(why, errors=[{"field": "identity_check", "message": why}])
        assert check is not None
        uow.replace(
            SUBJECT_REQUESTS.name,
            ref.organisation_id,
            {**repository.body(check), "request_id": request_id},
            if_match=repository.etag(check),
        )
        return {
            "organisation_id": ref.organisation_id,
            "check_id": ref.id,
            "method": check["method"],
            "verified_by": check["verified_by"],
            "verified_at": check["verified_at"],
        }

    def get(self, principal: Principal, request_id: str) -> SubjectRequest:
        """The request with each organisation's task status and due date (no case content)."""
        with self.deps.records.read_only() as uow:
            doc = read_request(uow, principal.organisation_id, request_id)
        self.deps.audit.record_read(
            principal,
            [
                ReadEntry(
                    owner_org=principal.organisation_id,
                    action=AuditAction.CONSULTATION,
                    operation="subject_request.read",
                    entity=f"subject_request/{request_id}",
                )
            ],
        )
        return self._present(doc)

    def extend(self, principal: Principal, request_id: str, body: ExtensionIn) -> SubjectRequest:
        """Extend the deadline (complex request): within the first month, two months at most in all."""
        d = self.deps
        with d.records.unit_of_work() as uow:
            doc = read_request(uow, principal.organisation_id, request_id)
            received = from_iso(doc["received_at"])
            why = extension_refusal(received, doc["extension_months"], body.months, d.clock.now())
            if why:
                raise Conflict(why)
            months = doc["extension_months"] + body.months
            due = to_iso(request_due(received, months))
            doc = {
                **repository.body(doc),
                "extension_months": months,
                "extension_reason": body.reason,
                "extended_at": to_iso(d.clock.now()),
                "due_at": due,
            }
            uow.replace(SUBJECT_REQUESTS.name, principal.organisation_id, doc, if_match=None)
            for t in doc["tasks"]:
                task = uow.get(SUBJECT_TASKS.name, t["organisation_id"], request_id)
                if task is not None:
                    uow.replace(
                        SUBJECT_TASKS.name,
                        t["organisation_id"],
                        {**repository.body(task), "due_at": due, "extension_reason": body.reason},
                        if_match=repository.etag(task),
                    )
            d.audit.record(
                uow,
                owner_org=principal.organisation_id,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="subject_request.extend",
                entity=f"subject_request/{request_id}",
                fields=["due_at"],
                purpose=body.reason,
            )
        return self._present(doc)

    def _present(self, doc: dict[str, Any]) -> SubjectRequest:
        out = repository.body(doc)
        out["overdue"] = out["status"] == "open" and self.deps.clock.now() > from_iso(out["due_at"])
        out["tasks"] = [{**t, "due_at": out["due_at"]} for t in out["tasks"]]
        # Built from the stored keys only, so `extended_at` stays unset until an extension.
        return SubjectRequest.model_validate(out)
