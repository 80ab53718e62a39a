"""Police requests for footage: a force asks one of a retailer's stores for the recordings
of a time window, by a deadline, for a crime it is investigating; the store answers with
files (or declines with a reason) and the force sees when it was answered.

Pure: no I/O, no clock (times are passed in).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.domain.errors import Conflict, Invalid

# The longest window one request may ask for: a store reviews and exports footage by hand,
# and a force asking for more than a day should ask for each day it needs.
MAX_WINDOW = timedelta(hours=24)
# A deadline further off than this is not a request a store can plan for.
MAX_DEADLINE = timedelta(days=90)
# The reminder goes this long before the deadline (once).
REMINDER_BEFORE = timedelta(hours=24)


class FootageStatus(StrEnum):
    OPEN = "open"
    PARTLY_FULFILLED = "partly_fulfilled"
    FULFILLED = "fulfilled"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


# Answered or called off: nothing more may be supplied, and no reminder goes.
CLOSED = frozenset({FootageStatus.FULFILLED, FootageStatus.DECLINED, FootageStatus.WITHDRAWN})

STATUS_WORDS = {
    FootageStatus.OPEN: "Waiting for the store",
    FootageStatus.PARTLY_FULFILLED: "Partly supplied",
    FootageStatus.FULFILLED: "Supplied",
    FootageStatus.DECLINED: "Declined by the store",
    FootageStatus.WITHDRAWN: "Withdrawn by the force",
}


class FootageRequestIn(BaseModel):
    """A force's request to a store for footage."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "crime_reference": "DC/2026/118734",
                    "store_id": "nw-plymouth",
                    "window_start": "2026-11-20T14:00:00+00:00",
                    "window_end": "2026-11-20T14:30:00+00:00",
                    "deadline": "2026-12-15T17:00:00+00:00",
                    "wanted": "Camera over the tills and the front door, 14:00-14:30.",
                    "incident_id": None,
                }
            ]
        },
    )

    crime_reference: str = Field(min_length=1, max_length=64, description="The force's crime reference")
    store_id: str = Field(min_length=1, max_length=64, description="The store asked: one in the force's area")
    window_start: AwareDatetime = Field(description="Start of the footage wanted, with its UTC offset")
    window_end: AwareDatetime = Field(description="End of the footage wanted, with its UTC offset (at most 24 hours after the start)")
    deadline: AwareDatetime = Field(description="When the force needs it by")
    wanted: str = Field(min_length=1, max_length=2000, description="Which cameras and views, in the force's words")
    incident_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="A report dispatched to the force that this footage belongs to"
    )


def check_request(body: FootageRequestIn, now: datetime) -> None:
    """Invalid, naming each field, unless the window and deadline make sense at `now`."""
    errors: list[dict[str, Any]] = []
    if body.window_end <= body.window_start:
        errors.append({"field": "window_end", "message": "The window must end after it starts."})
    elif body.window_end - body.window_start > MAX_WINDOW:
        errors.append({"field": "window_end", "message": "A request covers at most 24 hours of footage; make one request per day."})
    if body.window_start > now:
        errors.append(
            {"field": "window_start", "message": "The window cannot start in the future: footage not yet recorded cannot be asked for."}
        )
    elif body.window_end > now:
        errors.append({"field": "window_end", "message": "The window cannot end in the future."})
    if body.deadline <= now:
        errors.append({"field": "deadline", "message": "The deadline must be in the future."})
    elif body.deadline - now > MAX_DEADLINE:
        errors.append({"field": "deadline", "message": "The deadline may be at most 90 days away."})
    if errors:
        raise Invalid("The footage request cannot be made: " + " ".join(e["message"] for e in errors), errors=errors)


class Supplied(BaseModel):
    """One file a store supplied in answer."""

    evidence_id: str
    filename: str
    at: datetime
    by: str


