"""Evidence: the stored item and its rules, what kind of evidence it is, resumable upload
sessions, and the redaction and upload requests.

Pure: no I/O, no clock. The services feed bytes and times in.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from shared.domain.errors import Conflict
from shared.domain.file_types import ALLOWED, FileType, Media
from shared.domain.http_fields import safe_filename
from shared.domain.timestamps import from_iso, to_iso
from shared.domain.video import Processing, VideoInfo


class EvidenceKind(StrEnum):
    """What the item is to the case (header `X-Evidence-Kind`).

    D2P reads it: "CCTV covering the incident" is kind `cctv` with media video, "an
    image of the suspect" is kind `suspect_image` with media image. Those two kinds
    must fit the bytes (`KIND_MEDIA`), or a text file could meet the D2P evidence rules.
    """

    CCTV = "cctv"
    SUSPECT_IMAGE = "suspect_image"
    PHOTO = "photo"
    STATEMENT = "statement"
    AUDIO = "audio"
    DOCUMENT = "document"
    OTHER = "other"


DEFAULT_KIND = {
    Media.IMAGE: EvidenceKind.PHOTO,
    Media.VIDEO: EvidenceKind.CCTV,
    Media.AUDIO: EvidenceKind.AUDIO,
    Media.DOCUMENT: EvidenceKind.DOCUMENT,
}


# The media a kind needs. `cctv` is video only: D2P asks for CCTV covering the whole
# incident, which a DVR still does not; a still of the suspect goes in as
# `suspect_image` (D2P says a still from the CCTV will do) or as a `photo`.
KIND_MEDIA: dict[EvidenceKind, frozenset[Media]] = {
    EvidenceKind.CCTV: frozenset({Media.VIDEO}),
    EvidenceKind.SUSPECT_IMAGE: frozenset({Media.IMAGE}),
}


def kind_misfit(kind: EvidenceKind | None, file_type: FileType) -> str | None:
    """Why a file of this type cannot be evidence of this kind, or None when it fits."""
    if kind is None or kind not in KIND_MEDIA or file_type.media in KIND_MEDIA[kind]:
        return None
    needs = " or ".join(sorted(m.value for m in KIND_MEDIA[kind]))
    return f"Evidence of kind {kind.value} must be {needs}, but the file is {file_type.label} ({file_type.content_type})."


# ---- custody ----------------------------------------------------------------------


def _from_stored(value: Any) -> Any:
    return from_iso(value) if isinstance(value, str) else value


# Stored as the one text format whose string order is time order: the verify-sample and
# session-expiry queries compare these fields as text in both backends.
StoredTime = Annotated[datetime, BeforeValidator(_from_stored), PlainSerializer(to_iso, return_type=str)]


class EvidenceItem(BaseModel):
    """One file of an incident, written once: what it is, its digest, and what protects it.

    The bytes never change; a redacted copy is a new item `derived_from` the original.
    While its immutability period runs or a legal hold is on, nothing may erase it.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    incident_id: str
    organisation_id: str
    kind: EvidenceKind
    media: Media
    content_type: str
    detected_type: str
    filename: str
    sha256: str
    size: int
    created_at: StoredTime
    created_by: str
    derived_from: str | None = None
    # Given once (at receipt, or at the first package for items older than labels) and
    # never changed: statements and court papers refer to the item by it.
    exhibit_label: str | None = None
    retention_until: StoredTime
    legal_hold: bool = False
    last_verified_at: StoredTime | None = None
    last_verification: str | None = None
    # Set while the record exists but its write-once bytes may not yet: the record is
    # written first so no committed object is ever without one. Readers never see a
    # pending item; the settling sweep finishes or removes it.
    pending_since: StoredTime | None = None
    # Video: what probing found, and where the pipeline is (an original upload of video
    # starts queued; derived items are made playable and carry no state).
    video: VideoInfo | None = None
    processing: Processing | None = None
    # How a derived item was made: the operation and its exact parameters (codec, crf,
    # preset, scale, times, the PyAV and FFmpeg versions).
    derivation: dict[str, Any] | None = None

    @classmethod
    def received(
        cls,
        *,
        evidence_id: str,
        incident_id: str,
        organisation_id: str,
        file_type: FileType,
        kind: EvidenceKind | None,
        filename: str,
        sha256: str,
        size: int,
        at: datetime,
        by: str,
        derived_from: str | None,
        retention_until: datetime,
        held: bool,
    ) -> EvidenceItem:
        """A new item whose bytes were just checked: verified as it arrived, kind by media unless given."""
        return cls(
            id=evidence_id,
            incident_id=incident_id,
            organisation_id=organisation_id,
            kind=kind or DEFAULT_KIND[file_type.media],
            media=file_type.media,
            content_type=file_type.content_type,
            detected_type=file_type.id,
            filename=filename,
            sha256=sha256,
            size=size,
            created_at=at,
            created_by=by,
            derived_from=derived_from,
            retention_until=retention_until,
            legal_hold=held,
            last_verified_at=at,
            last_verification="match",
            processing=Processing.queued() if file_type.media == Media.VIDEO and derived_from is None else None,
        )

    @property
    def file_type(self) -> FileType:
        return ALLOWED[self.detected_type]

    @property
    def pending(self) -> bool:
        """Recorded but its bytes not yet confirmed stored: not evidence anyone may use yet."""
        return self.pending_since is not None

    def as_pending(self, at: datetime) -> EvidenceItem:
        """The record written before the bytes: unverified, so no rolling check picks it up."""
        return self.model_copy(update={"pending_since": at, "last_verified_at": None, "last_verification": None})

    def as_stored(self, at: datetime, held: bool) -> EvidenceItem:
        """The record once its bytes are committed and known to match."""
        return self.model_copy(update={"pending_since": None, "last_verified_at": at, "last_verification": "match", "legal_hold": held})

    @property
    def is_image(self) -> bool:
        return self.media == Media.IMAGE

    @property
    def is_suspect_image(self) -> bool:
        """Redacted copies keep their original's kind, so they count too."""
        return self.kind == EvidenceKind.SUSPECT_IMAGE

    def is_protected(self, now: datetime) -> bool:
        """Whether a legal hold or the immutability period still forbids erasing the bytes."""
        return self.legal_hold or self.retention_until > now

    def erasure_refused(self, now: datetime, *, incident_id: str | None = None) -> Conflict | None:
        """Why the item cannot be erased at `now`, or None when it can."""
        what = f"Evidence {self.id}" + (f" of incident {incident_id}" if incident_id else "")
        if self.legal_hold:
            return Conflict(f"{what} is under legal hold; release the hold before erasing.")
        if self.retention_until > now:
            return Conflict(f"{what} is protected until {to_iso(self.retention_until)}; it cannot be erased before then.")
        return None

    def with_hold(self, held: bool) -> EvidenceItem:
        return self.model_copy(update={"legal_hold": held})

    def with_verification(self, at: datetime, result: str) -> EvidenceItem:
        return self.model_copy(update={"last_verified_at": at, "last_verification": result})

    @property
    def is_redacted_copy(self) -> bool:
        """A copy made by redaction (image or video): the one to disclose. Other derived
        copies (a playable copy, a poster, a still, a clip) show everything the original
        does, so they are not."""
        if self.derived_from is None:
            return False
        # Image redaction records no `derivation`; every other copy names its operation.
        return self.derivation is None or self.derivation.get("operation") in REDACTION_OPERATIONS

    def redacted_filename(self) -> str:
        """`<stem>-redacted.<ext>`: the copy's name tells people what it is."""
        stem, dot, ext = self.filename.rpartition(".")
        return safe_filename(f"{stem}-redacted.{ext}" if dot else f"{self.filename}-redacted")


