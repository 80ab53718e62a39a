"""What every evidence use case shares: the stores, the clock, the services it asks, and its limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.domain.audit import ChainKeys
from shared.ports import ArchiveWriter, Clock, CourtDocumentRenderer, EvidenceBlobStore, RecordStore, TemplateRenderer
from shared.services.audit import AuditTrail
from shared.services.directory import Directory
from shared.services.evidence.image_work import ImageWork
from shared.services.incidents import IncidentService
from shared.services.messagebus import MessageBus

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
