"""Referrals to a national unit: a force or retailer refers a series of linked incidents
across forces' areas, with the persons and vehicles in it, each intelligence item graded
on the UK 3x5x2 system; the unit accepts it, asks for more, or allocates a lead force.

3x5x2: source evaluation (1 reliable, 2 untested, 3 not reliable), intelligence
assessment (A known directly; B known indirectly, corroborated; C known indirectly;
D not known; E suspected false) and handling code (P lawful sharing permitted; C lawful
sharing with conditions, the conditions stated).

Pure: no I/O, no clock (times are passed in).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.errors import Conflict, Invalid

MAX_INCIDENTS = 200
MAX_PERSONS = 50
MAX_VEHICLES = 50
MAX_POINTERS = 20
# A series is cross-force by definition: one force's area is that force's own case.
MIN_FORCE_AREAS = 2


class SourceEvaluation(StrEnum):
    RELIABLE = "1"
    UNTESTED = "2"
    NOT_RELIABLE = "3"


class IntelligenceAssessment(StrEnum):
    KNOWN_DIRECTLY = "A"
    KNOWN_INDIRECTLY_CORROBORATED = "B"
    KNOWN_INDIRECTLY = "C"
    NOT_KNOWN = "D"
    SUSPECTED_FALSE = "E"


class HandlingCode(StrEnum):
    PERMITTED = "P"
    CONDITIONS = "C"


SOURCE_WORDS = {
    SourceEvaluation.RELIABLE: "reliable",
    SourceEvaluation.UNTESTED: "untested",
    SourceEvaluation.NOT_RELIABLE: "not reliable",
}
ASSESSMENT_WORDS = {
    IntelligenceAssessment.KNOWN_DIRECTLY: "known directly",
    IntelligenceAssessment.KNOWN_INDIRECTLY_CORROBORATED: "known indirectly, corroborated",
    IntelligenceAssessment.KNOWN_INDIRECTLY: "known indirectly",
    IntelligenceAssessment.NOT_KNOWN: "not known",
    IntelligenceAssessment.SUSPECTED_FALSE: "suspected false",
}
HANDLING_WORDS = {
    HandlingCode.PERMITTED: "lawful sharing permitted",
    HandlingCode.CONDITIONS: "lawful sharing with conditions",
}


class ReferralStatus(StrEnum):
    SUBMITTED = "submitted"  # with the unit, to decide
    INFORMATION_REQUESTED = "information_requested"  # the unit asked the referrer a question
    ACCEPTED = "accepted"  # the unit takes the series on
    LEAD_FORCE_ALLOCATED = "lead_force_allocated"  # a force in the series leads the investigation


STATUS_WORDS = {
    ReferralStatus.SUBMITTED: "With the unit",
    ReferralStatus.INFORMATION_REQUESTED: "The unit asked for more",
    ReferralStatus.ACCEPTED: "Accepted by the unit",
    ReferralStatus.LEAD_FORCE_ALLOCATED: "Lead force allocated",
}


# ---- what a referrer sends -------------------------------------------------------------------


class GradingIn(BaseModel):
    """The 3x5x2 grading of one intelligence item. Every part is required; they are
    optional here only so a referral missing one is answered naming exactly which."""

    model_config = ConfigDict(extra="forbid")

    source_evaluation: SourceEvaluation | None = Field(default=None, description="1 reliable, 2 untested, 3 not reliable")
    intelligence_assessment: IntelligenceAssessment | None = Field(
        default=None, description="A known directly; B known indirectly, corroborated; C known indirectly; D not known; E suspected false"
    )
    handling_code: HandlingCode | None = Field(default=None, description="P lawful sharing permitted; C lawful sharing with conditions")
    conditions: str | None = Field(default=None, max_length=1000, description="The source's conditions (required with handling code C)")
    onward_sharing: bool = Field(
        default=True,
        description="False when the source does not permit the item to be passed on (handling code C only): "
        "it stays with the referrer and never reaches the unit",
    )


class IncidentItemIn(BaseModel):
    """One incident of the series, named by its id or by the crime reference a force
    acknowledged its report with (exactly one of them)."""

    model_config = ConfigDict(extra="forbid")
    incident_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="An incident the referrer may see (its own, or shared with it)"
    )
    crime_reference: str | None = Field(
        default=None, min_length=3, max_length=64, description="Or the crime reference its report was acknowledged with"
    )
    grading: GradingIn | None = None

    @model_validator(mode="after")
    def _one_name(self) -> IncidentItemIn:
        if (self.incident_id is None) == (self.crime_reference is None):
            raise ValueError("name the incident by incident_id or by crime_reference (one of them)")
        return self


class PersonItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offender_id: str = Field(min_length=1, max_length=64, description="A person named in one of the referral's incidents")
    grading: GradingIn | None = None


class VehicleItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plate: str = Field(min_length=1, max_length=20, description="A vehicle recorded on one of the referral's incidents")
    note: str | None = Field(default=None, max_length=1000)
    grading: GradingIn | None = None


class ForcePointerIn(BaseModel):
    """Another force's record of the same series, known to the referrer (a pointer with a
    crime reference, never that force's records): the unit asks that force for it."""

    model_config = ConfigDict(extra="forbid")
    force_id: str = Field(min_length=1, max_length=64)
    crime_reference: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9/\-_. ]+$")
    grading: GradingIn | None = None


