"""The evidence locker: streamed write-once uploads (single and resumable), chain of
custody, verification, download, redaction, face proposals, court documents, court
packages, and the video pipeline with stills and clips.

One module per use case; `Evidence` gathers them for the container
(`container.evidence.uploads.put_chunk(...)`). Bytes go through the evidence blob port;
records (items, custody, upload sessions, alerts) through the record-store port. Long
reads and writes of bytes happen outside any unit of work. An item's record is written
pending before its write-once bytes are committed and marked stored after, so no object
is ever without a record; readers see only stored items, and `settling` finishes or
removes what an interrupted upload left pending.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.services.evidence.access import Access
from shared.services.evidence.custody import Custody
from shared.services.evidence.deps import EvidenceDeps, EvidenceLimits
from shared.services.evidence.documents import CourtDocuments
from shared.services.evidence.erasure import Erasure
from shared.services.evidence.footage import Footage
from shared.services.evidence.intake import Intake
from shared.services.evidence.integrity import Integrity
from shared.services.evidence.package import Packages
from shared.services.evidence.package_delivery import PackageDelivery
from shared.services.evidence.redaction import Redaction
from shared.services.evidence.settling import Settling
from shared.services.evidence.uploads import Uploads
from shared.services.evidence.video import Video
from shared.services.evidence.video_redaction import VideoRedaction

__all__ = ["Evidence", "EvidenceDeps", "EvidenceLimits"]


@dataclass(frozen=True)
class Evidence:
    """The evidence capability, one attribute per use case."""

    intake: Intake
    uploads: Uploads
    access: Access
    custody: Custody
    integrity: Integrity
    redaction: Redaction
    package: Packages
    package_delivery: PackageDelivery
    documents: CourtDocuments
    erasure: Erasure
    settling: Settling
    video: Video
    footage: Footage
    video_redaction: VideoRedaction

    @classmethod
    def build(cls, deps: EvidenceDeps) -> Evidence:
        """Every use case over the same dependencies."""
        packages = Packages(deps)
        return cls(
            intake=Intake(deps),
            uploads=Uploads(deps),
            access=Access(deps),
            custody=Custody(deps),
            integrity=Integrity(deps),
            redaction=Redaction(deps),
            package=packages,
            package_delivery=PackageDelivery(deps, packages),
            documents=CourtDocuments(deps),
            erasure=Erasure(deps),
            settling=Settling(deps),
            video=Video(deps),
            footage=Footage(deps),
            video_redaction=VideoRedaction(deps),
        )
