"""The handler table: what follows from each domain event, in one place.

Read a row as "when X happens, these capabilities do Y", in the order they run. Every
handler runs inside the publisher's unit of work (same transaction). Work that must
happen after commit goes through the transactional outbox: a handler writes an outbox
message in the unit, and the outbox moves it to its queue once the unit has committed.

Reporting an incident (`IncidentRecorded`) triggers:
  1. retention: the incident's index entry (lane and due date), the person index and the
     person-of-interest entry of every offender it names;
  2. D2P: eligibility against the force's rules, recorded, and with automatic sending on,
     a dispatch and its outbox message. Its summary goes into the reporter's answer.

Storing a file (`EvidenceAdded`) triggers retention and D2P as above and, for an
uploaded video, the video job through the outbox (`evidence_video` queue).

Onboarding a police force (`ForceOnboarded`) keeps its D2P rules on its control-room
inbox (and gives a force without rules the first rules the operator supplied).

The retention lanes (`RETENTION_LANES`) are the other table: what the retention timer
removes once its period has passed, in the order it runs them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.domain.events import (
    D2POutcomeRecorded,
    DispatchAcknowledged,
    DispatchSent,
    Event,
    EvidenceAdded,
    EvidenceErasureDue,
    ForceOnboarded,
    IncidentChanged,
    IncidentErased,
    IncidentRecorded,
    IncidentViewed,
    LegalHoldChanged,
    ListingContested,
    ListingReviewed,
    MessageRelayed,
)
from shared.domain.retention import RecordType
from shared.ports import UnitOfWork
from shared.services import idempotency
from shared.services.anpr import erase_hits_for_incident
from shared.services.anpr.hit_retention import UnlinkedHitLane
from shared.services.d2p.deps import QUEUE as D2P_QUEUE
from shared.services.d2p.email_body_retention import EmailBodyLane
from shared.services.footage.retention import FootageRequestLane
from shared.services.intel.group_retention import CrimeGroupLane
from shared.services.lookouts.retention import LookoutLane
from shared.services.messagebus import Handler
from shared.services.offenders.erasure import OffenderLane
from shared.services.referrals.retention import ReferralLane, erase_incident
from shared.services.retention.lanes import RetentionLane
from shared.services.retention.lanes_audit import AuditLane
from shared.services.retention.lanes_incidents import IncidentLane
from shared.services.retention.lanes_poi import PoiImageLane

# ---- retention -----------------------------------------------------------------------------


def index_incident_for_retention(
    event: IncidentRecorded | IncidentChanged | EvidenceAdded, uow: UnitOfWork, services: Any
) -> dict[str, Any]:
    """Keep the incident's retention, person and person-of-interest index entries current."""
    return services.retention.index.on_incident(uow, event.principal, dict(event.incident))


# ---- D2P -----------------------------------------------------------------------------------


def evaluate_for_d2p(event: IncidentRecorded | IncidentChanged | EvidenceAdded, uow: UnitOfWork, services: Any) -> dict[str, Any]:
    """Evaluate the report against its force's rules; send it when auto-send is on."""
    change = {IncidentRecorded: "created", IncidentChanged: "changed", EvidenceAdded: "evidence_added"}[type(event)]
    return services.d2p.eligibility.hook(uow, event.principal, dict(event.incident), change)


def show_d2p_status(event: IncidentViewed, uow: UnitOfWork, services: Any) -> dict[str, Any]:
    """The latest evaluation and dispatch status, as the viewer may see them."""
    return services.d2p.eligibility.view(uow, event.principal, dict(event.incident))


def mark_dispatch_enqueued(event: MessageRelayed, uow: UnitOfWork, services: Any) -> None:
    """A dispatch whose message reached the D2P queue moves from queued to enqueued."""
    if event.queue == D2P_QUEUE:
        services.d2p.dispatch.mark_enqueued(uow, dict(event.message))


def keep_force_inbox(event: ForceOnboarded, uow: UnitOfWork, services: Any) -> bool:
    """A force's D2P rules follow its onboarded inbox (and rules, when the operator gave them)."""
    return services.d2p.rules.onboarded(uow, event.principal, event.force_id, event.control_room_email, event.d2p_rules)


# ---- D2P evaluation (the force's counters) ----------------------------------------------------


def count_sent(event: DispatchSent, uow: UnitOfWork, services: Any) -> None:
    """The force's day counter: one more report received, and its times up to the inbox."""
    services.d2p.counters.on_sent(uow, event)


def count_acknowledgement(event: DispatchAcknowledged, uow: UnitOfWork, services: Any) -> None:
    """The force's day counter: one more report recorded, and how long it took."""
    services.d2p.counters.on_acknowledged(uow, event)


def count_outcome(event: D2POutcomeRecorded, uow: UnitOfWork, services: Any) -> None:
    """The force's day counter: the report's latest outcome code."""
    services.d2p.counters.on_outcome(uow, event)


# ---- evidence ------------------------------------------------------------------------------


def process_uploaded_video(event: EvidenceAdded, uow: UnitOfWork, services: Any) -> None:
    """An uploaded video is owed the video job (probe, playable copy, poster, thumbnails);
    derived items (clips) are made playable already."""
    if event.media == "video" and event.derived_from is None and event.owner_org:
        services.evidence.video.enqueue(uow, event.owner_org, event.evidence_id)


