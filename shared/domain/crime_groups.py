"""Organised crime group records: a group an analyst or investigator keeps, with its
members (persons of interest), the incidents linking them, the reason and a review date.

Pure: no I/O. A group is reviewed at least yearly: a review date further than
`MAX_REVIEW_DAYS` ahead is refused, and retention removes a group left unreviewed
(docs/intelligence.md, "Crime groups").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

MAX_REVIEW_DAYS = 366
MAX_MEMBERS = 200
MAX_INCIDENTS = 500


class MemberRef(BaseModel):
    """A person of interest, named by the organisation that lists them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organisation_id: str = Field(min_length=1, max_length=64, examples=["northwind"])
    offender_id: str = Field(min_length=1, max_length=64, examples=["off-5f0e3c1a9b2d4e6f"])

    @property
    def key(self) -> str:
        return f"{self.organisation_id}/{self.offender_id}"


class IncidentRef(BaseModel):
    """An incident, named by the organisation that reported it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organisation_id: str = Field(min_length=1, max_length=64, examples=["northwind"])
    incident_id: str = Field(min_length=1, max_length=64, examples=["7d1c2b3a4e5f60718293a4b5c6d7e8f9"])

    @property
    def key(self) -> str:
        return f"{self.organisation_id}/{self.incident_id}"


def _unique(items: Sequence[MemberRef | IncidentRef], what: str) -> None:
    keys = [i.key for i in items]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{what} lists the same one twice")


class CrimeGroupIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Silver Focus team",
                    "reason": "Three persons named together in thefts at Plymouth and Exeter stores, travelling in WR21XKD",
                    "review_at": "2027-02-28T00:00:00+00:00",
                    "members": [{"organisation_id": "northwind", "offender_id": "off-5f0e3c1a9b2d4e6f"}],
                    "incidents": [],
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200, description="A working name; never a person's name")
    reason: str = Field(min_length=10, max_length=2000, description="Why these persons are believed to act together")
    review_at: datetime = Field(description=f"When the record must be reviewed: at most {MAX_REVIEW_DAYS} days ahead")
    members: list[MemberRef] = Field(min_length=1, max_length=MAX_MEMBERS)
    incidents: list[IncidentRef] = Field(default_factory=list, max_length=MAX_INCIDENTS)

    @model_validator(mode="after")
    def _distinct(self) -> CrimeGroupIn:
        _unique(self.members, "members")
        _unique(self.incidents, "incidents")
        return self


class CrimeGroupPatch(BaseModel):
    """A change: each field given replaces the stored one (members and incidents whole)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Silver Focus team (Exeter)", "review_at": "2027-03-31T00:00:00+00:00"}]}
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    reason: str | None = Field(default=None, min_length=10, max_length=2000)
    review_at: datetime | None = None
    members: list[MemberRef] | None = Field(default=None, min_length=1, max_length=MAX_MEMBERS)
    incidents: list[IncidentRef] | None = Field(default=None, max_length=MAX_INCIDENTS)

    @model_validator(mode="after")
    def _distinct(self) -> CrimeGroupPatch:
        _unique(self.members or [], "members")
        _unique(self.incidents or [], "incidents")
        return self


class CrimeGroup(BaseModel):
    """A group record as stored (tenant = `organisation_id`, the organisation keeping it)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    organisation_id: str
    name: str
    reason: str
    review_at: datetime
    members: list[MemberRef]
    incidents: list[IncidentRef]
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1

    @computed_field  # type: ignore[prop-decorator]
    @property
    def member_ids(self) -> list[str]:
        """`organisation/offender` of each member (indexed: the groups of a person)."""
        return [m.key for m in self.members]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def incident_ids(self) -> list[str]:
        """`organisation/incident` of each linked incident (indexed: retention finds them)."""
        return [i.key for i in self.incidents]


def review_problem(review_at: datetime, now: datetime) -> str | None:
    """Why a review date cannot be accepted, or None."""
    if review_at.tzinfo is None:
        return "review_at needs a UTC offset"
    if review_at <= now:
        return "review_at must be in the future"
    if review_at > now + timedelta(days=MAX_REVIEW_DAYS):
        return f"review_at must be at most {MAX_REVIEW_DAYS} days ahead: a group record is reviewed at least yearly"
    return None
