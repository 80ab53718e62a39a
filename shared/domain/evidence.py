"""Evidence: the stored item and its rules, accepted file types and how they are
recognised, resumable upload sessions,
redaction requests, and the court-package manifest.

Pure: no I/O, no clock. The services feed bytes and times in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from shared.domain.errors import Conflict, DomainError
from shared.domain.timestamps import from_iso, to_iso
from shared.domain.video import Processing, VideoInfo

# How many leading bytes the type sniffer looks at. Every signature below sits in the
# first 16 bytes; plain text is judged on this much.
SNIFF_BYTES = 4096


class Media(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"


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


@dataclass(frozen=True)
class FileType:
    id: str
    media: Media
    content_types: tuple[str, ...]  # the first is the canonical one
    label: str

    @property
    def content_type(self) -> str:
        return self.content_types[0]


ALLOWED: dict[str, FileType] = {
    t.id: t
    for t in (
        FileType("jpeg", Media.IMAGE, ("image/jpeg", "image/jpg", "image/pjpeg"), "JPEG image"),
        FileType("png", Media.IMAGE, ("image/png",), "PNG image"),
        FileType("webp", Media.IMAGE, ("image/webp",), "WebP image"),
        FileType("heic", Media.IMAGE, ("image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"), "HEIC/HEIF image"),
        FileType("mp4", Media.VIDEO, ("video/mp4",), "MP4 video"),
        FileType("quicktime", Media.VIDEO, ("video/quicktime",), "QuickTime video"),
        FileType("avi", Media.VIDEO, ("video/x-msvideo", "video/avi", "video/msvideo"), "AVI video"),
        FileType("matroska", Media.VIDEO, ("video/x-matroska", "video/matroska", "video/webm"), "Matroska/WebM video"),
        FileType("mpegts", Media.VIDEO, ("video/mp2t",), "MPEG transport stream"),
        FileType("mpegps", Media.VIDEO, ("video/mpeg", "video/mp2p"), "MPEG program stream"),
        FileType("h264", Media.VIDEO, ("video/h264",), "raw H.264 video stream"),
        FileType("h265", Media.VIDEO, ("video/h265", "video/hevc"), "raw H.265 video stream"),
        # DVR exports in a maker's own wrapper that FFmpeg demuxes (Dahua .dav, Hikvision's
        # IMKH-headed MPEG-PS): one type, since neither maker registered a media type.
        FileType("dvr", Media.VIDEO, ("video/x-dvr",), "DVR export (Dahua DAV or Hikvision)"),
        FileType("mp3", Media.AUDIO, ("audio/mpeg", "audio/mp3"), "MP3 audio"),
        FileType("wav", Media.AUDIO, ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"), "WAV audio"),
        FileType("m4a", Media.AUDIO, ("audio/mp4", "audio/x-m4a", "audio/m4a"), "M4A audio"),
        FileType("pdf", Media.DOCUMENT, ("application/pdf",), "PDF document"),
        FileType("text", Media.DOCUMENT, ("text/plain",), "plain text"),
    )
}

# Things people upload that we recognise but do not accept, so the 415 can say what it was.
_KNOWN_OTHERS: list[tuple[bytes, int, str]] = [
    (b"GIF87a", 0, "GIF image"),
    (b"GIF89a", 0, "GIF image"),
    (b"BM", 0, "BMP image"),
    (b"PK\x03\x04", 0, "ZIP archive (or an Office document)"),
    (b"\x7fELF", 0, "ELF executable"),
    (b"MZ", 0, "Windows executable"),
    (b"\x1f\x8b", 0, "gzip archive"),
    (b"Rar!", 0, "RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", 0, "7-Zip archive"),
    (b"OggS", 0, "Ogg media"),
    (b"fLaC", 0, "FLAC audio"),
    (b"II*\x00", 0, "TIFF image"),
    (b"MM\x00*", 0, "TIFF image"),
]

_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avci"}
_M4A_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
_QT_BRANDS = {b"qt  "}
_MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"dash",
    b"M4V ",
    b"MSNV",
    b"3gp4",
    b"3gp5",
    b"3g2a",
    b"mmp4",
    b"f4v ",
}
_QT_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes say: an allowed type id, or None with a human label."""

    type_id: str | None
    label: str


