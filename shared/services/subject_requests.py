"""A person's access and erasure requests, routed to every organisation holding data
that matches them.

Platform.Operator files a request on the person's behalf (the request lives in the
operator organisation's partition). Candidate matches are found through the person
index (folded name, then date of birth where both sides know it) across the
region's retailers; each organisation holding matches gets a task (in its own
partition, id = the request id) with the due date. Each organisation answers for
each matched incident: export (access), erase (erasure, through the retention
deletion path) or refuse with its lawful reason. The request is answered when every
task is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.retention import (
    ExtensionIn,
    SubjectRequestIn,
    SubjectRequestKind,
    TaskAnswerIn,
    TaskDecision,
    decision_fits,
    dob_compatible,
    extension_refusal,
    name_key,
    request_due,
)
from shared.domain.tenancy import Principal
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import Clock, RecordStore, UnitOfWork, Where, iterate_all
from shared.records import INCIDENTS, PERSON_INDEX, SUBJECT_REQUESTS, SUBJECT_TASKS
from shared.services.audit import AuditTrail, ReadEntry
from shared.services.retention import Retention

OUTCOME_OF = {TaskDecision.APPROVE_EXPORT: "exported", TaskDecision.ERASE: "erased", TaskDecision.REFUSE: "refused"}
MAX_MATCHES_PER_ORG = 500


@dataclass
class SubjectRequestService:
    records: RecordStore
    clock: Clock
    audit: AuditTrail
    retention: Retention

    # ---- the operator's side -----------------------------------------------------------
    def file(self, principal: Principal, body: SubjectRequestIn) -> dict[str, Any]:
        """Record the request, find candidate matches in the region, open a task per organisation."""
        now = self.clock.now()
        received = body.received_at or now
        if received > now:
            raise Invalid("received_at is in the future.", errors=[{"field": "received_at"}])
        key = name_key(body.name)
        retailers = self.retention.sweep.retailers()
        request_id = str(uuid.uuid4())
        due = request_due(received)
        with self.records.unit_of_work() as uow:
            matches: dict[str, dict[str, dict[str, Any]]] = {}
            if retailers:
                for p in iterate_all(uow, PERSON_INDEX.name, retailers, [Where("name_key", "eq", key)], limit=500):
                    if not dob_compatible(p.get("date_of_birth"), body.date_of_birth):
                        continue
                    found = matches.setdefault(p["_tenant"], {})
                    if p["incident_id"] in found:
                        found[p["incident_id"]]["persons"].append(p["person"])
                    elif len(found) < MAX_MATCHES_PER_ORG:
                        found[p["incident_id"]] = {"incident_id": p["incident_id"], "persons": [p["person"]]}
            tasks = []
            for org, by_incident in sorted(matches.items()):
                found = list(by_incident.values())
                task = {
                    "id": request_id,
                    "request_id": request_id,
                    "request_tenant": principal.organisation_id,
                    "kind": body.kind.value,
                    "name": body.name,
                    "date_of_birth": body.date_of_birth.isoformat() if body.date_of_birth else None,
                    "when_and_where": body.when_and_where,
                    "received_at": to_iso(received),
                    "due_at": to_iso(due),
                    "status": "open",
                    "matches": [{**m, "outcome": None} for m in found],
                    "answers": [],
                }
                uow.insert(SUBJECT_TASKS.name, org, task)
                self.audit.record(
                    uow,
                    owner_org=org,
                    principal=principal,
                    action=AuditAction.CONSULTATION,
                    operation="subject_request.match",
                    entity=f"subject_request/{request_id}",
                    subjects=[m["incident_id"] for m in found],
                    purpose=f"subject {body.kind.value} request",
                )
                tasks.append({"organisation_id": org, "status": "open", "matches": len(found), "answered_at": None})
            doc = {
                "id": request_id,
                "kind": body.kind.value,
                "name": body.name,
                "date_of_birth": body.date_of_birth.isoformat() if body.date_of_birth else None,
                "when_and_where": body.when_and_where,
                "verified_identity": body.verified_identity,
                "received_at": to_iso(received),
                "filed_at": to_iso(now),
                "filed_by": principal.user_id,
                "due_at": to_iso(due),
                "extension_months": 0,
                "extension_reason": None,
                "status": "open" if tasks else "no_data",
                "tasks": tasks,
            }
            uow.insert(SUBJECT_REQUESTS.name, principal.organisation_id, doc)
            self.audit.record(
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

    def get(self, principal: Principal, request_id: str) -> dict[str, Any]:
        """The request with each organisation's task status and due date (no case content)."""
        with self.records.read_only() as uow:
            doc = self._request(uow, principal.organisation_id, request_id)
        self.audit.record_read(
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

    def extend(self, principal: Principal, request_id: str, body: ExtensionIn) -> dict[str, Any]:
        """Extend the deadline (complex request): within the first month, two months at most in all."""
        with self.records.unit_of_work() as uow:
            doc = self._request(uow, principal.organisation_id, request_id)
            received = from_iso(doc["received_at"])
            why = extension_refusal(received, doc["extension_months"], body.months, self.clock.now())
            if why:
                raise Conflict(why)
            months = doc["extension_months"] + body.months
            due = to_iso(request_due(received, months))
            doc = {
                **_strip(doc),
                "extension_months": months,
                "extension_reason": body.reason,
                "extended_at": to_iso(self.clock.now()),
                "due_at": due,
            }
            uow.replace(SUBJECT_REQUESTS.name, principal.organisation_id, doc, if_match=None)
            for t in doc["tasks"]:
                task = uow.get(SUBJECT_TASKS.name, t["organisation_id"], request_id)
                if task is not None:
                    uow.replace(
                        SUBJECT_TASKS.name,
                        t["organisation_id"],
                        {**_strip(task), "due_at": due, "extension_reason": body.reason},
                        if_match=task["_etag"],
                    )
            self.audit.record(
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

    def _request(self, uow: UnitOfWork, tenant: str, request_id: str) -> dict[str, Any]:
        doc = uow.get(SUBJECT_REQUESTS.name, tenant, request_id) if len(request_id) <= 64 else None
        if doc is None:
            raise NotFound(f"Subject request {request_id} was not found.")
        return doc

    def _present(self, doc: dict[str, Any]) -> dict[str, Any]:
        out = _strip(doc)
        out["overdue"] = out["status"] == "open" and self.clock.now() > from_iso(out["due_at"])
        for t in out["tasks"]:
            t["due_at"] = out["due_at"]
        return out

    # ---- the organisation's side -------------------------------------------------------
    def tasks(
        self, principal: Principal, *, status: str | None, limit: int, continuation: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The caller's organisation's tasks, soonest due first."""
        where = [Where("status", "eq", status)] if status else []
        with self.records.read_only() as uow:
            page = uow.query(
                SUBJECT_TASKS.name, [principal.organisation_id], where, order_by="due_at", limit=limit, continuation=continuation
            )
            items = [self._task_summary(t) for t in page.items]
        self.audit.record_read(
            principal,
            [
                ReadEntry(
                    owner_org=principal.organisation_id,
                    action=AuditAction.CONSULTATION,
                    operation="subject_task.list",
                    entity="subject_task",
                    subjects=[t["id"] for t in items],
                )
            ],
        )
        return items, page.continuation

    def task(self, principal: Principal, task_id: str) -> dict[str, Any]:
        """One task with its matched incidents (reference, store, when) for the organisation to check."""
        with self.records.read_only() as uow:
            task = self._task(uow, principal.organisation_id, task_id)
            out = self._task_detail(uow, principal.organisation_id, task)
        self.audit.record_read(
            principal,
            [
                ReadEntry(
                    owner_org=principal.organisation_id,
                    action=AuditAction.CONSULTATION,
                    operation="subject_task.read",
                    entity=f"subject_request/{task_id}",
                    subjects=[m["incident_id"] for m in task["matches"]],
                )
            ],
        )
        return out

    def answer(self, principal: Principal, task_id: str, body: TaskAnswerIn) -> dict[str, Any]:
        """Record the organisation's answer for some or all matched incidents; erasure deletes them."""
        org = principal.organisation_id
        with self.records.unit_of_work() as uow:
            task = self._task(uow, org, task_id)
            kind = SubjectRequestKind(task["kind"])
            if not decision_fits(kind, body.decision):
                raise Invalid(
                    f"A {kind.value} request is answered with {'approve_export' if kind == SubjectRequestKind.ACCESS else 'erase'} or refuse.",
                    errors=[{"field": "decision"}],
                )
            open_ids = [m["incident_id"] for m in task["matches"] if m["outcome"] is None]
            chosen = body.incident_ids if body.incident_ids is not None else open_ids
            unknown = [i for i in chosen if i not in open_ids]
            if unknown or not chosen:
                raise Invalid(
                    "incident_ids must name matched incidents not answered yet"
                    + (f"; not open: {', '.join(unknown[:5])}" if unknown else "; none are open"),
                    errors=[{"field": "incident_ids"}],
                )
            now = to_iso(self.clock.now())
            outcome = OUTCOME_OF[body.decision]
            if body.decision == TaskDecision.ERASE:
                held = [i for i in chosen if self.retention.index.is_held(uow, org, i)]
                if held:
                    raise Conflict(
                        f"Incidents under a legal hold cannot be erased: {', '.join(held)}. Refuse for those with the lawful reason, or release the hold first.",
                        held=held,
                    )
                for incident_id in chosen:
                    if uow.get(INCIDENTS.name, org, incident_id) is not None:
                        self.retention.deletion.delete_incident(
                            uow, org, incident_id, principal=principal, cause="erasure", request_id=task_id
                        )
            matches = [{**m, "outcome": outcome, "answered_at": now} if m["incident_id"] in chosen else m for m in task["matches"]]
            answered = all(m["outcome"] is not None for m in matches)
            status = "answered" if answered else "open"
            record = {
                "at": now,
                "by": principal.user_id,
                "decision": body.decision.value,
                "incident_ids": chosen,
                "reason": body.reason,
                "lawful_basis": body.lawful_basis,
            }
            task = {**_strip(task), "matches": matches, "status": status, "answers": [*task["answers"], record]}
            uow.replace(SUBJECT_TASKS.name, org, task, if_match=None)
            self.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action={
                    TaskDecision.APPROVE_EXPORT: AuditAction.DISCLOSURE,
                    TaskDecision.ERASE: AuditAction.ERASURE,
                    TaskDecision.REFUSE: AuditAction.ALTERATION,
                }[body.decision],
                operation=f"subject_task.{body.decision.value}",
                entity=f"subject_request/{task_id}",
                subjects=chosen,
                purpose=body.reason or f"subject {kind.value} request",
            )
            self._mirror(uow, task, org, status, now if answered else None)
            return self._task_detail(uow, org, task)

    def export(self, principal: Principal, task_id: str) -> dict[str, Any]:
        """The export bundle of approved matches: the person's own entries in each incident."""
        org = principal.organisation_id
        with self.records.unit_of_work() as uow:
            task = self._task(uow, org, task_id)
            approved = [m for m in task["matches"] if m["outcome"] == "exported"]
            if not approved:
                raise Conflict("Nothing has been approved for export on this task yet.")
            incidents = []
            for m in approved:
                doc = uow.get(INCIDENTS.name, org, m["incident_id"])
                if doc is None:
                    continue
                persons = [p for i, p in enumerate(doc.get("persons", [])) if i in m["persons"]]
                incidents.append(
                    {
                        "incident_id": doc["id"],
                        "reference": doc["reference"],
                        "store_id": doc["store_id"],
                        "category": doc["category"],
                        "occurred_at": doc["occurred_at"],
                        "narrative": doc["narrative"],
                        "about_you": persons,
                        "vehicles": [{k: v for k, v in veh.items() if k != "plate_normalised"} for veh in doc.get("vehicles", [])],
                    }
                )
            self.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.DISCLOSURE,
                operation="subject_task.export",
                entity=f"subject_request/{task_id}",
                subjects=[i["incident_id"] for i in incidents],
                purpose="subject access request: export to the data subject",
            )
        return {
            "request_id": task_id,
            "organisation_id": org,
            "generated_at": to_iso(self.clock.now()),
            "subject": {"name": task["name"], "date_of_birth": task["date_of_birth"]},
            "incidents": incidents,
            "note": "Other people's details (witnesses, other persons) are left out: they are third-party data.",
        }

    def _mirror(self, uow: UnitOfWork, task: dict[str, Any], org: str, status: str, answered_at: str | None) -> None:
        """Copy an organisation's task status onto the operator's request."""
        tenant = task["request_tenant"]
        doc = uow.get(SUBJECT_REQUESTS.name, tenant, task["request_id"])
        if doc is None:
            return
        tasks = [{**t, "status": status, "answered_at": answered_at} if t["organisation_id"] == org else t for t in doc["tasks"]]
        overall = "answered" if all(t["status"] == "answered" for t in tasks) else "open"
        uow.replace(SUBJECT_REQUESTS.name, tenant, {**_strip(doc), "tasks": tasks, "status": overall}, if_match=doc["_etag"])

    def _task(self, uow: UnitOfWork, org: str, task_id: str) -> dict[str, Any]:
        task = uow.get(SUBJECT_TASKS.name, org, task_id) if len(task_id) <= 64 else None
        if task is None:
            raise NotFound(f"Subject request task {task_id} was not found.")
        return task

    def _task_summary(self, task: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": task["id"],
            "kind": task["kind"],
            "status": task["status"],
            "received_at": task["received_at"],
            "due_at": task["due_at"],
            "overdue": task["status"] == "open" and self.clock.now() > from_iso(task["due_at"]),
            "matches": len(task["matches"]),
            "open_matches": sum(1 for m in task["matches"] if m["outcome"] is None),
        }

    def _task_detail(self, uow: UnitOfWork, org: str, task: dict[str, Any]) -> dict[str, Any]:
        out = self._task_summary(task)
        out.update(
            {
                "name": task["name"],
                "date_of_birth": task["date_of_birth"],
                "when_and_where": task["when_and_where"],
                "answers": task["answers"],
                "extension_reason": task.get("extension_reason"),
            }
        )
        matches = []
        for m in task["matches"]:
            doc = uow.get(INCIDENTS.name, org, m["incident_id"])
            matches.append(
                {
                    "incident_id": m["incident_id"],
                    "reference": doc["reference"] if doc else None,
                    "store_id": doc["store_id"] if doc else None,
                    "occurred_at": doc["occurred_at"] if doc else None,
                    "names_recorded": [doc["persons"][i].get("name") for i in m["persons"] if doc and i < len(doc["persons"])],
                    "outcome": m["outcome"],
                    "deleted": doc is None,
                }
            )
        out["matches"] = matches
        return out


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}