class FootageRequest(BaseModel):
    """A request, stored in the partition of the retailer whose store was asked (its
    footage, its answer); the force finds it by `force_id`."""

    model_config = ConfigDict(extra="forbid")

    id: str
    organisation_id: str  # the retailer whose store is asked
    force_id: str
    store_id: str
    crime_reference: str
    window_start: datetime
    window_end: datetime
    deadline: datetime
    wanted: str
    incident_id: str | None = None
    status: FootageStatus = FootageStatus.OPEN
    created_at: datetime
    created_by: str
    updated_at: datetime
    supplied: list[Supplied] = Field(default_factory=list)
    answered_at: datetime | None = None  # when the store last supplied files or declined
    decline_reason: str | None = None
    withdrawn_reason: str | None = None
    reminder_sent_at: datetime | None = None
    overdue_since: datetime | None = None
    # Sweeps: open requests carry their deadline here; a closed one has none, so the
    # reminder timer's query never reads them.
    due_at: datetime | None = None
    closed_at: datetime | None = None
    # Retention counts from here: the deadline while open, then when it was answered or
    # called off (a request never answered is kept from its deadline, not for ever).
    retention_basis: datetime | None = None

    @classmethod
    def open(cls, body: FootageRequestIn, *, organisation_id: str, force_id: str, by: str, now: datetime) -> FootageRequest:
        return cls(
            id=uuid.uuid4().hex,
            organisation_id=organisation_id,
            force_id=force_id,
            store_id=body.store_id,
            crime_reference=body.crime_reference.strip(),
            window_start=body.window_start,
            window_end=body.window_end,
            deadline=body.deadline,
            wanted=body.wanted.strip(),
            incident_id=body.incident_id,
            created_at=now,
            created_by=by,
            updated_at=now,
            due_at=body.deadline,
            retention_basis=body.deadline,
        )

    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    def overdue(self, now: datetime) -> bool:
        """Still waiting on the store after its deadline."""
        return not self.closed and self.status != FootageStatus.PARTLY_FULFILLED and now > self.deadline

    def _still_open(self, doing: str) -> None:
        if self.closed:
            raise Conflict(
                f"This footage request is {STATUS_WORDS[self.status].lower()}; it cannot be {doing}.", request_status=self.status.value
            )

    def supply(self, evidence_id: str, filename: str, *, by: str, complete: bool, now: datetime) -> None:
        """A file supplied in answer: fulfilled when the store says that is everything."""
        self._still_open("answered again")
        self.supplied.append(Supplied(evidence_id=evidence_id, filename=filename, at=now, by=by))
        self.status = FootageStatus.FULFILLED if complete else FootageStatus.PARTLY_FULFILLED
        self.answered_at = now
        self.updated_at = now
        self.retention_basis = max(now, self.deadline)
        if complete:
            self._close(now)

    def decline(self, reason: str, *, now: datetime) -> None:
        self._still_open("declined")
        self.status = FootageStatus.DECLINED
        self.decline_reason = reason.strip()
        self.answered_at = now
        self._close(now)

    def withdraw(self, reason: str | None, *, now: datetime) -> None:
        self._still_open("withdrawn")
        self.status = FootageStatus.WITHDRAWN
        self.withdrawn_reason = (reason or "").strip() or None
        self._close(now)

    def _close(self, now: datetime) -> None:
        self.updated_at = now
        self.closed_at = now
        self.due_at = None
        self.retention_basis = now

    def reminder_due(self, now: datetime) -> bool:
        """Open, not yet reminded, within a day of its deadline, and made more than a day
        before it (a request due sooner has only just been emailed)."""
        remind_at = self.deadline - REMINDER_BEFORE
        return self.status == FootageStatus.OPEN and self.reminder_sent_at is None and self.created_at < remind_at <= now < self.deadline

    def mark_overdue(self, now: datetime) -> bool:
        """Past its deadline still unanswered: marked once, and left out of later sweeps."""
        if self.overdue_since is not None or not self.overdue(now):
            return False
        self.overdue_since = now
        self.due_at = None
        return True


class DeclineIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Footage overwritten: our recorder keeps 30 days."}]}
    )
    reason: str = Field(min_length=3, max_length=1000, description="Why the store cannot supply the footage, as the force will read it")


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "Suspect charged; footage no longer needed."}]})
    reason: str | None = Field(default=None, max_length=1000, description="Why the force no longer needs it")


class SupplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"complete": True}]})
    complete: bool = Field(default=True, description="False while more files are still to come (the request is then partly fulfilled)")
