"""Reading evidence: an incident's items, one item's description, its bytes (whole or a
range) and face proposals for redaction. Every read is audited; reading an item is a
custody event."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain import imaging
from shared.domain.custody import CustodyEvent
from shared.domain.evidence import EvidenceItem
from shared.domain.http_fields import RangeNotSatisfiable, ascii_filename, parse_range
from shared.domain.tenancy import Principal
from shared.services.evidence import custody, integrity
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.lookup import access_entries, audit_access, items_of_incident, locate_incident, locate_item, need_purpose
from shared.services.evidence.redaction import checked_image, image_refused

FACE_DETECTOR = "OpenCV Haar cascade (frontal face)"
# Files up to this size are read whole and checked before the first byte is sent (a
# photo or a short clip); larger ones are checked while they stream.
VERIFY_BEFORE_SENDING = 8 * 1024 * 1024
# How long a storage link handed out for a download stays good: long enough to start the
# transfer, short enough that a leaked link is soon useless (a started transfer runs on).
LINK_VALID_FOR = timedelta(minutes=5)
# Files above this size go by storage link where the store gives one: the host never
# holds them and the 230 s HTTP cap never cuts them. Smaller ones are still checked
# against their hash before the host sends them.
LINK_ABOVE = 8 * 1024 * 1024


@dataclass(frozen=True)
class Download:
    """The bytes [start, end) of an item; `partial` when a range was asked for and served.
    Where the store hands out links (Azure), `url` reads the whole stored version straight
    from storage until `url_expires_at`, and `body` is empty: the host never carries the bytes."""

    item: EvidenceItem
    start: int
    end: int
    partial: bool
    body: Iterator[bytes]
    url: str | None = None
    url_expires_at: datetime | None = None

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class FaceProposals:
    """Suggested face rectangles (x, y, width, height) for a person to confirm; nothing redacted."""

    evidence_id: str
    proposals: list[dict[str, Any]]
    detector: str


class Access:
    # Only the list is a plain read. Describing, downloading and proposing faces append a
    # custody event to the item's own hash chain, a record like any other, so they stay
    # write units.

    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def list_items(self, principal: Principal, incident_id: str, purpose: str | None) -> list[EvidenceItem]:
        """Items of an incident the caller may see, oldest first (audited)."""
        need_purpose(principal, purpose)
        with self.deps.records.read_only() as uow:
            loc = locate_incident(self.deps, uow, principal, incident_id)
            items = items_of_incident(uow, loc.owner_org, incident_id)
        self.deps.audit.record_read(
            principal,
            access_entries(principal, loc.owner_org, "evidence.list", f"incident/{incident_id}", purpose, subjects=[i.id for i in items]),
        )
        return items

    def get(self, principal: Principal, evidence_id: str, purpose: str | None) -> EvidenceItem:
        """An item's description (a `viewed` custody event)."""
        need_purpose(principal, purpose)
        with self.deps.records.unit_of_work() as uow:
            stored, loc = locate_item(self.deps, uow, principal, evidence_id)
            custody.record_event(
                uow,
                self.deps.chain_keys,
                loc.owner_org,
                evidence_id,
                CustodyEvent.VIEWED,
                principal,
                at=self.deps.clock.now(),
                purpose=purpose,
                details={"what": "description"},
            )
            audit_access(self.deps, uow, principal, loc.owner_org, "evidence.read", f"evidence/{evidence_id}", purpose)
        return stored.record

    def download(
        self, principal: Principal, evidence_id: str, purpose: str | None, range_header: str | None, *, link: bool = True
    ) -> Download:
        """Stream the stored bytes (all or one range); a `downloaded` custody event and an audit entry.

        The bytes are checked against the SHA-256 recorded at intake: a file up to
        `VERIFY_BEFORE_SENDING` bytes is read and checked before anything is sent; a larger
        whole file is checked as it streams, its last chunk held back until it matches. A
        missing or altered file raises IntegrityFailure (recorded in custody, alert raised)
        instead of being served as intact. A range of a larger file is served unchecked:
        its reader checks the whole file against Repr-Digest.

        A Range that cannot be served raises RangeNotSatisfiable; one that is not a single
        byte range is ignored and the whole file is served.

        With `link` (the API) a file over `LINK_ABOVE` bytes is answered as a storage link
        where the store gives one; without it (console pages) the bytes are always streamed."""
        deps = self.deps
        need_purpose(principal, purpose)
        with deps.records.read_only() as uow:
            stored, loc = locate_item(deps, uow, principal, evidence_id)
        item = stored.record
        start, end, partial = 0, item.size, False
        if range_header:
            try:
                wanted = parse_range(range_header, item.size)
            except ValueError as exc:
                raise RangeNotSatisfiable(f"Range {range_header} cannot be served from {item.size} bytes.", size=item.size) from exc
            if wanted is not None and wanted != (0, item.size):
                start, end, partial = wanted[0], wanted[1], True
        if not integrity.present(deps, item):
            size = deps.blobs.size(item.id)
            raise integrity.serving_failed(deps, principal, item, found_sha256=None, found_size=size, during="download", purpose=purpose)
        url = None
        if link and item.size > LINK_ABOVE:
            url = deps.blobs.download_url(
                evidence_id, valid_for=LINK_VALID_FOR, filename=ascii_filename(item.filename), content_type=item.content_type
            )
        if url:
            # Storage serves the bytes (and any Range the reader sends it); the reader checks
            # them against Repr-Digest. Issuing the link is the download, audited as one.
            expires_at = deps.clock.now() + LINK_VALID_FOR
            self._record_download(principal, loc.owner_org, item, purpose, None, {"link_expires_at": expires_at.isoformat()})
            return Download(item=item, start=0, end=item.size, partial=False, body=iter(()), url=url, url_expires_at=expires_at)
        body: Iterator[bytes]
        if item.size <= VERIFY_BEFORE_SENDING:
            data = b"".join(integrity.verified_chunks(deps, principal, item, during="download", purpose=purpose))
            body = iter((data[start:end],))
        elif not partial:
            body = integrity.verified_chunks(deps, principal, item, during="download", purpose=purpose)
        else:
            body = deps.blobs.open(evidence_id, start, end)
        self._record_download(principal, loc.owner_org, item, purpose, [start, end - 1] if partial else None, {})
        return Download(item=item, start=start, end=end, partial=partial, body=body)

    def _record_download(
        self, principal: Principal, owner: str, item: EvidenceItem, purpose: str | None, range_: list[int] | None, extra: dict[str, Any]
    ) -> None:
        deps = self.deps
        with deps.records.unit_of_work() as uow:
            custody.record_event(
                uow,
                deps.chain_keys,
                owner,
                item.id,
                CustodyEvent.DOWNLOADED,
                principal,
                at=deps.clock.now(),
                purpose=purpose,
                details={"range": range_, "sha256": item.sha256, **extra},
            )
            audit_access(deps, uow, principal, owner, "evidence.download", f"evidence/{item.id}", purpose)

    def face_proposals(self, principal: Principal, evidence_id: str, purpose: str | None) -> FaceProposals:
        """Suggested face rectangles for a person to confirm or edit; nothing is redacted."""
        deps = self.deps
        need_purpose(principal, purpose)
        with deps.records.read_only() as uow:
            stored, loc = locate_item(deps, uow, principal, evidence_id)
        item = stored.record
        with deps.image_work.slot(principal, "Face proposals"):
            data = checked_image(deps, item, "Face proposals")
            try:
                faces = imaging.face_proposals(data, item.detected_type, max_pixels=deps.limits.image_max_pixels)
            except imaging.ImageError as exc:
                raise image_refused(exc, "evidence") from exc
            del data  # the slot bounds memory only if the bytes go with it
        with deps.records.unit_of_work() as uow:
            custody.record_event(
                uow,
                self.deps.chain_keys,
                loc.owner_org,
                evidence_id,
                CustodyEvent.VIEWED,
                principal,
                at=deps.clock.now(),
                purpose=purpose,
                details={"what": "face proposals", "proposals": len(faces)},
            )
            audit_access(deps, uow, principal, loc.owner_org, "evidence.face-proposals", f"evidence/{evidence_id}", purpose)
        return FaceProposals(evidence_id=evidence_id, proposals=faces, detector=FACE_DETECTOR)
