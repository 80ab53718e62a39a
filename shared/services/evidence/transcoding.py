"""Video work through PyAV (whose wheels carry FFmpeg): probing a file, the playable
copy with its poster and thumbnail strip in one decoding pass, a still at a time and a
clip between two times.

Works on local files (the original spooled to a temporary directory); one frame at a
time is decoded, so memory stays near one picture plus the encoder's look-ahead,
whatever the length. Every loop checks the wall-clock deadline and the length bound.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np

from shared.domain.video import (
    AudioStreamInfo,
    VideoFailure,
    VideoInfo,
    VideoLimits,
    VideoRedactionIn,
    VideoStreamInfo,
    scaled,
)
from shared.services.evidence.frame_images import THUMB_COUNT, Thumbs, jpeg
from shared.services.evidence.frame_redaction import obscure, silence

POSTER_QUALITY = 90
STILL_QUALITY = 95
THUMB_WIDTH = 160
# The playable copy's frame rate when the file names none that makes sense (25 fps is
# the usual UK CCTV rate); rates outside 1..120 are container artefacts, not cameras.
DEFAULT_FPS = Fraction(25)


def versions() -> dict[str, str]:
    """The exact PyAV and FFmpeg builds, recorded with every derived item."""
    return {
        "pyav": av.__version__,
        "ffmpeg": str(av.ffmpeg_version_info),
        "libavcodec": ".".join(str(n) for n in av.library_versions["libavcodec"]),
        "libx264": "bundled with PyAV",
    }


def _open(path: str) -> Any:
    try:
        container = av.open(path, metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoFailure("not-a-video", f"FFmpeg could not read the file as media: {exc}") from exc
    if not container.streams.video:
        container.close()
        raise VideoFailure("not-a-video", "The file holds no video stream.")
    return container


def _fps(stream: Any) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 1 <= rate <= 120:
            return Fraction(rate).limit_denominator(1001)
    return DEFAULT_FPS


def _recorded_start(container: Any, stream: Any) -> str | None:
    for meta in (container.metadata, stream.metadata):
        value = meta.get("creation_time") or meta.get("date")
        if value:
            return str(value)
    return None


def probe(path: str) -> VideoInfo:
    """Container, duration, codecs, picture size, frame rate and the recorder's start
    time; raises VideoFailure("not-a-video") when FFmpeg finds no video in it."""
    container = _open(path)
    try:
        v = container.streams.video[0]
        width, height = v.codec_context.width, v.codec_context.height
        if not width or not height:
            raise VideoFailure("not-a-video", "The video stream names no picture size.")
        duration = None
        if container.duration is not None and container.duration > 0:
            duration = container.duration / av.time_base
        elif v.duration is not None and v.time_base is not None:
            duration = float(v.duration * v.time_base)
        audio = None
        if container.streams.audio:
            a = container.streams.audio[0]
            audio = AudioStreamInfo(
                codec=a.codec_context.name, sample_rate=a.codec_context.sample_rate or None, channels=a.codec_context.channels or None
            )
        return VideoInfo(
            container=container.format.name,
            duration_seconds=round(duration, 3) if duration else None,
            video=VideoStreamInfo(
                codec=v.codec_context.name,
                width=width,
                height=height,
                frame_rate=float(_fps(v)),
                pixel_format=v.codec_context.format.name if v.codec_context.format else None,
            ),
            audio=audio,
            recorded_start=_recorded_start(container, v),
        )
    finally:
        container.close()


@dataclass
class Encoded:
    """What an encoding pass made and measured."""

    parameters: dict[str, Any]
    duration_seconds: float
    frames: int
    width: int
    height: int
    poster: bytes | None = None
    thumbnails: bytes | None = None
    thumbnail_count: int = 0


class _Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise VideoFailure("time-budget-exceeded", f"Stopped after its budget of {self.seconds:.0f} s.")


def _frames(container: Any, stream: Any, deadline: _Deadline) -> Iterator[tuple[Any, int | None]]:
    """Decoded frames of one stream with the byte position of their packet (for progress
    when the length is unknown)."""
    try:
        for packet in container.demux(stream):
            deadline.check()
            for frame in packet.decode():
                yield frame, packet.pos
    except av.error.FFmpegError as exc:
        raise VideoFailure("corrupt", f"Decoding stopped: {exc}") from exc


def encode(
    path: str,
    out_path: str,
    limits: VideoLimits,
    *,
    start: float = 0.0,
    end: float | None = None,
    poster_and_thumbnails: bool = False,
    on_progress: Callable[[int], None] | None = None,
    known_duration: float | None = None,
    redaction: VideoRedactionIn | None = None,
) -> Encoded:
    """Re-encode the video (from `start` to `end` seconds, the whole by default) as an MP4
    that plays everywhere: H.264 yuv420p, `movflags=+faststart` (the index first, so a
    browser starts playing before the whole file arrives), audio as AAC when present.
    Optionally takes the poster and thumbnail strip from the same decoding pass, or
    obscures `redaction`'s boxes (at source size, before scaling) and silences its mute
    ranges on the way through."""
    try:
        return _encode(
            path, out_path, limits, start, end, poster_and_thumbnails, on_progress, known_duration, seek=start > 0, redaction=redaction
        )
    except _Overshot:
        # The container's index put the seek past the start (MPEG-TS often does): read
        # from the beginning instead, dropping frames before the start.
        return _encode(
            path, out_path, limits, start, end, poster_and_thumbnails, on_progress, known_duration, seek=False, redaction=redaction
        )


class _Overshot(Exception):
    pass


def _encode(
    path: str,
    out_path: str,
    limits: VideoLimits,
    start: float,
    end: float | None,
    poster_and_thumbnails: bool,
    on_progress: Callable[[int], None] | None,
    known_duration: float | None,
    *,
    seek: bool,
    redaction: VideoRedactionIn | None = None,
) -> Encoded:
    deadline = _Deadline(limits.budget_seconds)
    container = _open(path)
    if seek and not _seek(container, container.streams.video[0], start):
        container.close()  # a failed seek can leave the demuxer at the end: start afresh
        container = _open(path)
        seek = False
    try:
        vin = container.streams.video[0]
        vin.thread_type = "AUTO"
        vin.codec_context.thread_count = limits.threads
        src_w, src_h = vin.codec_context.width, vin.codec_context.height
        if src_w * src_h > limits.max_pixels:
            raise VideoFailure(
                "resolution-too-high", f"The picture is {src_w}x{src_h}; this server processes up to {limits.max_pixels} pixels."
            )
        width, height = scaled(src_w, src_h, limits.playable_max_height)
        fps = _fps(vin)
        time_base = 1 / fps
        ain = container.streams.audio[0] if container.streams.audio else None
        size = os.path.getsize(path)
        duration = known_duration
        span = (end if end is not None else duration) if duration is not None or end is not None else None
        if span is not None:
            span -= start

        out = av.open(out_path, "w", format="mp4", container_options={"movflags": "+faststart"})
        try:
            vout = out.add_stream("libx264", rate=fps)
            vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
            vout.codec_context.thread_count = limits.threads
            vout.options = {"crf": str(limits.crf), "preset": limits.preset, "threads": str(limits.threads)}
            aout = resampler = None
            if ain is not None and ain.codec_context.sample_rate:
                rate = ain.codec_context.sample_rate
                layout = "mono" if (ain.codec_context.channels or 1) == 1 else "stereo"
                aout = out.add_stream("aac", rate=rate, layout=layout)
                resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            streams = [vin] + ([ain] if aout is not None else [])

            poster_at = min(10.0, 0.1 * span) if span else 1.0
            thumb_h = max(2, round(THUMB_WIDTH * src_h / src_w / 2) * 2)
            thumbs = (
                Thumbs(every=(span / THUMB_COUNT) if span else 1.0, width=THUMB_WIDTH, height=thumb_h) if poster_and_thumbnails else None
            )
            poster: bytes | None = None
            last_frame = None
            t0: float | None = None
            first_kept: float | None = None
            first_audio: float | None = None
            audio_samples = 0
            last_pts = -1
            frames = decoded = 0
            last_t = 0.0
            reported = -1

            try:
                packets = container.demux(*streams)
                for packet in packets:
                    deadline.check()
                    if packet.stream is vin:
                        for frame in packet.decode():
                            # Raw streams carry no timestamps: their frames are counted.
                            t_abs = frame.time if frame.time is not None else decoded / float(fps)
                            decoded += 1
                            if t0 is None:
                                t0 = _origin(vin, t_abs)
                                if seek and t_abs - t0 > start + float(time_base) / 2:
                                    raise _Overshot
                            t = t_abs - t0
                            if t < start - float(time_base) / 2:
                                continue
                            if end is not None and t >= end:
                                break
                            if t > limits.max_seconds:
                                raise VideoFailure(
                                    "too-long", f"The video runs past {limits.max_seconds:.0f} s, the most this server processes."
                                )
                            if first_kept is None:
                                first_kept = t
                            # From the first frame kept, so a start between two frames
                            # cannot fold two frames into one slot.
                            pts = round((t - first_kept) / time_base)
                            if pts <= last_pts:
                                continue  # two source frames in one output slot: keep the first
                            last_pts = pts
                            if redaction is not None and redaction.regions:
                                frame = obscure(frame, redaction, t)
                            scaled_frame = frame.reformat(width=width, height=height, format="yuv420p")
                            scaled_frame.pts, scaled_frame.time_base = pts, time_base
                            for p in vout.encode(scaled_frame):
                                out.mux(p)
                            frames += 1
                            last_t = t - first_kept
                            if thumbs is not None:
                                thumbs.offer(last_t, frame)
                                if poster is None and last_t >= poster_at:
                                    poster = jpeg(frame, width, height, POSTER_QUALITY)
                                last_frame = frame
                            if on_progress is not None:
                                if span:
                                    pct = int(100 * last_t / span)
                                else:
                                    pct = int(100 * (packet.pos or 0) / size) if packet.pos and packet.pos > 0 else reported
                                pct = max(0, min(99, pct))
                                if pct > reported:
                                    reported = pct
                                    on_progress(pct)
                        else:
                            continue
                        break  # the frame loop broke: past the end
                    elif aout is not None and resampler is not None and t0 is not None:
                        for aframe in packet.decode():
                            at = (aframe.time or 0.0) - t0 - start
                            if at < 0 or (end is not None and at >= end - start):
                                continue
                            if first_audio is None:
                                first_audio = at
                                audio_samples = round(at * aout.codec_context.sample_rate)
                            aframe.pts = None
                            for rf in resampler.resample(aframe):
                                if redaction is not None and redaction.mute:
                                    rf = silence(rf, redaction, audio_samples, layout)
                                rf.pts, rf.time_base = audio_samples, Fraction(1, aout.codec_context.sample_rate)
                                audio_samples += rf.samples
                                for p in aout.encode(rf):
                                    out.mux(p)
            except av.error.FFmpegError as exc:
                raise VideoFailure("corrupt", f"Decoding stopped: {exc}") from exc
            if frames == 0:
                raise VideoFailure("corrupt" if start == 0 else "not-a-video", "No picture could be decoded from the video.")
            for p in vout.encode(None):
                out.mux(p)
            if aout is not None:
                for p in aout.encode(None):
                    out.mux(p)
        finally:
            out.close()
        result = Encoded(
            parameters={
                "container": "mp4",
                "movflags": "+faststart",
                "video_codec": "libx264",
                "pixel_format": "yuv420p",
                "crf": limits.crf,
                "preset": limits.preset,
                "threads": limits.threads,
                "frame_rate": str(fps),
                "scale": f"{width}x{height}",
                "source_size": f"{src_w}x{src_h}",
                "audio_codec": "aac" if aout is not None else None,
                **({"start_seconds": start, "end_seconds": end} if start or end is not None else {}),
                **versions(),
            },
            duration_seconds=round(last_t + float(time_base), 3),
            frames=frames,
            width=width,
            height=height,
        )
        if thumbs is not None:
            if poster is None and last_frame is not None:
                poster = jpeg(last_frame, width, height, POSTER_QUALITY)
            result.poster = poster
            result.thumbnails = thumbs.sprite() if thumbs.tiles else None
            result.thumbnail_count = min(len(thumbs.tiles), THUMB_COUNT)
        return result
    finally:
        container.close()


def _origin(stream: Any, first_time: float) -> float:
    """Time zero of the video: the stream's own start when it says, else its first frame."""
    if stream.start_time is not None and stream.time_base is not None:
        return float(stream.start_time * stream.time_base)
    return first_time


