"""Referral routes: a force or retailer refers a series to a national unit and follows its
status; the unit lists its intake, reads a referral, accepts it, asks for more or
allocates a lead force; the referrer answers. Thin: parse, who, one call, the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from functions.http.deps import API_PREFIX, ContainerDep, IdempotencyKey, PageCursor, require
from functions.http.problems import AUTH_ERRORS, responses
from shared import settings as app_settings
from shared.domain.referrals import (
    ASSESSMENT_WORDS,
    HANDLING_WORDS,
    SOURCE_WORDS,
    STATUS_WORDS,
    AllocateIn,
    AnswerIn,
    DecisionIn,
    Grading,
    QuestionIn,
    Referral,
    ReferralIn,
    ReferralStatus,
)
from shared.domain.tenancy import Principal
from shared.services.referrals import REFERRERS, UNIT
from shared.services.referrals.read import Seen

ReferralId = Annotated[str, Path(min_length=1, max_length=64, description="Referral id")]
Referrer = Annotated[Principal, Depends(require(*REFERRERS))]
Unit = Annotated[Principal, Depends(require(*UNIT))]
Either = Annotated[Principal, Depends(require(*REFERRERS, *UNIT))]

_settings = app_settings.get_settings()

router = APIRouter(tags=["referrals"])

GRADING_EXAMPLE: dict[str, Any] = {
    "source_evaluation": "1",
    "intelligence_assessment": "B",
    "handling_code": "P",
    "conditions": None,
    "onward_sharing": True,
    "code": "1B P",
    "words": "reliable; known indirectly, corroborated; lawful sharing permitted",
}
EXAMPLE: dict[str, Any] = {
    "id": "7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f",
    "unit_id": "opal",
    "referrer_org": "northwind",
    "title": "Razor-blade thefts by one group across Devon, Cornwall, Avon and Somerset",
    "summary": "The same two people and a silver Astra at stores in two forces' areas over three weeks.",
    "status": "submitted",
    "status_words": "With the unit",
    "version": 1,
    "created_at": "2026-11-30T12:00:00Z",
    "updated_at": "2026-11-30T12:00:00Z",
    "force_ids": ["avon-and-somerset", "devon-and-cornwall"],
    "lead_force_id": None,
    "incidents": [
        {
            "incident_id": "northwind-0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
            "owner_org": "northwind",
            "reference": "NW-000123",
            "force_id": "devon-and-cornwall",
            "store_id": "nw-plymouth",
            "category": "shop_theft",
            "occurred_at": "2026-11-20T14:05:00+00:00",
            "narrative": "Two men filled a bag with razor blades and left without paying.",
            "crime_references": ["DC/2026/118734"],
            "evidence": [
                {"evidence_id": "northwind-9a8b7c6d", "exhibit_label": "ST/1", "sha256": "9f86d081" * 8, "size": 1048576, "kind": "cctv"}
            ],
            "grading": GRADING_EXAMPLE,
            "erased_at": None,
        }
    ],
    "persons": [],
    "vehicles": [
        {
            "plate": "WX19ABC",
            "note": "Seen leaving both stores.",
            "incident_ids": ["northwind-0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"],
            "grading": GRADING_EXAMPLE,
        }
    ],
    "other_forces": [],
    "withheld_count": 0,
    "withheld": [],
    "questions": [],
    "history": [{"version": 1, "status": "submitted", "at": "2026-11-30T12:00:00Z", "by": "user-1", "by_org": "northwind", "note": None}],
}


class ReferralGradingOut(BaseModel):
    source_evaluation: str
    intelligence_assessment: str
    handling_code: str
    conditions: str | None
    onward_sharing: bool
    code: str = Field(description='The grading as an officer writes it, e.g. "1B P"')
    words: str

    @classmethod
    def of(cls, g: Grading) -> ReferralGradingOut:
        words = f"{SOURCE_WORDS[g.source_evaluation]}; {ASSESSMENT_WORDS[g.intelligence_assessment]}; {HANDLING_WORDS[g.handling_code]}"
        return cls(**g.model_dump(mode="json"), code=g.code, words=words)


class ReferralEvidenceOut(BaseModel):
    evidence_id: str
    exhibit_label: str | None
    sha256: str
    size: int
    kind: str


class ReferralIncidentOut(BaseModel):
    incident_id: str
    owner_org: str
    reference: str
    force_id: str
    store_id: str
    category: str
    occurred_at: str
    narrative: str | None
    crime_references: list[str]
    evidence: list[ReferralEvidenceOut] = Field(description="Exhibits by id, SHA-256 and label; the files stay with their owner")
    grading: ReferralGradingOut
    erased_at: str | None = Field(description="When the owner erased the incident: nothing of it but this marker remains")


class ReferralPersonOut(BaseModel):
    offender_id: str
    owner_org: str
    name: str | None = Field(description="Only where the owner shares in full with the referrer")
    aliases: list[str]
    date_of_birth: str | None
    description: str | None
    incident_ids: list[str]
    grading: ReferralGradingOut


class ReferralVehicleOut(BaseModel):
    plate: str
    note: str | None
    incident_ids: list[str]
    grading: ReferralGradingOut


class ReferralPointerOut(BaseModel):
    force_id: str
    crime_reference: str
    grading: ReferralGradingOut


class ReferralWithheldOut(BaseModel):
    kind: str
    ref: str
    grading: ReferralGradingOut


class ReferralQuestionOut(BaseModel):
    question: str
    asked_at: datetime
    answer: str | None
    answered_at: datetime | None


class ReferralTransitionOut(BaseModel):
    version: int
    status: ReferralStatus
    at: datetime
    by: str
    by_org: str
    note: str | None


class ReferralOut(BaseModel):
    """A referral as its unit or its referrer sees it: the unit never sees withheld items."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: str
    unit_id: str
    referrer_org: str
    title: str
    summary: str
    status: ReferralStatus
    status_words: str
    version: int
    created_at: datetime
    updated_at: datetime
    force_ids: list[str] = Field(description="The forces whose areas the series spans (a lead force is one of them)")
    lead_force_id: str | None
    incidents: list[ReferralIncidentOut]
    persons: list[ReferralPersonOut]
    vehicles: list[ReferralVehicleOut]
    other_forces: list[ReferralPointerOut]
    withheld_count: int = Field(description="Items the source does not permit to be passed on: the unit sees only how many")
    withheld: list[ReferralWithheldOut] | None = Field(description="What the referrer held back (the referrer only; null for the unit)")
    questions: list[ReferralQuestionOut]
    history: list[ReferralTransitionOut]

    @classmethod
    def of(cls, seen: Seen) -> ReferralOut:
        r = seen.referral
        return cls(
            **r.model_dump(
                include={
                    "id",
                    "unit_id",
                    "referrer_org",
                    "title",
                    "summary",
                    "status",
                    "version",
                    "created_at",
                    "updated_at",
                    "force_ids",
                    "lead_force_id",
                }
            ),
            status_words=STATUS_WORDS[r.status],
            incidents=[
                ReferralIncidentOut(
                    **e.model_dump(exclude={"grading", "evidence"}),
                    evidence=[ReferralEvidenceOut(**x.model_dump()) for x in e.evidence],
                    grading=ReferralGradingOut.of(e.grading),
                )
                for e in r.incidents
            ],
            persons=[ReferralPersonOut(**p.model_dump(exclude={"grading"}), grading=ReferralGradingOut.of(p.grading)) for p in r.persons],
            vehicles=[
                ReferralVehicleOut(**v.model_dump(exclude={"grading"}), grading=ReferralGradingOut.of(v.grading)) for v in r.vehicles
            ],
            other_forces=[
                ReferralPointerOut(**f.model_dump(exclude={"grading"}), grading=ReferralGradingOut.of(f.grading)) for f in r.other_forces
            ],
            withheld_count=len(r.withheld),
            withheld=None
            if seen.for_unit
            else [ReferralWithheldOut(kind=w.kind, ref=w.ref, grading=ReferralGradingOut.of(w.grading)) for w in r.withheld],
            questions=[ReferralQuestionOut(**q.model_dump(include={"question", "asked_at", "answer", "answered_at"})) for q in r.questions],
            history=[ReferralTransitionOut(**t.model_dump()) for t in r.history],
        )


