"""A contest is decided by reviewing the listing: each review of a listing the request
suspended is recorded on the organisation's task as an answer, and the task is answered
once no listing of that organisation is still suspended by the request. The person is
told the outcome through the operator's request, as for any other answer."""

from __future__ import annotations

from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.events import ListingReviewed
from shared.domain.offenders import ListingStatus
from shared.domain.subject_requests import name_key
from shared.domain.timestamps import to_iso
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import OFFENDERS, SUBJECT_TASKS
from shared.services import repository
from shared.services.subject_requests.deps import SubjectRequestDeps
from shared.services.subject_requests.tasks import Tasks

# What each review outcome makes of the matched incidents it covers.
OUTCOME_OF_REVIEW = {"upheld": "listing_upheld", "withdrawn": "listing_withdrawn"}


class ContestReview:
    def __init__(self, deps: SubjectRequestDeps, tasks: Tasks) -> None:
        self.deps = deps
        self.tasks = tasks

    def record(self, uow: UnitOfWork, event: ListingReviewed) -> bool:
        """Record a review on the contest's task in the reviewing organisation; returns
        whether the task is now answered. A task already answered by hand is left alone."""
        org = event.organisation_id
        task = uow.get(SUBJECT_TASKS.name, org, event.request_id)
        if task is None or task.get("status") != "open":
            return False
        now = to_iso(self.deps.clock.now())
        outcome = OUTCOME_OF_REVIEW[event.outcome]
        linked = set(event.incident_ids)
        covered = [m["incident_id"] for m in task["matches"] if m["outcome"] is None and m["incident_id"] in linked]
        waiting = self._still_contested(uow, org, task, event)
        if not waiting:
            # The last suspended listing is decided: so is the contest, for every match.
            covered = [m["incident_id"] for m in task["matches"] if m["outcome"] is None]
        matches = [{**m, "outcome": outcome, "answered_at": now} if m["incident_id"] in covered else m for m in task["matches"]]
        answered = not waiting
        record: dict[str, Any] = {
            "at": now,
            "by": event.principal.user_id,
            "decision": f"review_{event.outcome}",
            "incident_ids": covered,
            "reason": event.note,
            "lawful_basis": None,
            "offender_id": event.offender_id,
        }
        status = "answered" if answered else "open"
        task = {**repository.body(task), "matches": matches, "status": status, "answers": [*task["answers"], record]}
        uow.replace(SUBJECT_TASKS.name, org, task, if_match=None)
        self.deps.audit.record(
            uow,
            owner_org=org,
            principal=event.principal,
            action=AuditAction.ALTERATION,
            operation=f"subject_task.review_{event.outcome}",
            entity=f"subject_request/{event.request_id}",
            subjects=covered,
            purpose="subject contest_listing request: listing reviewed",
        )
        self.tasks.mirror(uow, task, org, status, now if answered else None)
        return answered

    @staticmethod
    def _still_contested(uow: UnitOfWork, org: str, task: dict[str, Any], event: ListingReviewed) -> bool:
        """Whether another listing of `org` is still suspended by this request."""
        where = [Where("name_key", "eq", name_key(task["name"])), Where("status", "eq", ListingStatus.CONTESTED.value)]
        return any(
            doc["id"] != event.offender_id and doc.get("contest_request_id") == event.request_id
            for doc in iterate_all(uow, OFFENDERS.name, [org], where)
        )