def sniff(head: bytes) -> Sniffed:
    """Recognise a file from its first bytes (at least `SNIFF_BYTES` unless the file is shorter)."""
    if head.startswith(b"\xff\xd8\xff"):
        return _ok("jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _ok("png")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _ok("webp")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _ok("wav")
    if head.startswith(b"%PDF-"):
        return _ok("pdf")
    if len(head) >= 12 and head[4:8] == b"ftyp":
        major = head[8:12]
        box_size = int.from_bytes(head[0:4], "big")
        compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head)), 4)} if box_size >= 16 else set()
        brands = {major} | compatible
        if major in _HEIC_BRANDS or (major not in _MP4_BRANDS | _QT_BRANDS | _M4A_BRANDS and brands & _HEIC_BRANDS):
            return _ok("heic")
        if major in _M4A_BRANDS:
            return _ok("m4a")
        if major in _QT_BRANDS:
            return _ok("quicktime")
        if major in _MP4_BRANDS or brands & _MP4_BRANDS:
            return _ok("mp4")
        return Sniffed(None, f"ISO media with brand {major.decode('latin-1')!r}")
    if len(head) >= 8 and head[4:8] in _QT_ATOMS:
        return _ok("quicktime")
    video = _sniff_video(head)
    if video is not None:
        return _ok(video)
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0):
        return _ok("mp3")
    for magic, offset, label in _KNOWN_OTHERS:
        if head[offset : offset + len(magic)] == magic:
            return Sniffed(None, label)
    if head and _is_text(head):
        return _ok("text")
    if not head:
        return Sniffed(None, "an empty file")
    return Sniffed(None, "unrecognised binary data")


# The NAL unit types a raw Annex B stream starts with: H.264 access unit delimiter, SEI,
# sequence parameter set; H.265 video parameter set, access unit delimiter, prefix SEI.
_H264_FIRST = {9, 6, 7}
_H265_FIRST = {32, 35, 39}


def _sniff_video(head: bytes) -> str | None:
    """The video containers and raw streams CCTV exports come in, past MP4 and QuickTime."""
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "matroska"
    if head.startswith(b"DHAV") or head.startswith(b"IMKH"):
        return "dvr"
    # Transport stream packets are 188 bytes, each starting 0x47: three in a row.
    if len(head) >= 377 and head[0] == head[188] == head[376] == 0x47:
        return "mpegts"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpegps"
    for start in (b"\x00\x00\x00\x01", b"\x00\x00\x01"):
        if head.startswith(start) and len(head) > len(start) + 1:
            nal = head[len(start)]
            if nal & 0x80:
                continue  # the forbidden bit: not a NAL unit header
            if (nal >> 1) & 0x3F in _H265_FIRST and head[len(start) + 1] == 0x01:
                return "h265"
            if nal & 0x1F in _H264_FIRST:
                return "h264"
    return None


def kind_misfit(kind: EvidenceKind | None, file_type: FileType) -> str | None:
    """Why a file of this type cannot be evidence of this kind, or None when it fits."""
    if kind is None or kind not in KIND_MEDIA or file_type.media in KIND_MEDIA[kind]:
        return None
    needs = " or ".join(sorted(m.value for m in KIND_MEDIA[kind]))
    return f"Evidence of kind {kind.value} must be {needs}, but the file is {file_type.label} ({file_type.content_type})."


def _ok(type_id: str) -> Sniffed:
    return Sniffed(type_id, ALLOWED[type_id].label)


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off at the end of the sniffed window is still text.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"


def declared_type(content_type: str | None) -> FileType | None:
    """The allowed type a `Content-Type` header names (parameters ignored), if any."""
    if not content_type:
        return None
    base = content_type.split(";", 1)[0].strip().lower()
    for t in ALLOWED.values():
        if base in t.content_types:
            return t
    return None


def allowed_summary() -> str:
    return ", ".join(t.content_type for t in ALLOWED.values())


# ---- digests and ranges ----------------------------------------------------------

# One dictionary member of an RFC 8941 structured field: a key, then `=` and a value
# (a byte sequence, string, token, number or boolean) or nothing (boolean true), then
# any parameters. Values other than byte sequences are matched only to be skipped.
# Keys are matched case-blind: clients that send `SHA-256` mean sha-256.
_SF_KEY = r"[A-Za-z*][A-Za-z0-9_\-.*]*"
_SF_BARE = r"(?::[A-Za-z0-9+/=]*:|\"(?:[^\"\\]|\\[\"\\])*\"|[A-Za-z*][!#$%&'*+\-.^_`|~:/A-Za-z0-9]*|-?[0-9]+(?:\.[0-9]+)?|\?[01])"
_SF_PARAMS = rf"(?:;\s*{_SF_KEY}(?:={_SF_BARE})?)*"
_SF_MEMBER = re.compile(rf"[ \t]*({_SF_KEY})(?:=({_SF_BARE}))?({_SF_PARAMS})[ \t]*(?:,|$)")


