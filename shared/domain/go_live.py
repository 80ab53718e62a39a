"""An organisation's go-live, in the order a force ran it: the DPIA approved, sign-in
configured, the intelligence view on, D2P on, the first report acknowledged."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from shared.domain.errors import Conflict


class StageName(StrEnum):
    DPIA_APPROVED = "dpia_approved"
    SIGN_IN_CONFIGURED = "sign_in_configured"
    INTELLIGENCE_VIEW_ON = "intelligence_view_on"
    D2P_ON = "d2p_on"
    FIRST_REPORT_ACKNOWLEDGED = "first_report_acknowledged"


STAGE_TITLES = {
    StageName.DPIA_APPROVED: "DPIA approved",
    StageName.SIGN_IN_CONFIGURED: "Sign-in configured",
    StageName.INTELLIGENCE_VIEW_ON: "Intelligence view on",
    StageName.D2P_ON: "D2P on",
    StageName.FIRST_REPORT_ACKNOWLEDGED: "First report received and acknowledged",
}


class Stage(BaseModel):
    """One stage: done or not, who completed it and when, and what shows it."""

    name: StageName
    title: str
    complete: bool
    completed_by: str | None = Field(default=None, description="The user (or organisation, for an agreement) that completed it")
    completed_at: str | None = None
    recorded: bool = Field(description="True when an admin records it (a decision); false when read from the live configuration")
    evidence: str = Field(description="What shows the stage complete, or what completes it")


class Checklist(BaseModel):
    """An organisation's go-live stages, in order, and the first still open."""

    organisation_id: str
    organisation_name: str
    kind: str
    stages: list[Stage]
    next_stage: StageName | None = Field(description="The first stage still open; null when all are complete")
    dpia_changes_since_approval: int | None = Field(
        default=None, description="Facts of the live configuration that differ from the approved DPIA (null before any approval)"
    )

    @classmethod
    def of(cls, organisation_id: str, organisation_name: str, kind: str, stages: list[Stage], changes: int | None) -> Checklist:
        open_ = next((s.name for s in stages if not s.complete), None)
        return cls(
            organisation_id=organisation_id,
            organisation_name=organisation_name,
            kind=kind,
            stages=stages,
            next_stage=open_,
            dpia_changes_since_approval=changes,
        )


class StageOpen(Conflict):
    """A step that needs an earlier go-live stage complete: 409, the open stage named in `stage`."""

    slug, title = "go-live-stage-open", "An earlier go-live stage is not complete"