def _seek(container: Any, stream: Any, at: float) -> bool:
    """Jump to the keyframe at or before `at` (frames before `at` are then decoded and
    dropped). False when the stream cannot seek (a raw H.264 file): read it from its start."""
    origin = float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0
    try:
        container.seek(int((origin + at) / stream.time_base), stream=stream, backward=True, any_frame=False)
    except (av.error.FFmpegError, TypeError, ZeroDivisionError):
        return False
    return True


def still(path: str, at: float, limits: VideoLimits) -> tuple[bytes, int, int, float]:
    """The frame shown at `at` seconds, full size, as JPEG: (bytes, width, height, frame time).
    ValueError when the video ends before `at`."""
    deadline = _Deadline(limits.budget_seconds)
    container = _open(path)
    try:
        vin = container.streams.video[0]
        vin.codec_context.thread_count = limits.threads
        w, h = vin.codec_context.width, vin.codec_context.height
        if w * h > limits.max_pixels:
            raise VideoFailure("resolution-too-high", f"The picture is {w}x{h}; this server processes up to {limits.max_pixels} pixels.")
        half = float(1 / _fps(vin)) / 2
        seeked = at > 0 and _seek(container, vin, at)
        for attempt in (0, 1):
            if attempt == 1 or (at > 0 and not seeked):
                # The seek overshot (an index that lies) or could not be made: read from the start.
                container.close()
                container = _open(path)
                vin = container.streams.video[0]
                vin.codec_context.thread_count = limits.threads
            t0: float | None = None
            count = 0
            overshot = False
            for frame, _ in _frames(container, vin, deadline):
                t_abs = frame.time if frame.time is not None else count / float(_fps(vin))
                count += 1
                if t0 is None:
                    t0 = _origin(vin, t_abs)
                    if attempt == 0 and seeked and t_abs - t0 > at + half:
                        overshot = True
                        break
                if t_abs - t0 >= at - half:
                    return jpeg(frame, w, h, STILL_QUALITY), w, h, round(t_abs - t0, 3)
            if not overshot:
                raise ValueError("past the end")
        raise ValueError("past the end")
    finally:
        container.close()