def parse_content_digest(header: str) -> str | None:
    """The SHA-256 (hex) from an RFC 9530 `Content-Digest` header, or None when it names none.

    The header is a structured dictionary: every `sha-256` member is read (a sender may
    repeat it) and all must agree; members of other algorithms are ignored. Raises
    ValueError when the header is not a dictionary, a sha-256 value is malformed, or two
    sha-256 values differ.
    """
    found: set[str] = set()
    pos, text = 0, header.strip()
    if not text:
        raise ValueError("Content-Digest is empty; send sha-256=:<base64>:")
    while pos < len(text):
        m = _SF_MEMBER.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError("Content-Digest must be a structured dictionary such as sha-256=:<base64>:")
        pos = m.end()
        if m.group(0).rstrip().endswith(",") and pos >= len(text):
            raise ValueError("Content-Digest ends with a comma")
        if m.group(1).lower() != "sha-256":
            continue
        value = m.group(2) or ""
        if not (value.startswith(":") and value.endswith(":") and len(value) >= 2):
            raise ValueError("Content-Digest sha-256 value must be a byte sequence, sha-256=:<base64>:")
        try:
            raw = base64.b64decode(value[1:-1], validate=True)
        except binascii.Error as exc:
            raise ValueError("Content-Digest sha-256 value is not base64") from exc
        if len(raw) != 32:
            raise ValueError("Content-Digest sha-256 value is not 32 bytes")
        found.add(raw.hex())
    if len(found) > 1:
        raise ValueError("Content-Digest carries sha-256 values that disagree; send one")
    return found.pop() if found else None


def sha256_field(hex_digest: str) -> str:
    """`sha-256=:<base64>:` (RFC 9530) for a hex digest."""
    return "sha-256=:" + base64.b64encode(bytes.fromhex(hex_digest)).decode() + ":"


_CONTENT_RANGE = re.compile(r"^bytes (\d{1,15})-(\d{1,15})/(\d{1,15}|\*)$")


def parse_content_range(header: str) -> tuple[int, int, int | None]:
    """`bytes first-last/total` -> (first, last inclusive, total or None). ValueError if malformed."""
    m = _CONTENT_RANGE.match(header.strip())
    if not m:
        raise ValueError("Content-Range must look like 'bytes 0-4194303/104857600'")
    first, last = int(m.group(1)), int(m.group(2))
    total = None if m.group(3) == "*" else int(m.group(3))
    if last < first or (total is not None and last >= total):
        raise ValueError("Content-Range is inconsistent (last before first, or past the total)")
    return first, last, total


_RANGE = re.compile(r"^bytes=(\d{0,15})-(\d{0,15})$")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """A single `Range: bytes=a-b` (or `a-`, `-n`) as (start, end exclusive).

    Returns None when the header should be ignored (not a single byte range, RFC 9110
    allows serving the whole representation); raises ValueError when unsatisfiable.
    """
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):
        n = int(m.group(2))
        if n == 0:
            raise ValueError("empty suffix range")
        return max(0, size - n), size
    start = int(m.group(1))
    end = int(m.group(2)) + 1 if m.group(2) else size
    if m.group(2) and int(m.group(2)) < start:
        return None
    if start >= size:
        raise ValueError("range starts past the end")
    return start, min(end, size)


def safe_filename(name: str | None, fallback: str = "evidence") -> str:
    """A display name safe in a zip member or Content-Disposition: no paths, no controls.

    Stored names are for people only; storage is always keyed by evidence id.
    """
    if not name:
        return fallback
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    name = name.strip(" .")[:150]
    return name or fallback


def ascii_filename(name: str) -> str:
    return "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in name)


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


class RangeNotSatisfiable(DomainError):
    status, slug, title = 416, "range-not-satisfiable", "Range not satisfiable"


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


# ---- court package ------------------------------------------------------------------

# ---- exhibit labels ------------------------------------------------------------------


