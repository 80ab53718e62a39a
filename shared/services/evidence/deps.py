"""What every evidence use case shares: the stores, the clock, the services it asks, and its limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.domain.audit import ChainKeys
from shared.domain.video import VideoLimits
from shared.evidence_ports import ArchiveWriter, CourtDocumentRenderer, EvidenceBlobStore, PackageStore, TemplateRenderer
from shared.ports import Clock, RecordStore, UnitOfWork
from shared.services.audit import AuditTrail
from shared.services.directory import Directory
from shared.services.evidence.image_work import ImageWork
from shared.services.incidents import IncidentService
from shared.services.messagebus import MessageBus
from shared.services.outbox import Outbox

if TYPE_CHECKING:  # retention imports this package for `suspect_images`
    from shared.services.retention.terms import EvidenceTerms


@dataclass(frozen=True)
class EvidenceLimits:
    max_bytes: int
    session_hours: int
    verify_sample_size: int
    image_max_bytes: int
    image_max_pixels: int

    @classmethod
    def from_settings(cls, s) -> EvidenceLimits:
        return cls(
            max_bytes=s.evidence_max_bytes,
            session_hours=s.evidence_upload_session_hours,
            verify_sample_size=s.evidence_verify_sample_size,
            image_max_bytes=s.evidence_image_max_bytes,
            image_max_pixels=s.evidence_image_max_pixels,
        )


@dataclass(frozen=True)
class EvidenceDeps:
    """Retention answers how long a new file stays immutable and whether it starts held
    (`evidence_terms`); the locker never decides a period itself."""

    records: RecordStore
    blobs: EvidenceBlobStore
    clock: Clock
    incidents: IncidentService
    audit: AuditTrail
    retention: EvidenceTerms
    bus: MessageBus
    limits: EvidenceLimits
    templates: TemplateRenderer
    archives: ArchiveWriter
    # Face proposals and redaction renders: a per-person budget and a few workers per process.
    image_work: ImageWork
    chain_keys: ChainKeys  # the custody chain's HMAC keys (the same as the audit chain's)
    # Court packages: PDFs of the case summary, MG11s and the Impact Statement for Business,
    # with names of stores, forces and retailers from the directory, in the region's local time.
    documents: CourtDocumentRenderer
    directory: Directory
    region: str
    # Video jobs are owed through the outbox, written with the upload that owes them.
    outbox: Outbox
    video: VideoLimits
    # Court packages built once and served from here (the `packages` container in Azure);
    # asked for only when a package is, so a deployment without the store still starts.
    package_store: Callable[[], PackageStore] | None = None


VIDEO_QUEUE = "evidence_video"


def owe_video_job(deps: EvidenceDeps, uow: UnitOfWork, owner_org: str, evidence_id: str) -> None:
    """Owe the video job for an uploaded video from this unit of work; the message id is
    the item's, so a resend is a duplicate the queue drops."""
    deps.outbox.put(
        uow, owner_org, queue=VIDEO_QUEUE, message_id=f"video-{evidence_id}", body={"evidence_id": evidence_id, "owner_org": owner_org}
    )
