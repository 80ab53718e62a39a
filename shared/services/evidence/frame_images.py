"""A decoded frame as pictures: the JPEG of a poster or still, and the thumbnail strip
an encoding pass gathers as frames go by."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from shared.domain.video import VideoFailure

THUMB_COUNT = 10


def jpeg(frame: Any, width: int, height: int, quality: int) -> bytes:
    """One frame as a JPEG of exactly width x height."""
    pixels = frame.reformat(width=width, height=height, format="bgr24").to_ndarray()
    ok, data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any bgr24 array
        raise VideoFailure("corrupt", "A frame could not be encoded as JPEG.")
    return bytes(data.tobytes())


@dataclass
class Thumbs:
    """Evenly spaced small frames, kept to at most 2 x THUMB_COUNT however long the video:
    when the list fills, every other one goes and the spacing doubles."""

    every: float
    width: int
    height: int
    tiles: list[tuple[float, np.ndarray]] = field(default_factory=list)
    next_at: float = 0.0

    def offer(self, t: float, frame: Any) -> None:
        if t < self.next_at:
            return
        self.tiles.append((t, frame.reformat(width=self.width, height=self.height, format="bgr24").to_ndarray()))
        self.next_at = t + self.every
        if len(self.tiles) >= 2 * THUMB_COUNT:
            self.tiles = self.tiles[::2]
            self.every *= 2
            self.next_at = self.tiles[-1][0] + self.every

    def sprite(self) -> bytes:
        tiles = self.tiles
        if len(tiles) > THUMB_COUNT:
            step = len(tiles) / THUMB_COUNT
            tiles = [tiles[int(i * step)] for i in range(THUMB_COUNT)]
        ok, data = cv2.imencode(".jpg", np.hstack([t for _, t in tiles]), [cv2.IMWRITE_JPEG_QUALITY, 80])
        if not ok:  # pragma: no cover
            raise VideoFailure("corrupt", "The thumbnail strip could not be encoded.")
        return bytes(data.tobytes())
