"""Response shapes for the OpenAPI document (what clients can rely on)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.incident_report import Flags, GoodsItem, Money, PersonDescription


class PersonOut(BaseModel):
    role: str
    description: PersonDescription
    name: str | None = None
    date_of_birth: str | None = None
    under_18: bool
    offender_id: str | None = None


class VehicleOut(BaseModel):
    plate: str
    plate_normalised: str
    make: str | None = None
    model: str | None = None
    colour: str | None = None


class WitnessOut(BaseModel):
    name: str | None = Field(default=None, description="Withheld (null) from partners below full sharing")
    kind: str
    contact: str | None = None
    statement: str
    is_reporter: bool
    occupation: str | None = None
    age_if_under_18: int | None = None
    mg11: bool = False
    declaration_accepted: bool = False
    signed_at: str | None = Field(default=None, description="When the witness signed under the section 9 declaration (server time)")
    signature_sha256: str | None = Field(default=None, description="SHA-256 of the signed statement: its signature record")


class ReporterOut(BaseModel):
    name: str | None = Field(default=None, description="Withheld (null) from partners below full sharing")
    job_title: str | None = None
    phone: str | None = Field(default=None, description="Withheld (null) from partners below full sharing")


class D2PSummary(BaseModel):
    eligible: bool
    reasons: list[str] = []
    status: str | None = Field(default=None, description="The dispatch's status, once there is one")
    rules_version: int | None = Field(default=None, description="The version of the force's rules it was evaluated against")
    force_id: str | None = None
    dispatch_id: str | None = None


class IncidentOut(BaseModel):
    id: str
    reference: str = Field(examples=["NW-000123"])
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
    flags: Flags
    goods: list[GoodsItem]
    total_value: Money | None
    persons: list[PersonOut]
    persons_withheld: int | None = Field(default=None, description="Persons not shown to you (minors outside their organisation)")
    vehicles: list[VehicleOut]
    witnesses: list[WitnessOut]
    prosecution_supported: bool
    reporter: ReporterOut
    has_minor: bool
    external_reference: str | None = Field(default=None, description="The sender's own reference, when the report gave one")
    etag: str
    d2p: D2PSummary | None = None


class ReportCheckOut(BaseModel):
    """A report that would be accepted as it stands (nothing was recorded)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"valid": True}]})

    valid: bool = Field(default=True, description="Always true: a report that would be refused is answered with the problem instead")


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    continuation: str | None = Field(default=None, description="Pass back as ?continuation= for the next page; absent on the last page")


class VersionOut(BaseModel):
    incident_id: str
    version: int
    at: str
    by: str
    note: str
    snapshot: dict[str, Any]


class HistoryOut(BaseModel):
    items: list[VersionOut]


class RevertIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"version": 1}]})

    version: int = Field(ge=1, le=1_000_000)


class AuditEntryOut(BaseModel):
    id: str
    at: str
    actor_user: str
    actor_org: str
    actor_role: str
    action: str
    operation: str
    entity: str
    fields: list[str]
    subjects: list[str]
    purpose: str | None = None
    recipient_org: str | None = None
    chain: str = Field(default="audit", description="The hash chain the entry belongs to: the shard of the trail, `audit` or `audit/<k>`")
    seq: int
    prev_hash: str
    hash: str
    key_id: str | None = Field(default=None, description="The chain key the entry's hash (an HMAC) was made with")


class ChainCheck(BaseModel):
    verified: bool
    entries_checked: int
    first_broken: dict[str, Any] | None = Field(
        default=None, description="The first entry that does not verify: shard (of the audit trail), seq, id, reason"
    )
    pruned: dict[str, Any] | None = Field(
        default=None,
        description="What retention removed from the start of the chain (the anchor verification starts from): seq and when of the last removed entry, count, pruned_at, rule, schedule_version",
    )
    checkpoint: dict[str, Any] | None = Field(
        default=None,
        description="The newest write-once checkpoint (number, seq, at): entries up to it were verified when it was published; this answer walked the entries after it",
    )
    full_verification: dict[str, Any] | None = Field(
        default=None,
        description="The last walk of the whole chain (the daily audit-verify job): at, verified, entries_checked, first_broken; `verified` above is false while it reports a break",
    )


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    continuation: str | None = None
    chain: ChainCheck


class Health(BaseModel):
    status: str
    region: str
    backend: str
    checks: dict[str, str]