# Derivations that obscure what the original shows (image redaction records none).
REDACTION_OPERATIONS = frozenset({"video-redaction"})


def available(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored evidence documents without the pending ones, for readers that query the
    collection themselves."""
    return [d for d in docs if not d.get("pending_since")]


class UploadSession(BaseModel):
    """A resumable upload in progress: the file declared up front, its bytes staged in chunks."""

    model_config = ConfigDict(extra="ignore")

    id: str
    incident_id: str
    organisation_id: str
    filename: str
    content_type: str
    kind: EvidenceKind | None = None
    size: int
    sha256: str | None = None
    created_by: str
    created_at: StoredTime
    expires_at: StoredTime
    state: Literal["open", "committed"] = "open"
    evidence_id: str | None = None

    @property
    def committed(self) -> bool:
        return self.state == "committed"

    def expired(self, now: datetime) -> bool:
        return self.expires_at <= now

    def commit(self, evidence_id: str) -> UploadSession:
        return self.model_copy(update={"state": "committed", "evidence_id": evidence_id})


# ---- requests ---------------------------------------------------------------------


class Rect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: int = Field(ge=0, le=100_000, description="Left edge in pixels")
    y: int = Field(ge=0, le=100_000, description="Top edge in pixels")
    width: int = Field(ge=1, le=100_000)
    height: int = Field(ge=1, le=100_000)


RedactionMethod = Literal["blur", "pixelate", "black_box", "crop"]


class RedactionIn(BaseModel):
    """Regions to obscure (blur, pixelate or black box), or the one region to keep (crop)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "method": "blur",
                    "regions": [{"x": 40, "y": 30, "width": 80, "height": 90}],
                    "reason": "Bystander's face before disclosure to the CPS",
                }
            ]
        },
    )

    method: RedactionMethod
    regions: list[Rect] = Field(min_length=1, max_length=50)
    reason: str = Field(min_length=3, max_length=500, description="Why: recorded in the custody of both items")

    @model_validator(mode="after")
    def _crop_has_one_region(self) -> RedactionIn:
        if self.method == "crop" and len(self.regions) != 1:
            raise ValueError("crop takes exactly one region: the part to keep")
        return self


class UploadSessionIn(BaseModel):
    """A resumable upload: declare the file, then send it in chunks with Content-Range."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"filename": "till-camera-2.mp4", "content_type": "video/mp4", "size": 734003200, "kind": "cctv"}]},
    )

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=3, max_length=100)
    size: int = Field(ge=1, description="Total bytes the file will have")
    kind: EvidenceKind | None = None
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$", description="Optional: checked at commit")
