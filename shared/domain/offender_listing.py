"""Listing a person of interest: what a profile is made from and changed with, and the
listing criteria (docs/offenders.md) checked before a person is listed or a listing renewed.

Pure: no I/O and no clock. Services pass the linked incidents and `now` in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.domain.errors import Invalid
from shared.domain.retention import add_months
from shared.domain.timestamps import from_iso

# The criteria a data protection officer signed (docs/offenders.md "Listing criteria").
WINDOW_MONTHS = 12  # repeat offending: two incidents within this window before listing
MAX_REVIEW_MONTHS = 12  # a listing is reviewed at least this often
DEFAULT_REVIEW_MONTHS = 6
# Goods over this value (minor units, any currency) make one incident serious on its own.
SERIOUS_VALUE_MINOR = 20_000
SERIOUS_FLAGS = ("violence", "weapon", "threats", "staff_injured")
SERIOUS_CATEGORIES = ("robbery", "violence_against_staff", "abuse_threats")
CONTEST_REVIEW_DAYS = 30  # the listing organisation reviews a contested listing within this


class PersonLink(BaseModel):
    """One person of one of the organisation's incidents."""

    model_config = ConfigDict(extra="forbid")

    incident_id: str = Field(min_length=1, max_length=64)
    person_index: int = Field(default=0, ge=0, le=49, description="Index in the incident's persons")


class ProfileIn(BaseModel):
    """A new listing of one person of an incident (named by the route), with any further
    persons of the organisation's incidents who are the same person, and why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "links": [],
                    "aliases": ["JD"],
                    "description": "About 180 cm, slim, grey hooded top, scar across the back of the left hand",
                    "listing_reason": "Pushed a colleague aside leaving with six bottles of whisky",
                }
            ]
        },
    )

    links: list[PersonLink] = Field(default_factory=list, max_length=49, description="Further persons of your incidents: the same person")
    name: str | None = Field(default=None, max_length=200, description="Defaults to the incident person's name")
    aliases: list[str] = Field(default_factory=list, max_length=20)
    date_of_birth: date | None = Field(default=None, description="Defaults to the incident person's")
    description: str = Field(default="", max_length=2000)
    listing_reason: str = Field(min_length=10, max_length=1000)
    review_at: datetime | None = Field(
        default=None, description=f"At most {MAX_REVIEW_MONTHS} months ahead; {DEFAULT_REVIEW_MONTHS} by default"
    )
    expires_at: datetime | None = Field(default=None, description="At most the person-of-interest retention period ahead (its default)")

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: list[str]) -> list[str]:
        if any(not a.strip() or len(a) > 200 for a in value):
            raise ValueError("each alias is 1 to 200 characters")
        return [a.strip() for a in value]


class ProfilePatch(BaseModel):
    """A merge patch of a profile's details (links, status and dates have their own actions)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"description": "About 180 cm, slim, now a black coat"}]})

    name: str | None = Field(default=None, max_length=200)
    aliases: list[str] | None = Field(default=None, max_length=20)
    date_of_birth: date | None = None
    description: str | None = Field(default=None, max_length=2000)
    listing_reason: str | None = Field(default=None, min_length=10, max_length=1000)


class ReviewIn(BaseModel):
    """A review of a listing: keep it (a new review date) or withdraw it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"outcome": "upheld", "note": "Two further incidents since; criteria still met"}]},
    )

    outcome: Literal["upheld", "withdrawn"]
    note: str = Field(min_length=5, max_length=1000)
    review_at: datetime | None = Field(default=None, description=f"When upheld: the next review, at most {MAX_REVIEW_MONTHS} months ahead")


@dataclass(frozen=True)
class Criterion:
    """Which listing criterion the incidents meet, in words for the record."""

    code: str
    detail: str


def _serious(incident: dict[str, Any]) -> str | None:
    flags = incident.get("flags") or {}
    raised = [f for f in SERIOUS_FLAGS if flags.get(f)]
    if raised:
        return f"incident {incident['id']} involved {', '.join(raised)}"
    if incident.get("category") in SERIOUS_CATEGORIES:
        return f"incident {incident['id']} is {incident['category']}"
    value = (incident.get("total_value") or {}).get("amount_minor", 0)
    if value > SERIOUS_VALUE_MINOR:
        return f"incident {incident['id']} involved goods worth {value} minor units"
    return None


def listing_criterion(incidents: list[dict[str, Any]], now: datetime) -> Criterion:
    """The criterion the linked incidents meet, or Invalid naming the unmet one.

    Either two or more incidents within the last `WINDOW_MONTHS`, or one incident in that
    window that is serious (violence, a weapon, threats, injured staff, a robbery or abuse
    of staff, or goods over `SERIOUS_VALUE_MINOR`). Never a single low-value incident."""
    since = add_months(now, -WINDOW_MONTHS)
    recent = [i for i in incidents if from_iso(i["occurred_at"]) >= since]
    if len(recent) >= 2:
        return Criterion("repeat", f"{len(recent)} incidents within {WINDOW_MONTHS} months")
    for incident in recent:
        why = _serious(incident)
        if why:
            return Criterion("serious", why)
    raise Invalid(
        f"Listing criteria not met: a person is listed for at least two incidents within {WINDOW_MONTHS} months, or one "
        f"involving violence, a weapon, threats, injured staff or goods over {SERIOUS_VALUE_MINOR} minor units; "
        f"the linked incidents show {len(recent)} recent incident(s) and none serious.",
        errors=[{"field": "links", "criterion": "repeat_or_serious"}],
    )


def check_dates(now: datetime, review_at: datetime | None, expires_at: datetime | None, retention_months: int) -> tuple[datetime, datetime]:
    """The listing's review date and expiry, defaulted and bounded, or Invalid naming the bound."""
    latest_review = add_months(now, MAX_REVIEW_MONTHS)
    latest_expiry = add_months(now, retention_months)
    review = review_at or add_months(now, DEFAULT_REVIEW_MONTHS)
    expiry = expires_at or latest_expiry
    if review <= now or review > latest_review:
        raise Invalid(
            f"review_at must be in the next {MAX_REVIEW_MONTHS} months.", errors=[{"field": "review_at", "criterion": "review_date"}]
        )
    if expiry <= now or expiry > latest_expiry:
        raise Invalid(
            f"expires_at must be in the next {retention_months} months (the person-of-interest retention period).",
            errors=[{"field": "expires_at", "criterion": "expiry"}],
        )
    if review > expiry:
        review = expiry
    return review, expiry


def contest_due(now: datetime) -> datetime:
    """When the listing organisation must have reviewed a contested listing."""
    return now + timedelta(days=CONTEST_REVIEW_DAYS)
