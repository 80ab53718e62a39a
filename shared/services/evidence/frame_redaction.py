"""Obscuring boxes in a video frame and silencing audio in mute ranges: the per-frame
pixel and sample work a video redaction does while the encoder passes frames through."""

from __future__ import annotations

import math
from typing import Any

import av
import cv2
import numpy as np

from shared.domain.video import VideoRedactionIn, box_at


def _obscure_plane(plane: np.ndarray, x0: int, y0: int, x1: int, y1: int, style: str, black: int) -> None:
    """Obscure one picture plane's box in place: the same operation on the brightness
    plane and (at half size) on the two colour planes."""
    roi = plane[y0:y1, x0:x1]
    rh, rw = roi.shape[:2]
    if rh == 0 or rw == 0:
        return
    if style == "black":
        roi[:] = black
    elif style == "pixelate":
        block = max(4, min(rw, rh) // 8)
        small = cv2.resize(roi, (max(1, rw // block), max(1, rh // block)), interpolation=cv2.INTER_AREA)
        roi[:] = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_NEAREST)
    else:
        # Blurred on an eighth-size copy with a kernel the copy's size, then scaled
        # back: no edge inside the box survives, at a cost every 1080p frame can pay.
        small = cv2.resize(roi, (max(1, rw // 8), max(1, rh // 8)), interpolation=cv2.INTER_AREA)
        sh, sw = small.shape[:2]
        k = max(3, max(sw, sh) | 1)
        small = cv2.GaussianBlur(cv2.GaussianBlur(small, (k, k), 0), (k, k), 0)
        roi[:] = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_LINEAR)


def obscure(frame: Any, redaction: VideoRedactionIn, t: float) -> Any:
    """`frame` with every region live at `t` obscured in its style; the frame itself when
    none is (most frames of a long video pass through unconverted). Works on a copy: the
    decoder may still read the frame it gave as a reference for the next ones."""
    live = [(region.style, box) for region in redaction.regions if (box := box_at(region, t)) is not None]
    if not live:
        return frame
    width, height = frame.width, frame.height
    planar = frame.format.name in ("yuv420p", "yuvj420p") and width % 2 == 0 and height % 2 == 0
    if planar:
        # 4:2:0 planes worked on as they are: no conversion to colour and back for a 1080p frame.
        fmt = frame.format.name
        pixels = frame.to_ndarray(format=fmt)
        q = height // 4
        planes = [
            (pixels[:height], 1, 0 if fmt == "yuvj420p" else 16),
            (pixels[height : height + q].reshape(height // 2, width // 2), 2, 128),
            (pixels[height + q :].reshape(height // 2, width // 2), 2, 128),
        ]
    else:
        fmt = "bgr24"
        pixels = frame.to_ndarray(format=fmt)
        planes = [(pixels, 1, 0)]
    for style, (x, y, w, h) in live:
        # Grown outwards to whole pixels: a box never covers less than was asked.
        x0, y0 = max(0, math.floor(x)), max(0, math.floor(y))
        x1, y1 = min(width, math.ceil(x + w)), min(height, math.ceil(y + h))
        for plane, sub, black in planes:
            _obscure_plane(plane, x0 // sub, y0 // sub, -(-x1 // sub), -(-y1 // sub), style, black)
    return av.VideoFrame.from_ndarray(pixels, format=fmt)


def silence(frame: Any, redaction: VideoRedactionIn, first_sample: int, layout: str) -> Any:
    """`frame` (planar float, starting at sample `first_sample` of the output) with the
    samples inside a mute range set to zero; the frame itself when none falls in one."""
    rate = frame.sample_rate
    begins, ends = first_sample / rate, (first_sample + frame.samples) / rate
    if not any(m.start < ends and m.end > begins for m in redaction.mute):
        return frame
    samples = frame.to_ndarray().copy()
    times = (first_sample + np.arange(frame.samples)) / rate
    for m in redaction.mute:
        samples[:, (times >= m.start) & (times < m.end)] = 0.0
    quiet = av.AudioFrame.from_ndarray(samples, format=frame.format.name, layout=layout)
    quiet.sample_rate = rate
    return quiet