GRADED_P: dict[str, Any] = {"source_evaluation": "1", "intelligence_assessment": "B", "handling_code": "P"}


class ReferralIn(BaseModel):
    """A series referred to a national unit."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "unit_id": "opal",
                    "title": "Razor-blade thefts by one group across Devon, Cornwall, Avon and Somerset",
                    "summary": "The same two people and a silver Astra at stores in two forces' areas over three weeks.",
                    "incidents": [
                        {
                            "crime_reference": "DC/2026/118734",
                            "grading": {
                                "source_evaluation": "2",
                                "intelligence_assessment": "B",
                                "handling_code": "C",
                                "conditions": "Not to be used in evidence without the retailer's consent.",
                            },
                        }
                    ],
                    "persons": [],
                    "vehicles": [{"plate": "WR21XKD", "note": "Seen leaving both stores.", "grading": GRADED_P}],
                    "other_forces": [{"force_id": "avon-and-somerset", "crime_reference": "AS/2026/5531", "grading": GRADED_P}],
                }
            ]
        },
    )

    unit_id: str = Field(min_length=1, max_length=64, description="The national unit referred to, e.g. opal")
    title: str = Field(min_length=3, max_length=200)
    summary: str = Field(min_length=3, max_length=4000, description="What links the series, in the referrer's words")
    incidents: list[IncidentItemIn] = Field(min_length=1, max_length=MAX_INCIDENTS)
    persons: list[PersonItemIn] = Field(default_factory=list, max_length=MAX_PERSONS)
    vehicles: list[VehicleItemIn] = Field(default_factory=list, max_length=MAX_VEHICLES)
    other_forces: list[ForcePointerIn] = Field(default_factory=list, max_length=MAX_POINTERS)


def grading_problems(where: str, grading: GradingIn | None) -> list[dict[str, Any]]:
    """What is missing or wrong in one item's grading, each naming the item (`where`, e.g.
    "incidents[1] (NW-000123)") and the part; empty when it is complete."""
    field = where.split(" ", 1)[0]
    if grading is None:
        return [
            {
                "field": f"{field}.grading",
                "message": f"{where} has no 3x5x2 grading (source evaluation, intelligence assessment, handling code).",
            }
        ]
    out = []
    if grading.source_evaluation is None:
        out.append({"field": f"{field}.grading.source_evaluation", "message": f"{where} has no source evaluation (1, 2 or 3)."})
    if grading.intelligence_assessment is None:
        out.append({"field": f"{field}.grading.intelligence_assessment", "message": f"{where} has no intelligence assessment (A to E)."})
    if grading.handling_code is None:
        out.append({"field": f"{field}.grading.handling_code", "message": f"{where} has no handling code (P or C)."})
    conditions = (grading.conditions or "").strip()
    if grading.handling_code == HandlingCode.CONDITIONS and not conditions:
        out.append({"field": f"{field}.grading.conditions", "message": f"{where} has handling code C but no conditions."})
    if grading.handling_code == HandlingCode.PERMITTED and conditions:
        out.append({"field": f"{field}.grading.conditions", "message": f"{where} has handling code P: conditions need handling code C."})
    if grading.handling_code == HandlingCode.PERMITTED and not grading.onward_sharing:
        out.append(
            {
                "field": f"{field}.grading.onward_sharing",
                "message": f"{where} has handling code P, which permits sharing: withholding it needs C.",
            }
        )
    return out


def refuse_if(problems: list[dict[str, Any]]) -> None:
    """Invalid naming every problem at once, so a referrer fixes a referral in one go."""
    if problems:
        raise Invalid(
            "The referral cannot be made: " + " ".join(p["message"] for p in problems[:20]) + (" ..." if len(problems) > 20 else ""),
            errors=problems,
        )


# ---- what is stored --------------------------------------------------------------------------


class Grading(BaseModel):
    """A complete 3x5x2 grading."""

    source_evaluation: SourceEvaluation
    intelligence_assessment: IntelligenceAssessment
    handling_code: HandlingCode
    conditions: str | None = None
    onward_sharing: bool = True

    @classmethod
    def of(cls, given: GradingIn) -> Grading:
        assert given.source_evaluation and given.intelligence_assessment and given.handling_code  # checked by grading_problems
        return cls(
            source_evaluation=given.source_evaluation,
            intelligence_assessment=given.intelligence_assessment,
            handling_code=given.handling_code,
            conditions=(given.conditions or "").strip() or None,
            onward_sharing=given.onward_sharing,
        )

    @property
    def code(self) -> str:
        """As an officer writes it, e.g. "1B P" or "2C C"."""
        return f"{self.source_evaluation.value}{self.intelligence_assessment.value} {self.handling_code.value}"

    @property
    def withheld(self) -> bool:
        """The source does not permit it to be passed on: it never reaches the unit."""
        return self.handling_code == HandlingCode.CONDITIONS and not self.onward_sharing


class EvidenceRef(BaseModel):
    """One exhibit of an incident as a referral lists it: which file, never the file."""

    evidence_id: str
    exhibit_label: str | None = None
    sha256: str
    size: int
    kind: str


class IncidentEntry(BaseModel):
    incident_id: str
    owner_org: str
    reference: str
    force_id: str
    store_id: str
    category: str
    occurred_at: str
    narrative: str | None = None
    crime_references: list[str] = Field(default_factory=list)
    evidence: list[EvidenceRef] = Field(default_factory=list)
    grading: Grading
    # The owner erased the incident (retention or an erasure request): only this marker stays.
    erased_at: str | None = None


class PersonEntry(BaseModel):
    offender_id: str
    owner_org: str
    # Below `full` sharing with the referrer (not the owner), names never travel.
    name: str | None = None
    aliases: list[str] = Field(default_factory=list)
    date_of_birth: str | None = None
    description: str | None = None
    incident_ids: list[str] = Field(default_factory=list)
    grading: Grading


class VehicleEntry(BaseModel):
    plate: str
    note: str | None = None
    incident_ids: list[str] = Field(default_factory=list)
    grading: Grading


class ForcePointer(BaseModel):
    force_id: str
    crime_reference: str
    grading: Grading


class WithheldItem(BaseModel):
    """An item the source does not permit to be passed on: the referrer's note of what it
    held back (kind and its own id), never its content; the unit sees only how many."""

    kind: Literal["incident", "person", "vehicle", "force"]
    ref: str
    grading: Grading


class Question(BaseModel):
    question: str
    asked_at: datetime
    asked_by: str
    answer: str | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    returns_to: ReferralStatus = ReferralStatus.SUBMITTED


class Transition(BaseModel):
    version: int
    status: ReferralStatus
    at: datetime
    by: str
    by_org: str
    note: str | None = None


class Referral(BaseModel):
    """A referral as stored, in the unit's partition; the referrer finds its own by
    `referrer_org`. It holds only what the unit may receive (withheld items by id)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    unit_id: str
    referrer_org: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    title: str
    summary: str
    incidents: list[IncidentEntry]
    persons: list[PersonEntry] = Field(default_factory=list)
    vehicles: list[VehicleEntry] = Field(default_factory=list)
    other_forces: list[ForcePointer] = Field(default_factory=list)
    withheld: list[WithheldItem] = Field(default_factory=list)
    force_ids: list[str] = Field(default_factory=list)  # the forces whose areas the series spans
    incident_ids: list[str] = Field(default_factory=list)  # indexed: an erased incident finds its referrals
    status: ReferralStatus = ReferralStatus.SUBMITTED
    version: int = 1
    history: list[Transition] = Field(default_factory=list)
    questions: list[Question] = Field(default_factory=list)
    lead_force_id: str | None = None
    # Retention counts from the last change: a live series keeps its referral.
    retention_basis: datetime

    @classmethod
    def open(cls, *, unit_id: str, referrer_org: str, by: str, now: datetime, title: str, summary: str, **items: Any) -> Referral:
        referral = cls(
            id=uuid.uuid4().hex,
            unit_id=unit_id,
            referrer_org=referrer_org,
            created_by=by,
            created_at=now,
            updated_at=now,
            title=title.strip(),
            summary=summary.strip(),
            retention_basis=now,
            **items,
        )
        referral.incident_ids = [i.incident_id for i in referral.incidents]
        referral.history.append(Transition(version=1, status=referral.status, at=now, by=by, by_org=referrer_org))
        return referral

    # ---- the unit's decisions and the referrer's answer ----------------------------------

    def _move(self, status: ReferralStatus, *, by: str, by_org: str, now: datetime, note: str | None = None) -> None:
        self.status = status
        self.version += 1
        self.updated_at = now
        self.retention_basis = now
        self.history.append(Transition(version=self.version, status=status, at=now, by=by, by_org=by_org, note=note))

    def _refuse(self, doing: str) -> Conflict:
        return Conflict(f"This referral is {STATUS_WORDS[self.status].lower()}; it cannot be {doing}.", referral_status=self.status.value)

    def accept(self, *, by: str, now: datetime, note: str | None = None) -> None:
        if self.status != ReferralStatus.SUBMITTED:
            raise self._refuse("accepted")
        self._move(ReferralStatus.ACCEPTED, by=by, by_org=self.unit_id, now=now, note=note)

    def ask(self, question: str, *, by: str, now: datetime) -> None:
        """The unit asks the referrer for more; the referral waits on the answer."""
        if self.status not in (ReferralStatus.SUBMITTED, ReferralStatus.ACCEPTED):
            raise self._refuse("questioned")
        self.questions.append(Question(question=question.strip(), asked_at=now, asked_by=by, returns_to=self.status))
        self._move(ReferralStatus.INFORMATION_REQUESTED, by=by, by_org=self.unit_id, now=now, note=question.strip())

    def answer(self, answer: str, *, by: str, now: datetime) -> None:
        """The referrer answers the open question; the referral returns to where it was."""
        if self.status != ReferralStatus.INFORMATION_REQUESTED or not self.questions or self.questions[-1].answered_at:
            raise self._refuse("answered")
        q = self.questions[-1]
        q.answer, q.answered_at, q.answered_by = answer.strip(), now, by
        self._move(q.returns_to, by=by, by_org=self.referrer_org, now=now, note=answer.strip())

    def allocate(self, force_id: str, *, by: str, now: datetime, note: str | None = None) -> None:
        """A lead force, one of the forces whose areas the series spans."""
        if self.status not in (ReferralStatus.SUBMITTED, ReferralStatus.ACCEPTED):
            raise self._refuse("allocated")
        if force_id not in self.force_ids:
            raise Invalid(
                f"{force_id} is not one of the forces in this series ({', '.join(self.force_ids)}).",
                errors=[{"field": "force_id", "message": "not a force in the series"}],
            )
        self.lead_force_id = force_id
        self._move(ReferralStatus.LEAD_FORCE_ALLOCATED, by=by, by_org=self.unit_id, now=now, note=note)

    def mark_incident_erased(self, incident_id: str, now: datetime) -> bool:
        """The owner erased an incident: what the referral held of it goes (its id and that
        it was erased stay, so the unit knows the series lost an item). True if it changed."""
        changed = False
        for i, entry in enumerate(self.incidents):
            if entry.incident_id == incident_id and entry.erased_at is None:
                kept = entry.model_dump(
                    include={"incident_id", "owner_org", "reference", "force_id", "store_id", "category", "occurred_at"}
                )
                self.incidents[i] = IncidentEntry(**kept, grading=entry.grading, erased_at=now.isoformat())
                changed = True
        items: list[PersonEntry | VehicleEntry] = [*self.persons, *self.vehicles]
        for item in items:
            if incident_id in item.incident_ids:
                item.incident_ids.remove(incident_id)
                changed = True
        # A person or vehicle known only from erased incidents goes with them.
        persons = [p for p in self.persons if p.incident_ids]
        vehicles = [v for v in self.vehicles if v.incident_ids]
        withheld = [w for w in self.withheld if not (w.kind == "incident" and w.ref == incident_id)]
        changed = changed or (len(persons), len(vehicles), len(withheld)) != (len(self.persons), len(self.vehicles), len(self.withheld))
        self.persons, self.vehicles, self.withheld = persons, vehicles, withheld
        if changed:
            self.version += 1
            self.updated_at = now
        return changed


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "Taken on as operation 26/114."}]})
    note: str | None = Field(default=None, max_length=2000, description="The unit's note, as the referrer will read it")


class QuestionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"question": "Is there CCTV of the vehicle's plate at the Taunton store?"}]}
    )
    question: str = Field(min_length=3, max_length=2000)


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"answer": "Yes: exhibit NW/4, added to the incident."}]})
    answer: str = Field(min_length=1, max_length=4000)


class AllocateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"force_id": "devon-and-cornwall", "note": None}]})
    force_id: str = Field(min_length=1, max_length=64, description="One of the forces whose areas the series spans")
    note: str | None = Field(default=None, max_length=2000)