SUMMARY_EXAMPLE = {
    k: EXAMPLE[k]
    for k in (
        "id",
        "unit_id",
        "referrer_org",
        "title",
        "status",
        "status_words",
        "version",
        "created_at",
        "updated_at",
        "force_ids",
        "lead_force_id",
    )
} | {"incident_count": 1}


class ReferralSummaryOut(BaseModel):
    id: str
    unit_id: str
    referrer_org: str
    title: str
    status: ReferralStatus
    status_words: str
    version: int
    created_at: datetime
    updated_at: datetime
    force_ids: list[str]
    lead_force_id: str | None
    incident_count: int

    @classmethod
    def of(cls, r: Referral) -> ReferralSummaryOut:
        return cls(
            **r.model_dump(
                include={
                    "id",
                    "unit_id",
                    "referrer_org",
                    "title",
                    "status",
                    "version",
                    "created_at",
                    "updated_at",
                    "force_ids",
                    "lead_force_id",
                }
            ),
            status_words=STATUS_WORDS[r.status],
            incident_count=sum(1 for e in r.incidents if e.erased_at is None),
        )


class ReferralPageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [SUMMARY_EXAMPLE], "continuation": None}]})
    items: list[ReferralSummaryOut]
    continuation: str | None = Field(description="Send as `continuation` for the next page; null on the last")


