"""The organisation's side: its tasks, one task with its matches, the answer (export,
erase or refuse) and the export bundle of what it approved."""

from __future__ import annotations

from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Invalid
from shared.domain.subject_requests import SubjectRequestKind, TaskAnswerIn, TaskDecision, decision_fits
from shared.domain.tenancy import Principal
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import UnitOfWork, Where
from shared.records import INCIDENTS, SUBJECT_REQUESTS, SUBJECT_TASKS
from shared.services import repository
from shared.services.audit import ReadEntry
from shared.services.subject_requests.deps import SubjectRequestDeps, read_task
from shared.services.subject_requests.results import ExportBundle, TaskDetail, TaskPage, TaskSummary

# What answers each kind besides refuse (a contest: reviewing the listing, then refuse or none_held).
ANSWERS_OF = {SubjectRequestKind.ACCESS: "approve_export", SubjectRequestKind.ERASURE: "erase"}

OUTCOME_OF = {
    TaskDecision.APPROVE_EXPORT: "exported",
    TaskDecision.ERASE: "erased",
    TaskDecision.REFUSE: "refused",
    TaskDecision.NONE_HELD: "none_held",
}
AUDIT_ACTION_OF = {
    TaskDecision.APPROVE_EXPORT: AuditAction.DISCLOSURE,
    TaskDecision.ERASE: AuditAction.ERASURE,
    TaskDecision.REFUSE: AuditAction.ALTERATION,
    TaskDecision.NONE_HELD: AuditAction.ALTERATION,
}
THIRD_PARTY_NOTE = "Other people's details (witnesses, other persons) are left out: they are third-party data."


