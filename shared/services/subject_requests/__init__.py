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

One module per side; `SubjectRequests` is what the container exposes, e.g.
`container.subject_requests.requests.file(...)` or `container.subject_requests.tasks.answer(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.services.subject_requests.deps import SubjectRequestDeps
from shared.services.subject_requests.requests import Requests
from shared.services.subject_requests.tasks import Tasks


@dataclass(frozen=True)
class SubjectRequests:
    deps: SubjectRequestDeps
    requests: Requests
    tasks: Tasks

    @classmethod
    def build(cls, deps: SubjectRequestDeps) -> SubjectRequests:
        return cls(deps=deps, requests=Requests(deps), tasks=Tasks(deps))


__all__ = ["SubjectRequestDeps", "SubjectRequests"]
