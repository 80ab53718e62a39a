"""Evidence output models: what the evidence routes answer (items, upload sessions, custody,
verification, face proposals), apart from the routes themselves (functions/http/evidence*.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shared.domain.evidence import EvidenceKind
from shared.domain.timestamps import to_iso


class ProcessingOut(BaseModel):
    state: str = Field(description="queued | processing | ready | failed")
    percent: int = Field(description="How far the job is, 0 to 100")
    updated_at: str | None = None
    attempts: int = 0
    failure: str | None = Field(
        default=None,
        description="Why it failed: not-a-video, corrupt, too-long, resolution-too-high, time-budget-exceeded, damaged-original, interrupted, server-busy",
    )
    detail: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict, description="Derived item ids by role: playable, poster, thumbnails")


class VideoStreamOut(BaseModel):
    codec: str
    width: int
    height: int
    frame_rate: float | None = None
    pixel_format: str | None = None


class AudioStreamOut(BaseModel):
    codec: str
    sample_rate: int | None = None
    channels: int | None = None


class VideoOut(BaseModel):
    container: str
    duration_seconds: float | None = None
    video: VideoStreamOut
    audio: AudioStreamOut | None = None
    recorded_start: str | None = Field(default=None, description="The recorder's own start time (container creation_time), as written")


class EvidenceOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "northwind-3f2a9c1e5b7d4e0f8a6b2c9d1e3f5a7b",
                    "incident_id": "0b9e6c1a-7d2f-4e8b-9a1c-3e5f7a9b1c2d",
                    "organisation_id": "northwind",
                    "kind": "cctv",
                    "media": "video",
                    "content_type": "video/mp4",
                    "detected_type": "mp4",
                    "filename": "till-camera-2.mp4",
                    "exhibit_label": "ST/1",
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "size": 734003200,
                    "created_at": "2026-11-23T12:00:00.000000+00:00",
                    "created_by": "amy.reporter",
                    "derived_from": None,
                    "retention_until": "2032-11-23T12:00:00.000000+00:00",
                    "legal_hold": False,
                    "last_verified_at": "2026-11-23T12:00:00.000000+00:00",
                    "last_verification": "match",
                    "video": None,
                    "processing": {
                        "state": "queued",
                        "percent": 0,
                        "updated_at": None,
                        "attempts": 0,
                        "failure": None,
                        "detail": None,
                        "outputs": {},
                    },
                    "derivation": None,
                }
            ]
        }
    )

    id: str
    incident_id: str
    organisation_id: str
    kind: EvidenceKind
    media: str = Field(description="image | video | audio | document")
    content_type: str
    detected_type: str = Field(
        description="What the first bytes showed: jpeg, png, webp, heic, mp4, quicktime, avi, matroska, mpegts, mpegps, h264, h265, dvr, mp3, wav, m4a, pdf, text"
    )
    filename: str = Field(description="For people only; storage is keyed by the evidence id")
    exhibit_label: str | None = Field(
        default=None, description="The producer's initials and a number (ST/1), unique within the incident and never changed"
    )
    sha256: str
    size: int
    created_at: str
    created_by: str
    derived_from: str | None
    retention_until: str
    legal_hold: bool
    last_verified_at: str | None = None
    last_verification: str | None = None
    video: VideoOut | None = Field(default=None, description="Video only: what probing the file found")
    processing: ProcessingOut | None = Field(default=None, description="Uploaded video only: where the video pipeline is")
    derivation: dict[str, Any] | None = Field(
        default=None, description="Derived items only: the operation (playable, poster, thumbnails, still, clip) and its exact parameters"
    )


class EvidenceList(BaseModel):
    items: list[EvidenceOut]


class UploadSessionOut(BaseModel):
    id: str
    incident_id: str
    filename: str
    content_type: str
    size: int
    received: int = Field(description="Bytes safely stored: send the next chunk from here")
    expires_at: str
    state: str = Field(description="open | committed")
    evidence_id: str | None
    chunks_url: str
    commit_url: str
    max_chunk_bytes: int = Field(description="The most bytes one chunk may carry; larger chunks are refused with 413")


class DownloadLinkOut(BaseModel):
    url: str = Field(description="Reads the stored version straight from storage (GET, Range allowed) until expires_at")
    expires_at: str
    sha256: str = Field(description="Check the bytes against this: storage serves them unchecked")
    size: int
    filename: str
    content_type: str


class CourtPackageBuildingOut(BaseModel):
    status: str = Field(description="building: the package is being written to storage; ask again at Location")
    retry_after_seconds: int = Field(description="When to ask again (also the Retry-After header)")
    location: str = Field(description="Where to ask again (also the Location header): the same request")


class CustodyEventOut(BaseModel):
    id: str
    evidence_id: str
    event: str = Field(description="received, stored, viewed, downloaded, exported, redacted, derived, verified, held, released, deleted")
    at: str
    actor_user: str
    actor_org: str
    actor_role: str
    purpose: str | None
    details: dict[str, Any]
    chain: str
    seq: int
    prev_hash: str
    key_id: str | None = Field(default=None, description="The chain key the event's hash was made with")
    hash: str


class CustodyOut(BaseModel):
    evidence_id: str
    events: list[CustodyEventOut]
    verified: bool = Field(
        description="Every event links to the one before, matches its keyed hash (HMAC under the platform's chain key), and the chain reaches its stored head"
    )
    first_broken: dict[str, Any] | None
    head: str | None


def _iso(value: Any) -> Any:
    return to_iso(value) if isinstance(value, datetime) else value


IsoText = Annotated[str, BeforeValidator(_iso)]


class VerifyOut(BaseModel):
    evidence_id: str
    result: str = Field(description="match | mismatch")
    expected_sha256: str
    expected_size: int
    found_sha256: str | None
    found_size: int | None
    missing: bool
    verified_at: IsoText


class Rectangle(BaseModel):
    x: int
    y: int
    width: int
    height: int


class TrackKey(BaseModel):
    t: float = Field(description="Seconds from the start of the video")
    x: float = Field(description="Left edge in source pixels")
    y: float = Field(description="Top edge in source pixels")
    w: float = Field(description="Width in source pixels")
    h: float = Field(description="Height in source pixels")


class FaceTrack(BaseModel):
    keys: list[TrackKey]
    style: str = "blur"


class VideoFaceProposalsOut(BaseModel):
    evidence_id: str
    tracks: list[FaceTrack] = Field(description="Suggested regions, ready to confirm, edit and POST to /video-redactions")
    detector: str
    sample_every_seconds: float
    samples: int = Field(description="How many frames were looked at")
    width: int = Field(description="The source picture's width, the unit of every box")
    height: int = Field(description="The source picture's height")
    note: str


class FaceProposalsOut(BaseModel):
    evidence_id: str
    proposals: list[Rectangle]
    detector: str
    note: str
