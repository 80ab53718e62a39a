"""CCTV video: what probing a file found, the processing state shown on an item, the
named reasons processing fails, the bounds a job works within, and still and clip
requests.

Pure: no I/O, no clock. The PyAV work lives in shared/services/evidence/transcoding.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Why processing stopped, as a person reading the item sees it. Each is permanent for
# the file: retrying the same bytes gives the same answer.
FAILURES: dict[str, str] = {
    "not-a-video": "The file could not be read as video: no decodable video stream.",
    "corrupt": "The video is damaged: its frames could not be decoded.",
    "too-long": "The video is longer than this server processes.",
    "resolution-too-high": "The video's picture is larger than this server processes.",
    "time-budget-exceeded": "Processing took longer than its time budget and was stopped.",
    "damaged-original": "The stored original no longer matches its recorded SHA-256.",
    "interrupted": "Processing was interrupted repeatedly and was given up.",
    "server-busy": "The server stayed busy with other videos for too long.",
}


class VideoFailure(Exception):
    """Processing a video cannot succeed; `reason` is one of FAILURES."""

    def __init__(self, reason: str, detail: str):
        assert reason in FAILURES, reason
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


ProcessingState = Literal["queued", "processing", "ready", "failed"]


class Processing(BaseModel):
    """Where the video pipeline is with an item: queued, processing (with a percentage),
    ready (its derived copies named) or failed (with a named reason)."""

    model_config = ConfigDict(extra="ignore")

    state: ProcessingState
    percent: int = Field(default=0, ge=0, le=100)
    updated_at: str | None = None
    attempts: int = 0
    failure: str | None = None
    detail: str | None = None
    # Derived items made so far, by role (playable, poster, thumbnails): a retried job
    # keeps what an earlier attempt finished instead of making a second copy.
    outputs: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def queued(cls) -> Processing:
        return cls(state="queued")

    @property
    def finished(self) -> bool:
        return self.state in ("ready", "failed")


class VideoStreamInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    codec: str
    width: int
    height: int
    frame_rate: float | None = None
    pixel_format: str | None = None


class AudioStreamInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    codec: str
    sample_rate: int | None = None
    channels: int | None = None


class VideoInfo(BaseModel):
    """What the original file holds, as probed (and, for raw streams whose length the
    container does not say, counted while decoding)."""

    model_config = ConfigDict(extra="ignore")

    container: str
    duration_seconds: float | None = None
    video: VideoStreamInfo
    audio: AudioStreamInfo | None = None
    # The recorder's own start time from the container metadata (`creation_time`), as
    # written; DVR clocks drift, so it is shown beside the upload time, never instead.
    recorded_start: str | None = None


@dataclass(frozen=True)
class VideoLimits:
    """What one job may spend: encoder threads, the longest and largest video, the
    wall-clock budget, and the playable copy's height and quality."""

    threads: int = 2
    max_seconds: float = 3 * 3600
    max_pixels: int = 3840 * 2160
    budget_seconds: float = 540
    playable_max_height: int = 1080
    crf: int = 23
    preset: str = "superfast"
    clip_max_seconds: float = 600
    workers: int = 1

    @classmethod
    def from_settings(cls, s: Any) -> VideoLimits:
        return cls(
            threads=s.evidence_video_threads,
            max_seconds=s.evidence_video_max_seconds,
            max_pixels=s.evidence_video_max_pixels,
            budget_seconds=s.evidence_video_budget_seconds,
            playable_max_height=s.evidence_video_playable_max_height,
            crf=s.evidence_video_crf,
            preset=s.evidence_video_preset,
            clip_max_seconds=s.evidence_video_clip_max_seconds,
            workers=s.evidence_video_workers,
        )


def scaled(width: int, height: int, max_height: int) -> tuple[int, int]:
    """The playable copy's size: no taller than `max_height`, aspect kept, both even
    (H.264 4:2:0 needs even sides)."""
    if height > max_height:
        width, height = round(width * max_height / height), max_height
    return max(2, width - width % 2), max(2, height - height % 2)


def check_bounds(info: VideoInfo, limits: VideoLimits) -> None:
    """Refuse, with a named reason, a video larger or longer than a job may process."""
    pixels = info.video.width * info.video.height
    if pixels > limits.max_pixels:
        raise VideoFailure(
            "resolution-too-high",
            f"The picture is {info.video.width}x{info.video.height} ({pixels} pixels); this server processes up to {limits.max_pixels}.",
        )
    if info.duration_seconds is not None and info.duration_seconds > limits.max_seconds:
        raise VideoFailure(
            "too-long",
            f"The video runs {info.duration_seconds:.0f} s; this server processes up to {limits.max_seconds:.0f} s per file.",
        )


class StillIn(BaseModel):
    """A still picture from a video at a time offset: by default the suspect image D2P asks for."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"at_seconds": 12.4, "kind": "suspect_image", "reason": "Clearest view of the suspect's face"}]},
    )

    at_seconds: float = Field(ge=0, le=10 * 24 * 3600, description="Seconds from the start of the video")
    kind: Literal["suspect_image", "photo"] = Field(default="suspect_image", description="suspect_image (counts for D2P) or photo")
    reason: str = Field(min_length=3, max_length=500, description="Why: recorded in the custody of both items")


class ClipIn(BaseModel):
    """A part of a video, between two time offsets, as a new playable MP4 item."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"start_seconds": 30.0, "end_seconds": 75.5, "reason": "The theft at the till, for the CPS"}]},
    )

    start_seconds: float = Field(ge=0, le=10 * 24 * 3600, description="Seconds from the start of the video")
    end_seconds: float = Field(gt=0, le=10 * 24 * 3600, description="Seconds from the start of the video; after the start")
    reason: str = Field(min_length=3, max_length=500, description="Why: recorded in the custody of both items")

    @model_validator(mode="after")
    def _end_after_start(self) -> ClipIn:
        if self.end_seconds <= self.start_seconds:
            raise ValueError("end_seconds must be after start_seconds")
        return self
