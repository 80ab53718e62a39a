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


# Video redaction. Boxes are in the source video's pixels (what a person sees when the
# original plays at full size, and what face proposals answer with), so a plan made on
# the original still means the same picture whatever the playable copy was scaled to.
MAX_REGIONS = 32
MAX_KEYS = 600
MAX_MUTES = 64
RedactionStyle = Literal["blur", "pixelate", "black"]


class BoxKey(BaseModel):
    """Where a box is at one moment: `t` seconds from the start, its top-left corner and size in source pixels."""

    model_config = ConfigDict(extra="forbid")

    t: float = Field(ge=0, le=10 * 24 * 3600, description="Seconds from the start of the video")
    x: float = Field(ge=0, le=100_000, description="Left edge in source pixels")
    y: float = Field(ge=0, le=100_000, description="Top edge in source pixels")
    w: float = Field(gt=0, le=100_000, description="Width in source pixels")
    h: float = Field(gt=0, le=100_000, description="Height in source pixels")


class RegionTrack(BaseModel):
    """A box followed through time: linearly between its keys, and only from its first key's time to its last's."""

    model_config = ConfigDict(extra="forbid")

    keys: list[BoxKey] = Field(min_length=1, max_length=MAX_KEYS)
    style: RedactionStyle = "blur"

    @model_validator(mode="after")
    def _ordered(self) -> RegionTrack:
        for before, after in zip(self.keys, self.keys[1:], strict=False):
            if after.t < before.t:
                raise ValueError("keys must be in time order")
        return self


class MuteRange(BaseModel):
    """Sound silenced from `start` to `end` seconds."""

    model_config = ConfigDict(extra="forbid")

    start: float = Field(ge=0, le=10 * 24 * 3600, description="Seconds from the start of the video")
    end: float = Field(gt=0, le=10 * 24 * 3600, description="Seconds from the start of the video; after the start")

    @model_validator(mode="after")
    def _end_after_start(self) -> MuteRange:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class VideoRedactionIn(BaseModel):
    """Boxes to obscure over time and ranges to silence, made into a new derived copy."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "regions": [
                        {
                            "style": "blur",
                            "keys": [{"t": 12.0, "x": 40, "y": 30, "w": 80, "h": 90}, {"t": 15.5, "x": 120, "y": 34, "w": 80, "h": 90}],
                        }
                    ],
                    "mute": [{"start": 20.0, "end": 24.5}],
                    "reason": "Bystander's face and a card number read aloud, before disclosure to the CPS",
                }
            ]
        },
    )

    regions: list[RegionTrack] = Field(default_factory=list, max_length=MAX_REGIONS)
    mute: list[MuteRange] = Field(default_factory=list, max_length=MAX_MUTES)
    reason: str = Field(min_length=3, max_length=500, description="Why: recorded in the custody of both items")

    @model_validator(mode="after")
    def _something(self) -> VideoRedactionIn:
        if not self.regions and not self.mute:
            raise ValueError("give at least one region or mute range")
        return self


def problems_with(plan: VideoRedactionIn, width: int, height: int, duration: float | None, has_audio: bool) -> list[tuple[str, str]]:
    """(field, message) for each part of `plan` the video cannot take: a time past its
    end, a box reaching outside the picture, a mute on a video without sound."""
    found: list[tuple[str, str]] = []
    for r, region in enumerate(plan.regions):
        for k, key in enumerate(region.keys):
            where = f"regions[{r}].keys[{k}]"
            if duration is not None and key.t > duration:
                found.append((f"{where}.t", f"{key.t:g} s is past the video's end at {duration:.2f} s"))
            if key.x + key.w > width or key.y + key.h > height:
                found.append((where, f"the box reaches outside the {width}x{height} picture"))
    for m, rng in enumerate(plan.mute):
        if not has_audio:
            found.append((f"mute[{m}]", "the video has no sound to mute"))
        elif duration is not None and rng.end > duration + 0.05:
            found.append((f"mute[{m}].end", f"{rng.end:g} s is past the video's end at {duration:.2f} s"))
    return found


def box_at(region: RegionTrack, t: float) -> tuple[float, float, float, float] | None:
    """The box (x, y, w, h) of `region` at `t` seconds, linearly between the keys either
    side; None before the first key or after the last (a track is never extrapolated)."""
    keys = region.keys
    if t < keys[0].t or t > keys[-1].t:
        return None
    for a, b in zip(keys, keys[1:], strict=False):
        if a.t <= t <= b.t:
            f = 0.0 if b.t == a.t else (t - a.t) / (b.t - a.t)
            return (a.x + f * (b.x - a.x), a.y + f * (b.y - a.y), a.w + f * (b.w - a.w), a.h + f * (b.h - a.h))
    last = keys[-1]
    return (last.x, last.y, last.w, last.h)


def muted(plan: VideoRedactionIn, t: float) -> bool:
    """Whether sound at `t` seconds is silenced."""
    return any(m.start <= t < m.end for m in plan.mute)


def _overlap(a: dict[str, float], b: dict[str, float]) -> float:
    """Intersection over union of two boxes given as x, y, w, h."""
    ix = max(0.0, min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]))
    iy = max(0.0, min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]))
    inter = ix * iy
    union = a["w"] * a["h"] + b["w"] * b["h"] - inter
    return inter / union if union > 0 else 0.0


def join_tracks(samples: list[tuple[float, list[dict[str, float]]]], min_overlap: float = 0.3) -> list[list[dict[str, float]]]:
    """Faces found in sampled frames, joined into tracks: a face in one sample continues
    the track whose box in the sample before overlaps it most (at least `min_overlap`
    of their union); any other face starts a new track. Each track is its keys
    `{t, x, y, w, h}` in time order, ready to send back as a region."""
    tracks: list[list[dict[str, float]]] = []
    open_tracks: list[int] = []  # indices of tracks that had a box in the previous sample
    for t, boxes in samples:
        still_open: list[int] = []
        taken: set[int] = set()
        for box in boxes:
            key = {"t": t, "x": box["x"], "y": box["y"], "w": box["w"], "h": box["h"]}
            best, best_overlap = None, min_overlap
            for index in open_tracks:
                if index in taken:
                    continue
                o = _overlap(tracks[index][-1], key)
                if o >= best_overlap:
                    best, best_overlap = index, o
            if best is None:
                tracks.append([key])
                best = len(tracks) - 1
            else:
                tracks[best].append(key)
            taken.add(best)
            still_open.append(best)
        open_tracks = still_open
    return tracks
