"""Direct to police (D2P): the dispatch aggregate and its state machine, Home Office
outcome codes and the arithmetic of the KPIs (a force's rules and eligibility are in
shared.domain.d2p_rules).

Pure: no I/O, no clock. Services pass in the incident, its evidence, the rules and `now`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.domain.errors import Conflict
from shared.domain.incident_report import Category
from shared.domain.timestamps import from_iso

# ---- dispatch state machine -------------------------------------------------------


class DispatchStatus(StrEnum):
    QUEUED = "queued"  # written with its outbox message, not yet on the queue
    ENQUEUED = "enqueued"  # on the queue
    SENDING = "sending"  # the mail call has started (recorded before it)
    RETRYING = "retrying"  # a transient mail failure; the queue will deliver again
    SENT = "sent"  # the provider accepted it (recorded after the call)
    FAILED = "failed"  # the provider refused it for good (reason recorded)
    DEAD_LETTERED = "dead_lettered"  # deliveries exhausted; waits for a replay
    ACKNOWLEDGED = "acknowledged"  # the force recorded its crime reference


TRANSITIONS: dict[DispatchStatus, frozenset[DispatchStatus]] = {
    DispatchStatus.QUEUED: frozenset({DispatchStatus.ENQUEUED, DispatchStatus.SENDING}),
    DispatchStatus.ENQUEUED: frozenset({DispatchStatus.SENDING, DispatchStatus.ENQUEUED}),
    # SENDING -> SENDING: redelivered after a crash mid-call (the window named in docs/d2p.md).
    DispatchStatus.SENDING: frozenset(
        {DispatchStatus.SENT, DispatchStatus.RETRYING, DispatchStatus.FAILED, DispatchStatus.SENDING, DispatchStatus.DEAD_LETTERED}
    ),
    DispatchStatus.RETRYING: frozenset({DispatchStatus.SENDING, DispatchStatus.DEAD_LETTERED}),
    DispatchStatus.DEAD_LETTERED: frozenset({DispatchStatus.SENDING, DispatchStatus.ENQUEUED}),
    # A permanently failed dispatch may be sent again once the force has fixed its inbox.
    DispatchStatus.FAILED: frozenset({DispatchStatus.QUEUED}),
    DispatchStatus.SENT: frozenset({DispatchStatus.ACKNOWLEDGED}),
    DispatchStatus.ACKNOWLEDGED: frozenset(),
}
# States in which the email has gone: a redelivered message must not send it again.
ALREADY_SENT = frozenset({DispatchStatus.SENT, DispatchStatus.ACKNOWLEDGED})
# States in which the handler may (re)start the mail call.
SENDABLE = frozenset(
    {DispatchStatus.QUEUED, DispatchStatus.ENQUEUED, DispatchStatus.SENDING, DispatchStatus.RETRYING, DispatchStatus.DEAD_LETTERED}
)


class IllegalTransition(ValueError):
    pass


def transition(current: str, target: DispatchStatus) -> DispatchStatus:
    """The next status, or IllegalTransition when `current` cannot move to `target`."""
    cur = DispatchStatus(current)
    if target not in TRANSITIONS[cur]:
        raise IllegalTransition(f"a {cur.value} dispatch cannot become {target.value}")
    return target


HISTORY_LIMIT = 50
# Provider delivery events kept per dispatch, apart from the status history: a provider
# that sends hundreds of "deferred" events must not push the status history out.
DELIVERY_EVENTS_LIMIT = 50


class HistoryEntry(BaseModel):
    at: str
    status: DispatchStatus
    note: str | None = None


class Delivery(BaseModel):
    """What the mail provider last said about the email after accepting it."""

    state: str = Field(description="delivered, bounced, dropped or deferred")
    at: str
    reason: str | None = None


class Dispatch(BaseModel):
    """One incident sent to one force: the email's journey from the outbox to the force's
    crime reference. Every change of status goes through a method here, so the state
    machine and the history cannot drift apart."""

    # Other capabilities annotate a dispatch (retention records when it purged the email
    # body): those fields are kept as they are when the dispatch is written back.
    model_config = ConfigDict(extra="allow")

    id: str
    incident_id: str
    owner_org: str
    force_id: str
    store_id: str
    reference: str
    category: str
    occurred_at: str
    reported_at: str
    status: DispatchStatus
    auto: bool = False
    rules_version: int | None = None
    created_at: str
    created_by: str
    message_seq: int = 1
    attempts: int = 0
    sent_at: str | None = None
    acknowledged_at: str | None = None
    crime_reference: str | None = None
    acknowledged_by: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    to: str | None = None
    sending_at: str | None = None
    provider_message_id: str | None = None
    email: dict[str, Any] | None = None  # subject, text, to, Message-ID: until retention purges the body
    email_body_kept: bool | None = None
    failure_reason: str | None = None
    last_error: str | None = None
    delivery: Delivery | None = None
    deliveries: list[Delivery] = Field(default_factory=list)
    # Why a control room should pick this one first, as the report stood when it was sent.
    priority: list[str] = Field(default_factory=list)

    @classmethod
    def open(cls, incident: dict[str, Any], *, force_id: str, rules_version: int | None, by: str, auto: bool, now: str) -> Dispatch:
        """A new dispatch of `incident` to `force_id`, queued with its outbox message."""
        return cls(
            id=dispatch_id(incident["id"], force_id),
            incident_id=incident["id"],
            owner_org=incident["organisation_id"],
            force_id=force_id,
            store_id=incident["store_id"],
            reference=incident["reference"],
            category=incident["category"],
            occurred_at=incident["occurred_at"],
            reported_at=incident["reported_at"],
            status=DispatchStatus.QUEUED,
            auto=auto,
            rules_version=rules_version,
            created_at=now,
            created_by=by,
            history=[HistoryEntry(at=now, status=DispatchStatus.QUEUED, note="automatic" if auto else "sent by " + by)],
            priority=priority_reasons(incident),
        )

    @property
    def message_id(self) -> str:
        """The queue message id: the dispatch id, then one per rearm, so the queue's
        duplicate detection drops a second relay of the same send but not a new send."""
        return self.id if self.message_seq == 1 else f"{self.id}#{self.message_seq}"

    @property
    def is_sent(self) -> bool:
        """The email has gone: a redelivered message must not send it again."""
        return self.status in ALREADY_SENT

    @property
    def is_sendable(self) -> bool:
        return self.status in SENDABLE

    def _note(self, now: str, status: DispatchStatus | None, note: str | None) -> None:
        entry = HistoryEntry(at=now, status=status or self.status, note=note)
        self.history = self.history[-(HISTORY_LIMIT - 1) :] + [entry]

    def _move(self, target: DispatchStatus) -> None:
        self.status = transition(self.status, target)

    def rearm(self, *, by: str, rules_version: int | None, now: str) -> None:
        """Send a permanently failed dispatch again (the force has fixed its inbox)."""
        self._move(DispatchStatus.QUEUED)
        self.message_seq += 1
        self.rules_version = rules_version
        self._note(now, DispatchStatus.QUEUED, "sent again by " + by)

    def mark_enqueued(self, now: str) -> bool:
        """Its message reached the queue: only a queued dispatch moves (the handler may
        already have moved it on)."""
        if self.status != DispatchStatus.QUEUED:
            return False
        self.status = DispatchStatus.ENQUEUED
        self._note(now, DispatchStatus.ENQUEUED, None)
        return True

    def start_sending(self, *, to: str, delivery: int, now: str) -> None:
        """Recorded before the mail call, so a crash during it is visible on redelivery."""
        self._move(DispatchStatus.SENDING)
        self.attempts += 1
        self.to = to
        self.sending_at = now
        self._note(now, DispatchStatus.SENDING, f"attempt {self.attempts} (delivery {delivery})")

    def retry_later(self, error: str, *, exhausted: bool, now: str) -> None:
        """A transient mail failure: the queue delivers again, or the dispatch waits for a replay."""
        self._move(DispatchStatus.DEAD_LETTERED if exhausted else DispatchStatus.RETRYING)
        self.last_error = error[:300]
        self._note(now, None, self.last_error)

    def fail(self, reason: str, *, now: str) -> None:
        """Refused for good (or nothing left to send): a retailer may send it again later."""
        self._move(DispatchStatus.FAILED)
        self.failure_reason = reason[:300]
        self._note(now, None, self.failure_reason)

    def mark_sent(self, *, provider_message_id: str, email: dict[str, Any], now: str) -> None:
        """The provider accepted the email. Retention finds kept bodies through
        `email_body_kept` (and `acknowledged_at`)."""
        self._move(DispatchStatus.SENT)
        self.provider_message_id = provider_message_id
        self.email = email
        self.email_body_kept = True
        self.sent_at = now
        self.last_error = None
        self._note(now, DispatchStatus.SENT, None)

    def record_delivery(self, delivery: Delivery) -> None:
        """The provider's word on delivery, beside the status (a bounce does not unsend) and
        apart from the status history. Events can arrive out of order: `delivery` is the one
        the provider stamped latest."""
        self.deliveries = self.deliveries[-(DELIVERY_EVENTS_LIMIT - 1) :] + [delivery]
        if self.delivery is None or from_iso(delivery.at) >= from_iso(self.delivery.at):
            self.delivery = delivery

    def acknowledge(self, crime_reference: str, *, by: str, now: str) -> bool:
        """The force's crime reference. False when already acknowledged with the same
        number (nothing to do); Conflict for another number or an unsent dispatch."""
        if self.status == DispatchStatus.ACKNOWLEDGED:
            if self.crime_reference == crime_reference:
                return False
            raise Conflict(f"Dispatch {self.id} was already acknowledged with crime reference {self.crime_reference}.")
        if self.status != DispatchStatus.SENT:
            raise Conflict(f"Dispatch {self.id} is {self.status.value}: only a sent report can be acknowledged.")
        self._move(DispatchStatus.ACKNOWLEDGED)
        self.acknowledged_at = now
        self.crime_reference = crime_reference
        self.acknowledged_by = by
        self._note(now, DispatchStatus.ACKNOWLEDGED, f"crime reference {crime_reference}")
        return True

    def overdue(self, now: datetime, within_hours: int) -> bool:
        """Sent and not acknowledged within the force's set time."""
        if self.status != DispatchStatus.SENT or not self.sent_at:
            return False
        return from_iso(self.sent_at) + timedelta(hours=within_hours) <= now


