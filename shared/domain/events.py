"""Domain events: facts one capability announces and other capabilities act on.

An event names something that happened in the field (an incident was recorded, a hold
was placed, an incident was erased). The capability that owns the fact publishes it on
the message bus; `shared/services/handlers.py` says, in one table, which handlers follow
from it. The publisher does not know who listens, so adding a consequence never means
editing the capability that caused it.

Events carry plain data only: the principal who acted, ids, and the stored record as it
stands after the change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.domain.tenancy import Principal


@dataclass(frozen=True)
class Event:
    """Something that happened; handled inside the publisher's unit of work."""


@dataclass(frozen=True)
class IncidentRecorded(Event):
    """A new incident was reported. Handlers may return fields for the reporter's answer."""

    principal: Principal
    incident: Mapping[str, Any]


@dataclass(frozen=True)
class IncidentChanged(Event):
    """An incident was edited or reverted to an earlier version (a new version exists)."""

    principal: Principal
    incident: Mapping[str, Any]


@dataclass(frozen=True)
class EvidenceAdded(Event):
    """A file was stored against an incident."""

    principal: Principal
    incident: Mapping[str, Any]
    evidence_id: str
    # What was stored, so handlers need not read it back: its owner, media, and the item
    # it was made from (None for an upload).
    owner_org: str = ""
    media: str = ""
    derived_from: str | None = None


@dataclass(frozen=True)
class IncidentViewed(Event):
    """Someone is being shown an incident. Handlers return fields their capability adds
    to what is shown (D2P: eligibility and dispatch status), as the viewer may see them."""

    principal: Principal
    incident: Mapping[str, Any]


@dataclass(frozen=True)
class IncidentErased(Event):
    """An incident is being erased (retention or a subject's request). Handlers erase
    what depends on it and return how many records they removed; a handler that must
    refuse (evidence still immutable) raises Conflict before anything is written."""

    organisation_id: str
    incident_id: str
    rule: str
    # Items erased earlier as person-of-interest images whose custody chains end now.
    erased_evidence_ids: Sequence[str] = field(default_factory=tuple)


# ---- persons of interest ----
@dataclass(frozen=True)
class ListingContested(Event):
    """A person contests being listed: each organisation asked suspends the listings that
    match the person until it has reviewed them. Handlers return how many they suspended."""

    principal: Principal
    request_id: str
    organisations: Sequence[str]
    name: str
    date_of_birth: str | None
    received_at: str


@dataclass(frozen=True)
class ListingReviewed(Event):
    """An organisation reviewed a listing a subject request had contested: the request's
    task in that organisation records the outcome, and is answered once no listing it
    suspended there is still waiting for review."""

    principal: Principal
    organisation_id: str
    offender_id: str
    request_id: str
    outcome: str  # "upheld" or "withdrawn"
    note: str
    incident_ids: Sequence[str]


@dataclass(frozen=True)
class LegalHoldChanged(Event):
    """An incident's held state flipped: the first hold was placed or the last released."""

    principal: Principal | None
    organisation_id: str
    incident_id: str
    held: bool
    reason: str


@dataclass(frozen=True)
class EvidenceErasureDue(Event):
    """One evidence item must go ahead of its incident (a person-of-interest image whose
    period ended). Its owner raises Conflict while the item is still protected."""

    organisation_id: str
    item: Mapping[str, Any]
    rule: str
    # False when an earlier, interrupted attempt already ended the item's custody chain.
    custody_event: bool = True


@dataclass(frozen=True)
class MessageRelayed(Event):
    """The outbox moved a message to its queue (in the relay's unit of work)."""

    queue: str
    message: Mapping[str, Any]


@dataclass(frozen=True)
class ForceOnboarded(Event):
    """A police force was onboarded or changed: its control-room inbox (and, when the
    operator gave them, its D2P rules) as they now stand. Handlers return True when they
    changed anything."""

    principal: Principal
    force_id: str
    control_room_email: str
    d2p_rules: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class DispatchSent(Event):
    """A D2P report reached the force's inbox (the provider accepted it), with its incident's times."""

    force_id: str
    dispatch_id: str
    occurred_at: str
    reported_at: str
    sent_at: str


@dataclass(frozen=True)
class DispatchAcknowledged(Event):
    """A force recorded its crime reference for a D2P report (first time only)."""

    force_id: str
    dispatch_id: str
    sent_at: str  # when the report reached the force's inbox
    acknowledged_at: str


@dataclass(frozen=True)
class D2POutcomeRecorded(Event):
    """A force recorded a Home Office outcome on an incident it received through D2P:
    `previous_code` is the outcome it replaces as the latest (None for the first)."""

    force_id: str
    incident_id: str
    sent_at: str
    code: str
    previous_code: str | None = None
