"""Tiny CCTV-like video files made with PyAV in the test itself, so a fresh machine
needs nothing else: a moving square over a gradient, so every frame differs."""

from __future__ import annotations

import io
from collections.abc import Callable
from fractions import Fraction

import av
import numpy as np


def _picture(i: int, width: int, height: int) -> np.ndarray:
    img = np.zeros((height, width, 3), dtype=np.uint8)
    img[:, :, 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    img[:, :, 1] = (i * 7) % 256
    side = max(8, height // 6)
    x = (i * 9) % max(1, width - side)
    y = (i * 5) % max(1, height - side)
    img[y : y + side, x : x + side] = 255
    return img


def make_video(
    *,
    fmt: str = "avi",
    codec: str = "mpeg4",
    width: int = 320,
    height: int = 240,
    seconds: float = 2.0,
    fps: int = 25,
    audio: bool = False,
    creation_time: str | None = None,
    picture: Callable[[int, int, int], np.ndarray] | None = None,
) -> bytes:
    """A video of `seconds` at `fps` in container `fmt` (avi, mp4, mov, matroska, h264,
    hevc, mpegts, mpeg) with video codec `codec`; optional AAC/PCM tone and creation time;
    `picture(i, width, height)` draws frame i (RGB) instead of the moving square."""
    buf = io.BytesIO()
    out = av.open(buf, "w", format=fmt)
    if creation_time:
        out.metadata["creation_time"] = creation_time
    v = out.add_stream(codec, rate=fps)
    v.width, v.height = width, height
    v.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
    if codec in ("libx264", "libx265"):
        v.options = {"preset": "ultrafast", "g": str(fps)}
    a = None
    if audio:
        a = out.add_stream("aac" if fmt in ("mp4", "mov", "matroska") else "pcm_s16le", rate=16000, layout="mono")
    frames = int(seconds * fps)
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray((picture or _picture)(i, width, height), format="rgb24")
        frame.pts = i
        frame.time_base = Fraction(1, fps)
        for p in v.encode(frame):
            out.mux(p)
    for p in v.encode(None):
        out.mux(p)
    if a is not None:
        rate, n = 16000, 1024
        samples_total = int(seconds * rate)
        fmt_name = "fltp" if a.codec_context.name == "aac" else "s16"
        for start in range(0, samples_total, n):
            t = np.arange(start, min(start + n, samples_total)) / rate
            tone = 0.3 * np.sin(2 * np.pi * 440 * t)
            data = tone.astype(np.float32)[None, :] if fmt_name == "fltp" else (tone * 32767).astype(np.int16)[None, :]
            af = av.AudioFrame.from_ndarray(data, format=fmt_name, layout="mono")
            af.sample_rate = rate
            af.pts = start
            af.time_base = Fraction(1, rate)
            for p in a.encode(af):
                out.mux(p)
        for p in a.encode(None):
            out.mux(p)
    out.close()
    return buf.getvalue()