class Tasks:
    def __init__(self, deps: SubjectRequestDeps) -> None:
        self.deps = deps

    def list(self, principal: Principal, *, status: str | None, limit: int, continuation: str | None) -> TaskPage:
        """The caller's organisation's tasks, soonest due first."""
        where = [Where("status", "eq", status)] if status else []
        with self.deps.records.read_only() as uow:
            page = uow.query(
                SUBJECT_TASKS.name, [principal.organisation_id], where, order_by="due_at", limit=limit, continuation=continuation
            )
            items = [self._summary(t) for t in page.items]
        self.deps.audit.record_read(
            principal,
            [
                ReadEntry(
                    owner_org=principal.organisation_id,
                    action=AuditAction.CONSULTATION,
                    operation="subject_task.list",
                    entity="subject_task",
                    subjects=[t.id for t in items],
                )
            ],
        )
        return TaskPage(items=items, continuation=page.continuation)

    def get(self, principal: Principal, task_id: str) -> TaskDetail:
        """One task with its matched incidents (reference, store, when) for the organisation to check."""
        with self.deps.records.read_only() as uow:
            task = read_task(uow, principal.organisation_id, task_id)
            out = self._detail(uow, principal.organisation_id, task)
        self.deps.audit.record_read(
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

    def answer(self, principal: Principal, task_id: str, body: TaskAnswerIn) -> TaskDetail:
        """Record the organisation's answer for some or all matched incidents; erasure deletes them."""
        d = self.deps
        org = principal.organisation_id
        with d.records.unit_of_work() as uow:
            task = read_task(uow, org, task_id)
            kind = SubjectRequestKind(task["kind"])
            if not decision_fits(kind, body.decision):
                raise Invalid(
                    f"A {kind.value} request is answered with {ANSWERS_OF.get(kind, 'refuse')} or refuse.",
                    errors=[{"field": "decision"}],
                )
            open_ids = [m["incident_id"] for m in task["matches"] if m["outcome"] is None]
            chosen: list[str] = []
            if body.decision == TaskDecision.NONE_HELD:
                if task["matches"] or task["status"] != "open" or body.incident_ids:
                    raise Invalid(
                        "none_held answers an open task that lists no matches; answer each listed match instead.",
                        errors=[{"field": "decision"}],
                    )
            else:
                chosen = body.incident_ids if body.incident_ids is not None else open_ids
                unknown = [i for i in chosen if i not in open_ids]
                if unknown or not chosen:
                    raise Invalid(
                        "incident_ids must name matched incidents not answered yet"
                        + (f"; not open: {', '.join(unknown[:5])}" if unknown else "; none are open"),
                        errors=[{"field": "incident_ids"}],
                    )
            now = to_iso(d.clock.now())
            outcome = OUTCOME_OF[body.decision]
            if body.decision == TaskDecision.ERASE:
                held = [i for i in chosen if d.retention.index.is_held(uow, org, i)]
                if held:
                    raise Conflict(
                        f"Incidents under a legal hold cannot be erased: {', '.join(held)}. Refuse for those with the lawful reason, or release the hold first.",
                        held=held,
                    )
                for incident_id in chosen:
                    if uow.get(INCIDENTS.name, org, incident_id) is not None:
                        d.retention.deletion.delete_incident(
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
            task = {**repository.body(task), "matches": matches, "status": status, "answers": [*task["answers"], record]}
            uow.replace(SUBJECT_TASKS.name, org, task, if_match=None)
            d.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AUDIT_ACTION_OF[body.decision],
                operation=f"subject_task.{body.decision.value}",
                entity=f"subject_request/{task_id}",
                subjects=chosen,
                purpose=body.reason or f"subject {kind.value} request",
            )
            self.mirror(uow, task, org, status, now if answered else None)
            return self._detail(uow, org, task)

    def export(self, principal: Principal, task_id: str) -> ExportBundle:
        """The export bundle of approved matches: the person's own entries in each incident."""
        d = self.deps
        org = principal.organisation_id
        with d.records.unit_of_work() as uow:
            task = read_task(uow, org, task_id)
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
            d.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.DISCLOSURE,
                operation="subject_task.export",
                entity=f"subject_request/{task_id}",
                subjects=[i["incident_id"] for i in incidents],
                purpose="subject access request: export to the data subject",
            )
        return ExportBundle.model_validate(
            {
                "request_id": task_id,
                "organisation_id": org,
                "generated_at": to_iso(d.clock.now()),
                "subject": {"name": task["name"], "date_of_birth": task["date_of_birth"]},
                "incidents": incidents,
                "note": THIRD_PARTY_NOTE,
            }
        )

    def mirror(self, uow: UnitOfWork, task: dict[str, Any], org: str, status: str, answered_at: str | None) -> None:
        """Copy an organisation's task status onto the operator's request."""
        tenant = task["request_tenant"]
        doc = uow.get(SUBJECT_REQUESTS.name, tenant, task["request_id"])
        if doc is None:
            return
        tasks = [{**t, "status": status, "answered_at": answered_at} if t["organisation_id"] == org else t for t in doc["tasks"]]
        overall = "answered" if all(t["status"] == "answered" for t in tasks) else "open"
        uow.replace(
            SUBJECT_REQUESTS.name, tenant, {**repository.body(doc), "tasks": tasks, "status": overall}, if_match=repository.etag(doc)
        )

    def _summary_fields(self, task: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": task["id"],
            "kind": task["kind"],
            "status": task["status"],
            "received_at": task["received_at"],
            "due_at": task["due_at"],
            "overdue": task["status"] == "open" and self.deps.clock.now() > from_iso(task["due_at"]),
            "matches": len(task["matches"]),
            "open_matches": sum(1 for m in task["matches"] if m["outcome"] is None),
        }

    def _summary(self, task: dict[str, Any]) -> TaskSummary:
        return TaskSummary.model_validate(self._summary_fields(task))

    def _detail(self, uow: UnitOfWork, org: str, task: dict[str, Any]) -> TaskDetail:
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
        return TaskDetail.model_validate(
            {
                **self._summary_fields(task),
                "name": task["name"],
                "date_of_birth": task["date_of_birth"],
                "when_and_where": task["when_and_where"],
                "answers": task["answers"],
                "extension_reason": task.get("extension_reason"),
                "identity": task.get("identity"),
                "matches": matches,
            }
        )