def priority_reasons(incident: dict[str, Any]) -> list[str]:
    """Why a report jumps the control room's queue: violence to staff, or a suspect held by
    security who must be attended or released. Empty for everything else."""
    flags = incident.get("flags") or {}
    reasons = []
    if flags.get("violence") or incident.get("category") in (Category.VIOLENCE_AGAINST_STAFF, Category.ROBBERY):
        reasons.append("violence")
    if flags.get("offender_detained"):
        reasons.append("suspect detained")
    return reasons


class InboxView(StrEnum):
    """The slices of a force's D2P inbox a control room works through."""

    ALL = "all"  # everything the force has received
    NEW = "new"  # received, not acknowledged, still within the force's target
    UNACKNOWLEDGED = "unacknowledged"  # received, no crime reference yet
    OVERDUE = "overdue"  # received and unacknowledged past the force's target


# States in which the force has the email in its inbox.
RECEIVED = (DispatchStatus.SENT, DispatchStatus.ACKNOWLEDGED)


def dispatch_id(incident_id: str, force_id: str) -> str:
    """One incident reaches one force once: the id is the pair, so a second insert conflicts."""
    return f"{incident_id}.{force_id}"


def parse_dispatch_id(value: str) -> tuple[str, str] | None:
    incident_id, sep, force_id = value.partition(".")
    if not sep or not incident_id or not force_id or len(value) > 140:
        return None
    return incident_id, force_id


