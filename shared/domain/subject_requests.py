"""Subject requests: the person-matching keys, identity checks, statutory deadlines and task answers they share.

Pure: no I/O and no clock. Services pass `now` in.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.retention import add_months

# ---- persons: matching keys ------------------------------------------------------------

_NON_LETTERS = re.compile(r"[^a-z]+")


def name_key(name: str) -> str:
    """A person's name folded for matching: accents and case dropped, punctuation ignored,
    word order ignored ("O'Neill, Siobhán" matches "siobhan oneill")."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    words = [w for w in (_NON_LETTERS.sub("", part) for part in re.split(r"[\s,]+", text)) if w]
    return " ".join(sorted(words))


def dob_compatible(recorded: str | None, asked: date | None) -> bool:
    """A recorded date of birth rules a candidate out only when both are known and differ."""
    if recorded is None or asked is None:
        return True
    return recorded == asked.isoformat()


# ---- subject requests ------------------------------------------------------------------

MAX_EXTENSION_MONTHS = 2  # UK GDPR Art. 12(3): extendable by two further months


class SubjectRequestKind(StrEnum):
    ACCESS = "access"
    ERASURE = "erasure"
    # The person contests being listed as a person of interest (docs/offenders.md "Contest").
    CONTEST_LISTING = "contest_listing"


class IdentityMethod(StrEnum):
    """How the organisation the person approached checked who they are."""

    PHOTO_ID_IN_PERSON = "photo_id_in_person"  # passport or driving licence seen at a store or office
    PHOTO_ID_COPY = "photo_id_copy"  # a copy of photo ID with a proof of address
    KNOWN_CUSTOMER_ACCOUNT = "known_customer_account"  # from the person's own signed-in customer account
    REPLY_TO_ADDRESS_HELD = "reply_to_address_held"  # a code sent to an address already on file, returned


class IdentityCheckIn(BaseModel):
    """The organisation the person approached records that it checked their identity.

    Who checked and when come from the caller and the clock, never from the body: the
    check is that organisation's word, not something the operator can assert.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Jamie Doyle", "date_of_birth": "1990-04-12", "method": "photo_id_in_person"}]},
    )

    name: str = Field(min_length=2, max_length=200)
    date_of_birth: date | None = None
    method: IdentityMethod = Field(description="How identity was checked; never store the document's number")

    @model_validator(mode="after")
    def _checks(self) -> IdentityCheckIn:
        if not name_key(self.name):
            raise ValueError("name has no letters to match on")
        return self


class IdentityCheckRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation_id: str = Field(min_length=1, max_length=64, description="The organisation that checked the person's identity")
    id: str = Field(min_length=1, max_length=64, description="The id its identity check was given")


class SubjectRequestIn(BaseModel):
    """A person's request, routed by Platform.Operator once the organisation the person
    approached has checked their identity."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "access",
                    "name": "Jamie Doyle",
                    "date_of_birth": "1990-04-12",
                    "when_and_where": "Around November 2026, Northwind stores in Plymouth",
                    "received_at": "2026-11-23T09:00:00+00:00",
                    "identity_check": {"organisation_id": "northwind", "id": "3f0c9a51-7a4e-4c1e-9a55-2d8b1f0c6e21"},
                }
            ]
        },
    )

    kind: SubjectRequestKind
    name: str = Field(min_length=2, max_length=200)
    date_of_birth: date | None = None
    when_and_where: str = Field(
        default="", max_length=1000, description="What the person said about when and where (helps organisations confirm a match)"
    )
    received_at: datetime | None = Field(
        default=None,
        description="When the request was received; defaults to now, never later, and at most a few days earlier. The one-month clock starts here",
    )
    identity_check: IdentityCheckRef = Field(description="The identity check recorded by the organisation the person approached")

    @model_validator(mode="after")
    def _checks(self) -> SubjectRequestIn:
        if self.received_at is not None and self.received_at.tzinfo is None:
            raise ValueError("received_at needs a UTC offset")
        if not name_key(self.name):
            raise ValueError("name has no letters to match on")
        return self