@router.post(
    "/referrals",
    status_code=201,
    summary="Refer a series across forces' areas to a national unit, each item graded 3x5x2",
    response_model=ReferralOut,
    responses=responses(400, *AUTH_ERRORS, 409, 413, 422),
    response_description="The referral as stored and as the referrer sees it (Location names it; a replay answers the same)",
)
def make_referral(
    body: Annotated[ReferralIn, Body()],
    principal: Referrer,
    container: ContainerDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ReferralOut:
    """Refers linked incidents (each with a crime reference, spanning at least two forces' areas), the persons of interest and vehicles in them, and other forces' crime references for the series, each with a 3x5x2 grading. Anything missing is refused (422) naming each incident or item and what it lacks; nothing is stored. Items with handling code C that the source does not permit to be passed on never reach the unit; names travel only where the owner shares in full with the referrer; minors never leave their organisation."""
    made = container.referrals.create.create(principal, body, idempotency_key)
    response.headers["Location"] = f"{API_PREFIX}/referrals/{made.referral.id}"
    return ReferralOut.of(Seen(made.referral, for_unit=False))


@router.get(
    "/referrals",
    summary="Referrals: a unit's intake, or those the caller's organisation made (newest first)",
    response_model=ReferralPageOut,
    responses=responses(*AUTH_ERRORS, 422),
    response_description="One page of referrals (title, status and counts; read one for its contents)",
)
def list_referrals(
    principal: Either,
    container: ContainerDep,
    status: ReferralStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=_settings.max_page_size)] = _settings.default_page_size,
    *,
    page: PageCursor,
) -> ReferralPageOut:
    """A unit sees the referrals made to it; a force or retailer those it made, with their status."""
    found = container.referrals.read.list(principal, status=status, limit=limit, continuation=page.token)
    return ReferralPageOut(items=[ReferralSummaryOut.of(s.referral) for s in found.items], continuation=page.next(found.continuation))


@router.get(
    "/referrals/{referral_id}",
    summary="One referral (audited)",
    response_model=ReferralOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The referral, its gradings, questions and history",
)
def get_referral(referral_id: ReferralId, principal: Either, container: ContainerDep) -> ReferralOut:
    """The referral as the caller may see it: the unit, sanitised; the referrer, with what it held back."""
    return ReferralOut.of(container.referrals.read.get(principal, referral_id))


def _seen(principal: Principal, referral: Referral) -> ReferralOut:
    return ReferralOut.of(Seen(referral, for_unit=principal.organisation_id == referral.unit_id))


@router.post(
    "/referrals/{referral_id}/accept",
    summary="The unit accepts a referral",
    response_model=ReferralOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The referral, accepted",
)
def accept_referral(referral_id: ReferralId, body: Annotated[DecisionIn, Body()], principal: Unit, container: ContainerDep) -> ReferralOut:
    """The unit takes the series on; the referrer sees it accepted."""
    return _seen(principal, container.referrals.decide.accept(principal, referral_id, body.note))


@router.post(
    "/referrals/{referral_id}/questions",
    summary="The unit asks the referrer for more",
    response_model=ReferralOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The referral, waiting on the referrer's answer",
)
def ask_about_referral(
    referral_id: ReferralId, body: Annotated[QuestionIn, Body()], principal: Unit, container: ContainerDep
) -> ReferralOut:
    """The referral waits on the referrer's answer, then returns to the unit."""
    return _seen(principal, container.referrals.decide.ask(principal, referral_id, body.question))


@router.post(
    "/referrals/{referral_id}/answer",
    summary="The referrer answers the unit's question",
    response_model=ReferralOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The referral, back with the unit",
)
def answer_referral(
    referral_id: ReferralId, body: Annotated[AnswerIn, Body()], principal: Referrer, container: ContainerDep
) -> ReferralOut:
    """Answers the open question; the referral returns to where it stood when asked."""
    return _seen(principal, container.referrals.answer.answer(principal, referral_id, body.answer))


@router.post(
    "/referrals/{referral_id}/lead-force",
    summary="The unit allocates a lead force",
    response_model=ReferralOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The referral, with its lead force",
)
def allocate_lead_force(
    referral_id: ReferralId, body: Annotated[AllocateIn, Body()], principal: Unit, container: ContainerDep
) -> ReferralOut:
    """One of the forces whose areas the series spans leads the investigation (422 for any other)."""
    return _seen(principal, container.referrals.decide.allocate(principal, referral_id, body.force_id, body.note))