def erase_incident_evidence(event: IncidentErased, uow: UnitOfWork, services: Any) -> int:
    """Files, records and custody of an erased incident (refused while still immutable)."""
    removed = services.evidence.erasure.erase_for_incident(uow, event.organisation_id, event.incident_id, event.rule)
    for evidence_id in event.erased_evidence_ids:
        services.evidence.erasure.drop_custody(uow, event.organisation_id, evidence_id)
    return int(removed or 0)


def hold_incident_evidence(event: LegalHoldChanged, uow: UnitOfWork, services: Any) -> None:
    """Evidence follows its incident's hold (custody events; the blob legal-hold flag in Azure)."""
    services.evidence.erasure.set_legal_hold(uow, event.principal, event.organisation_id, event.incident_id, event.held, event.reason)


def erase_evidence_item(event: EvidenceErasureDue, uow: UnitOfWork, services: Any) -> None:
    """One item ahead of its incident; custody stays until the incident goes."""
    services.evidence.erasure.erase_item(uow, event.organisation_id, dict(event.item), event.rule, custody_event=event.custody_event)


# ---- disclosure ----------------------------------------------------------------------------


def erase_incident_shares(event: IncidentErased, uow: UnitOfWork, services: Any) -> int:
    """Package shares of the erased incident, their access logs and built packages."""
    return int(services.disclosure.upkeep.erase_for_incident(uow, event.organisation_id, event.incident_id))


# ---- ANPR ----------------------------------------------------------------------------------


def erase_incident_hits(event: IncidentErased, uow: UnitOfWork, services: Any) -> int:
    """Hits linked only to the erased incident go with it; others lose the link."""
    return erase_hits_for_incident(uow, event.organisation_id, event.incident_id)


# ---- idempotency ---------------------------------------------------------------------------


def forget_incident_replays(event: IncidentErased, uow: UnitOfWork, services: Any) -> int:
    """Keys that created the erased incident answer a retry with 410 until they expire,
    instead of recording the erased incident again."""
    idempotency.forget_resource(uow, event.organisation_id, f"incident/{event.incident_id}")
    # The keys are changed, not removed, and were never the incident's data: nothing to count.
    return 0


# ---- persons of interest ----------------------------------------------------------


def suspend_contested_listings(event: ListingContested, uow: UnitOfWork, services: Any) -> int:
    """A person contests a listing: matching listings are suspended until reviewed."""
    return int(services.offenders.contest.suspend(uow, event))


def answer_contest_on_review(event: ListingReviewed, uow: UnitOfWork, services: Any) -> None:
    """A review of a contested listing answers the contest's subject request task."""
    services.subject_requests.contest_review.record(uow, event)


def unlink_erased_incident(event: IncidentErased, uow: UnitOfWork, services: Any) -> int:
    """An erased incident leaves the profiles it was linked to (their plates are recomputed)."""
    return int(services.offenders.erasure.unlink_incident(uow, event.organisation_id, event.incident_id))


# ---- referrals -----------------------------------------------------------------------------


def erase_incident_from_referrals(event: IncidentErased, uow: UnitOfWork, services: Any) -> int:
    """An erased incident leaves every referral naming it (a referral left with none goes)."""
    return erase_incident(services.referrals.deps, uow, event.organisation_id, event.incident_id, event.rule)


# ---- intelligence ----------------------------------------------------------------------


def keep_offender_standing(event: IncidentRecorded | IncidentChanged | EvidenceAdded, uow: UnitOfWork, services: Any) -> None:
    """The repeat-offending read model follows the persons an incident names."""
    services.intel.standing.on_incident(uow, dict(event.incident))


def drop_offender_standing(event: IncidentErased, uow: UnitOfWork, services: Any) -> int:
    """An erased incident leaves the scores of the persons it named."""
    return services.intel.standing.on_erased(uow, event.organisation_id, event.incident_id)


HANDLERS: Mapping[type[Event], Sequence[Handler]] = {
    IncidentRecorded: [index_incident_for_retention, evaluate_for_d2p, keep_offender_standing],
    IncidentChanged: [index_incident_for_retention, evaluate_for_d2p, keep_offender_standing],
    EvidenceAdded: [index_incident_for_retention, evaluate_for_d2p, process_uploaded_video],
    IncidentViewed: [show_d2p_status],
    IncidentErased: [
        erase_incident_evidence,
        erase_incident_hits,
        forget_incident_replays,
        erase_incident_shares,
        unlink_erased_incident,
        erase_incident_from_referrals,  # referrals
        drop_offender_standing,
    ],
    LegalHoldChanged: [hold_incident_evidence],
    EvidenceErasureDue: [erase_evidence_item],
    MessageRelayed: [mark_dispatch_enqueued],
    ForceOnboarded: [keep_force_inbox],
    ListingContested: [suspend_contested_listings],
    ListingReviewed: [answer_contest_on_review],
    # D2P evaluation
    DispatchSent: [count_sent],
    DispatchAcknowledged: [count_acknowledgement],
    D2POutcomeRecorded: [count_outcome],
}


# What the retention timer removes, per organisation, in this order. Images first: an image
# due under the person-of-interest rule goes even if its incident is due the same day.
RETENTION_LANES: Sequence[RetentionLane] = (
    PoiImageLane(),
    IncidentLane(RecordType.INCIDENT),
    IncidentLane(RecordType.INCIDENT_POLICE_CASE),
    EmailBodyLane(),
    FootageRequestLane(),
    # Lookouts.
    LookoutLane(),
    ReferralLane(),  # referrals
    CrimeGroupLane(),
    UnlinkedHitLane(),
    OffenderLane(),  # persons of interest: profiles past their expiry
    AuditLane(),
)