def producer_initials(name: str | None) -> str:
    """The producer's initials as exhibit labels use them: the first letters of the first
    and last names, upper case ("Sam Taylor" -> "ST", "Łukasz Nowak" -> "ŁN"); "EX" when
    the name has no letters to take them from."""
    words = ["".join(c for c in w if c.isalpha()) for w in unicodedata.normalize("NFC", name or "").split()]
    words = [w for w in words if w]
    if not words:
        return "EX"
    picked = [words[0], words[-1]] if len(words) > 1 else [words[0]]
    return "".join(w[0].upper() for w in picked)


def exhibit_label(initials: str, number: int) -> str:
    """An exhibit label: the producer's initials and a number, e.g. ST/1."""
    return f"{initials}/{number}"


def exhibit_order(item: EvidenceItem) -> tuple[int, str, str]:
    """Exhibits in the order they were numbered (ST/2 before ST/10), unlabelled ones last."""
    label = item.exhibit_label or ""
    number = label.rsplit("/", 1)[-1]
    return (int(number) if number.isdigit() else 1 << 30, to_iso(item.created_at), item.id)


def exhibit_sequence(incident_id: str) -> str:
    """The sequence that numbers an incident's exhibits: one per incident, so a label is
    unique within it whoever produced the item, and no name goes into a storage key."""
    return f"exhibit/{incident_id}"


MANIFEST_NAME = "manifest.json"
# 2: PDFs, the standalone verifier, exhibit labels, and a SHA-256 per MiB of every file.
PACKAGE_FORMAT = "vigil-evidence-package/2"
CHUNK_INDEX_NAME = "chunks.json"
# Each file's SHA-256 per MiB: enough to say where a changed file differs without a
# manifest that outgrows the files (a 4 GiB video has 4096 of them).
PACKAGE_CHUNK_BYTES = 1024 * 1024


class ChunkHasher:
    """The SHA-256 of each PACKAGE_CHUNK_BYTES of a stream, fed in pieces of any size."""

    def __init__(self, chunk_bytes: int = PACKAGE_CHUNK_BYTES):
        self.chunk_bytes = chunk_bytes
        self.digests: list[str] = []
        self._part = hashlib.sha256()
        self._in_part = 0

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            take = min(len(view), self.chunk_bytes - self._in_part)
            self._part.update(view[:take])
            self._in_part += take
            view = view[take:]
            if self._in_part == self.chunk_bytes:
                self.digests.append(self._part.hexdigest())
                self._part, self._in_part = hashlib.sha256(), 0

    def finish(self) -> list[str]:
        """Every chunk's digest (an empty stream has one, of no bytes)."""
        if self._in_part or not self.digests:
            self.digests.append(self._part.hexdigest())
            self._part, self._in_part = hashlib.sha256(), 0
        return self.digests


def chunk_digests(data: bytes, chunk_bytes: int = PACKAGE_CHUNK_BYTES) -> list[str]:
    """The SHA-256 of each chunk of `data`."""
    hasher = ChunkHasher(chunk_bytes)
    hasher.update(data)
    return hasher.finish()


def label_path(label: str) -> str:
    """An exhibit label as a file name part: ST/1 -> ST-1."""
    return label.replace("/", "-")


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The canonical serialisation whose SHA-256 is recorded in each item's custody."""
    return json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False).encode()


def check_package(manifest: dict[str, Any], present: dict[str, tuple[int, str]]) -> dict[str, list[str]]:
    """Compare a package's files (path -> (size, sha256)) with its manifest.

    Names every file changed, added (not in the manifest) or removed (listed but absent).
    """
    listed = {f["path"]: f for f in manifest.get("files", [])}
    changed = sorted(p for p, f in listed.items() if p in present and present[p] != (f["size"], f["sha256"]))
    removed = sorted(p for p in listed if p not in present)
    added = sorted(p for p in present if p not in listed and p != MANIFEST_NAME)
    return {"changed": changed, "added": added, "removed": removed}


# ---- image headers -------------------------------------------------------------------


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG or WebP header without decoding pixels, so a
    decompression bomb is refused before any memory is spent on it."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            chunk = data[12:16]
            if chunk == b"VP8 ":
                return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
            if chunk == b"VP8L":
                b = int.from_bytes(data[21:25], "little")
                return (b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1
            if chunk == b"VP8X":
                return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
            return None
        if data.startswith(b"\xff\xd8"):
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                    i += 1 if marker == 0xFF else 2
                    continue
                length = int.from_bytes(data[i + 2 : i + 4], "big")
                if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                    return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
                i += 2 + length
    except (IndexError, ValueError):
        return None
    return None
