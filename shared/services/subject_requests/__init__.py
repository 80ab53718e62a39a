"""A person's access and erasure requests, routed to every organisation holding data
that matches them.

The organisation the person approached checks their identity and records how
(`identity.record`); Platform.Operator then routes the request naming that check (the
request lives in the operator organisation's partition). Every retailer of the region
gets a task (in its own partition, id = the request id) with the due date and the
candidate matches found in its own records through the person index (folded name, then
date of birth where both sides know it); only that organisation sees them, and one with
none answers `none_held`. The operator sees who has answered, never who holds what. Each organisation answers for
each matched incident: export (access), erase (erasure, through the retention
deletion path) or refuse with its lawful reason. The request is answered when every
task is.

One module per side; `SubjectRequests` is what the container exposes, e.g.
`container.subject_requests.requests.file(...)` or `container.subject_requests.tasks.answer(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.services.subject_requests.contest_review import ContestReview
from shared.services.subject_requests.deps import SubjectRequestDeps
from shared.services.subject_requests.identity import IdentityChecks
from shared.services.subject_requests.requests import Requests
from shared.services.subject_requests.tasks import Tasks


@dataclass(frozen=True)
class SubjectRequests:
    deps: SubjectRequestDeps
    identity: IdentityChecks
    requests: Requests
    tasks: Tasks
    contest_review: ContestReview

    @classmethod
    def build(cls, deps: SubjectRequestDeps) -> SubjectRequests:
        tasks = Tasks(deps)
        return cls(
            deps=deps, identity=IdentityChecks(deps), requests=Requests(deps), tasks=tasks, contest_review=ContestReview(deps, tasks)
        )


__all__ = ["SubjectRequestDeps", "SubjectRequests"]