# ---- outcomes ----------------------------------------------------------------------

# Home Office crime outcome codes (wording to be checked against the current
# Home Office Counting Rules before production).
OUTCOME_CODES: dict[str, str] = {
    "1": "Charged / summonsed",
    "1A": "Alternative offence charged / summonsed",
    "2": "Youth caution",
    "3": "Adult caution",
    "8": "Community resolution",
    "14": "Evidential difficulties: suspect not identified, victim does not support further action",
    "15": "Named suspect identified, victim supports action, evidential difficulties prevent further action",
    "16": "Named suspect identified, victim does not support (or has withdrawn support from) police action",
    "18": "Investigation complete, no suspect identified",
    "22": "Diversionary, educational or intervention activity",
}
CHARGE_CODES = frozenset({"1", "1A"})


class Outcome(BaseModel):
    """A Home Office outcome a force recorded on an incident; every earlier one is kept."""

    id: str
    incident_id: str
    force_id: str
    code: str
    label: str
    note: str | None = None
    recorded_at: str
    recorded_by: str
    via_d2p: bool
    dispatch_id: str | None = None


class OutcomeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"code": "1", "note": "Charged with theft from a shop, s.1 Theft Act 1968."}]}
    )

    code: str = Field(description="Home Office outcome code: " + "; ".join(f"{k} {v}" for k, v in OUTCOME_CODES.items()))
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("code")
    @classmethod
    def _known(cls, v: str) -> str:
        v = v.strip().upper()
        if v not in OUTCOME_CODES:
            raise ValueError(f"unknown outcome code: use one of {', '.join(OUTCOME_CODES)}")
        return v


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"crime_reference": "CR/012345/26"}]})

    crime_reference: str = Field(
        min_length=3, max_length=64, pattern=r"^[A-Za-z0-9/\-_. ]+$", description="The force's crime reference number"
    )


# ---- KPIs --------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def outcome_rates(latest_codes: list[str], reports: int) -> dict[str, Any]:
    """Charge rate and outcome 14/16 rates over reports with a recorded outcome."""
    n = len(latest_codes)
    charged = sum(1 for c in latest_codes if c in CHARGE_CODES)
    o14 = sum(1 for c in latest_codes if c == "14")
    o16 = sum(1 for c in latest_codes if c == "16")
    return {
        "reports": reports,
        "with_outcome": n,
        "charged": charged,
        "outcome_14": o14,
        "outcome_16": o16,
        "charge_rate": round(charged / n, 4) if n else None,
        "outcome_14_rate": round(o14 / n, 4) if n else None,
        "outcome_16_rate": round(o16 / n, 4) if n else None,
    }


def hours_between(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return (b - a).total_seconds() / 3600