def sampled_grey(path: str, every: float, long_edge: int, limits: VideoLimits) -> tuple[int, int, list[tuple[float, np.ndarray]]]:
    """One grey frame every `every` seconds, its long edge at most `long_edge`:
    (source width, source height, [(time, picture)]). Only the samples are kept, so
    memory is a few small pictures a minute however large the video."""
    deadline = _Deadline(limits.budget_seconds)
    container = _open(path)
    try:
        vin = container.streams.video[0]
        vin.thread_type = "AUTO"
        vin.codec_context.thread_count = limits.threads
        w, h = vin.codec_context.width, vin.codec_context.height
        if w * h > limits.max_pixels:
            raise VideoFailure("resolution-too-high", f"The picture is {w}x{h}; this server processes up to {limits.max_pixels} pixels.")
        shrink = min(1.0, long_edge / max(w, h))
        sw, sh = max(1, round(w * shrink)), max(1, round(h * shrink))
        fps = float(_fps(vin))
        samples: list[tuple[float, np.ndarray]] = []
        t0: float | None = None
        next_at = 0.0
        count = 0
        for frame, _ in _frames(container, vin, deadline):
            t_abs = frame.time if frame.time is not None else count / fps
            count += 1
            if t0 is None:
                t0 = _origin(vin, t_abs)
            t = t_abs - t0
            if t > limits.max_seconds:
                raise VideoFailure("too-long", f"The video runs past {limits.max_seconds:.0f} s, the most this server processes.")
            if t + 0.5 / fps < next_at:
                continue
            samples.append((round(t, 3), frame.reformat(width=sw, height=sh, format="gray").to_ndarray()))
            next_at = t + every
        return w, h, samples
    finally:
        container.close()
