"""The API's answer shapes, with the API's own field names (see the OpenAPI document at
/api/v1/openapi.json). TypedDicts: answers stay plain dicts, so a field the API adds later
is kept, not dropped."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class Money(TypedDict):
    amount_minor: int
    currency: str


class D2PSummary(TypedDict, total=False):
    eligible: bool
    reasons: list[str]
    status: str | None
    rules_version: int | None
    force_id: str | None
    dispatch_id: str | None


class Incident(TypedDict, total=False):
    id: str
    reference: str
    organisation_id: str
    store_id: str
    force_id: str
    category: str
    occurred_at: str
    reported_at: str
    created_at: str
    updated_at: str
    created_by: str
    version: int
    narrative: str
    flags: dict[str, Any]
    goods: list[dict[str, Any]]
    total_value: Money | None
    persons: list[dict[str, Any]]
    persons_withheld: int | None
    vehicles: list[dict[str, Any]]
    witnesses: list[dict[str, Any]]
    prosecution_supported: bool
    reporter: dict[str, Any]
    has_minor: bool
    etag: str
    d2p: D2PSummary | None


class Evidence(TypedDict, total=False):
    id: str
    incident_id: str
    organisation_id: str
    kind: str
    media: str
    content_type: str
    detected_type: str
    filename: str
    sha256: str
    size: int
    created_at: str
    created_by: str
    derived_from: str | None
    retention_until: str
    legal_hold: bool
    last_verified_at: str | None
    last_verification: str | None


class UploadSession(TypedDict):
    id: str
    incident_id: str
    filename: str
    content_type: str
    size: int
    received: int
    expires_at: str
    state: str
    evidence_id: str | None
    chunks_url: str
    commit_url: str
    max_chunk_bytes: NotRequired[int]


class Dispatch(TypedDict, total=False):
    id: str
    incident_id: str
    owner_org: str
    force_id: str
    reference: str
    status: str
    auto: bool
    rules_version: int | None
    created_at: str
    sent_at: str | None
    attempts: int
    to: str | None
    failure_reason: str | None
    last_error: str | None
    evaluation: dict[str, Any]


class ReadBatchResult(TypedDict):
    accepted: int
    stored: int
    duplicates: int
    hits: list[dict[str, Any]]


class Health(TypedDict):
    status: str
    region: str
    backend: str
    checks: dict[str, str]