def receipt_refusal(received_at: datetime, now: datetime, window_days: int) -> str | None:
    """Why a request's receipt time cannot be recorded (None when it can).

    The statutory month runs from receipt, so a receipt time in the future, or further back
    than the window allowed for post and weekends, would move the deadline.
    """
    if received_at > now:
        return "received_at is in the future."
    if received_at < now - timedelta(days=window_days):
        return f"received_at is more than {window_days} days ago; record requests as they arrive."
    return None


def identity_matches(check: dict[str, Any], name: str, date_of_birth: date | None) -> bool:
    """An identity check covers a request only for the same person: the folded name, and
    the date of birth when the check recorded one."""
    if name_key(check["name"]) != name_key(name):
        return False
    recorded = check.get("date_of_birth")
    return recorded is None or (date_of_birth is not None and recorded == date_of_birth.isoformat())


class ExtensionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"months": 2, "reason": "Complex request: data held by three organisations across 40 incidents"}]},
    )

    months: int = Field(ge=1, le=MAX_EXTENSION_MONTHS)
    reason: str = Field(min_length=10, max_length=1000)


def request_due(received_at: datetime, extension_months: int = 0) -> datetime:
    """One calendar month from receipt, plus any extension (at most two months)."""
    if not 0 <= extension_months <= MAX_EXTENSION_MONTHS:
        raise ValueError(f"an extension is 0 to {MAX_EXTENSION_MONTHS} months")
    return add_months(received_at, 1 + extension_months)


def extension_refusal(received_at: datetime, already_months: int, asked_months: int, now: datetime) -> str | None:
    """Why an extension cannot be granted now (None when it can).

    Notice of an extension must be given within the first month, and the total
    extension is at most two months.
    """
    if now > add_months(received_at, 1):
        return "An extension must be recorded within the first month after receipt; that month has passed."
    if already_months + asked_months > MAX_EXTENSION_MONTHS:
        return f"Extensions total at most {MAX_EXTENSION_MONTHS} months; {already_months} already granted."
    return None


class TaskDecision(StrEnum):
    APPROVE_EXPORT = "approve_export"
    ERASE = "erase"
    REFUSE = "refuse"
    # Every organisation of the region gets a task, so the operator cannot tell from the
    # routing who holds the person; an organisation with no matches says so.
    NONE_HELD = "none_held"


class TaskAnswerIn(BaseModel):
    """An organisation's answer to its part of a subject request."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"decision": "approve_export", "incident_ids": None, "reason": None}]},
    )

    decision: TaskDecision
    incident_ids: list[str] | None = Field(
        default=None, max_length=500, description="Which matched incidents the answer covers; all matches when left out"
    )
    reason: str | None = Field(
        default=None,
        max_length=2000,
        description="Required to refuse: the lawful reason (e.g. 'UK GDPR Art. 17(3)(e): needed for legal claims')",
    )
    lawful_basis: str | None = Field(default=None, max_length=200, description="The provision relied on when refusing")

    @model_validator(mode="after")
    def _reason(self) -> TaskAnswerIn:
        if self.decision == TaskDecision.REFUSE and (not self.reason or len(self.reason.strip()) < 10):
            raise ValueError("refusing needs the lawful reason (at least 10 characters) in 'reason'")
        return self


def decision_fits(kind: SubjectRequestKind, decision: TaskDecision) -> bool:
    if decision in (TaskDecision.REFUSE, TaskDecision.NONE_HELD):
        return True
    # A contest is decided by reviewing the listing; the task then records refuse or none_held.
    return (kind, decision) in {(SubjectRequestKind.ACCESS, TaskDecision.APPROVE_EXPORT), (SubjectRequestKind.ERASURE, TaskDecision.ERASE)}
