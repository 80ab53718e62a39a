"""What the subject-request use cases answer: the operator's view of a request, an
organisation's view of its task, and the export bundle.

Times stay as the stored ISO 8601 text, so an answer carries exactly what was recorded.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class IdentityCheck(BaseModel):
    id: str
    organisation_id: str = Field(description="The organisation that checked the person's identity")
    name: str
    date_of_birth: str | None
    method: str
    verified_by: str
    verified_at: str
    request_id: str | None = Field(description="The request that used this check (each check opens one request)")


class VerifiedIdentity(BaseModel):
    organisation_id: str
    check_id: str
    method: str
    verified_by: str
    verified_at: str


class RequestTask(BaseModel):
    """One organisation's part as the operator sees it: whether it has answered, never
    whether it holds anything (every organisation of the region is asked)."""

    organisation_id: str
    status: str = Field(description="open or answered")
    answered_at: str | None
    due_at: str


class SubjectRequest(BaseModel):
    id: str
    kind: str = Field(description="access, erasure or contest_listing")
    name: str
    date_of_birth: str | None
    when_and_where: str | None
    identity: VerifiedIdentity
    received_at: str
    filed_at: str
    filed_by: str
    due_at: str
    extension_months: int
    extension_reason: str | None
    extended_at: str | None = Field(default=None, description="Only once the deadline has been extended")
    status: str = Field(description="open until every organisation asked has answered, then answered")
    tasks: list[RequestTask]
    overdue: bool


class TaskSummary(BaseModel):
    id: str
    kind: str
    status: str
    received_at: str
    due_at: str
    overdue: bool
    matches: int
    open_matches: int


class TaskPage(BaseModel):
    items: list[TaskSummary]
    continuation: str | None = None


class MatchOut(BaseModel):
    incident_id: str
    reference: str | None
    store_id: str | None
    occurred_at: str | None
    names_recorded: list[str | None]
    outcome: str | None
    deleted: bool = Field(description="The incident has been deleted since it matched")


class TaskAnswer(BaseModel):
    at: str
    by: str
    decision: str
    incident_ids: list[str]
    reason: str | None
    lawful_basis: str | None


class TaskDetail(BaseModel):
    id: str
    kind: str
    status: str
    received_at: str
    due_at: str
    overdue: bool
    matches: list[MatchOut]
    open_matches: int
    name: str
    date_of_birth: str | None
    when_and_where: str | None
    answers: list[TaskAnswer]
    extension_reason: str | None
    identity: VerifiedIdentity | None = Field(default=None, description="How the person's identity was checked, and by whom")


class ExportSubject(BaseModel):
    name: str
    date_of_birth: str | None


class ExportIncident(BaseModel):
    incident_id: str
    reference: str
    store_id: str
    category: str
    occurred_at: str
    narrative: str
    about_you: list[dict[str, Any]] = Field(description="The person's own entries in the incident")
    vehicles: list[dict[str, Any]]


class ExportBundle(BaseModel):
    request_id: str
    organisation_id: str
    generated_at: str
    subject: ExportSubject
    incidents: list[ExportIncident]
    note: str
