"""Image redaction and face proposals: pure functions from bytes to bytes (OpenCV).

Nothing here decides what to redact: face proposals are suggestions for a person to
confirm or edit, and redaction applies exactly the rectangles it is given.

Memory: every decode is preceded by a header check against the caller's pixel bound, so
a small file declaring a huge image (a decompression bomb) is refused before any pixel
is decoded. Face detection works on a grey copy at most `DETECT_LONG_EDGE` pixels long
(JPEG decodes straight to a reduced scale), and its rectangles are scaled back to the
original; redaction always renders the full-resolution image.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from shared.domain.evidence import Rect
from shared.domain.image_headers import image_dimensions

if TYPE_CHECKING:
    from cv2.typing import MatLike

# OpenCV's own decompression-bomb bound, read once when the library loads: a backstop
# should a header ever parse differently here and in the decoder. Settings may only
# lower the pixel bound under it (shared/settings.py), so the two never disagree about an
# image the app accepts.
DECODER_CEILING_PIXELS = 100_000_000
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(DECODER_CEILING_PIXELS))

# Faces are looked for on a copy whose long edge is at most this, so detection memory no
# longer grows with the image. The price: a face must span about 1/67 of the picture's
# long edge (the cascade's 24-pixel minimum on the copy) to be proposed; smaller ones are
# left to the person reviewing, who confirms or adds every rectangle anyway.
DETECT_LONG_EDGE = 1600
MIN_FACE = 24

# Image types OpenCV can decode and re-encode faithfully. HEIC needs a codec OpenCV
# does not ship, so HEIC items are refused with a clear message.
REDACTABLE = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}

Box = tuple[int, int, int, int]
Detector = Callable[["MatLike"], Sequence[Sequence[int]]]


class ImageError(ValueError):
    """The image cannot be processed (undecodable, too large, regions outside it)."""


class ImageTooLarge(ImageError):
    """The header declares more pixels than the bound: refused before decoding."""

    def __init__(self, width: int, height: int, max_pixels: int, what: str):
        super().__init__(
            f"The image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"{what} handles images of up to {max_pixels} pixels ({max_pixels / 1e6:g} megapixels). "
            f"Work from a smaller export of the picture."
        )
        self.width, self.height, self.max_pixels = width, height, max_pixels


def checked_size(data: bytes, max_pixels: int, what: str = "image work") -> tuple[int, int]:
    """(width, height) from the header alone, refused (`ImageTooLarge`) past `max_pixels`."""
    dims = image_dimensions(data)
    if dims is None:
        raise ImageError("The image header could not be read.")
    width, height = dims
    if width <= 0 or height <= 0:
        raise ImageError("The image header declares no pixels.")
    if width * height > max_pixels:
        raise ImageTooLarge(width, height, max_pixels, what)
    return width, height


def _decode(data: bytes, max_pixels: int, what: str, flags: int | None = None) -> MatLike:
    import cv2
    import numpy as np

    checked_size(data, max_pixels, what)
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR if flags is None else flags)
    except cv2.error as exc:
        raise ImageError("The image could not be decoded.") from exc
    if image is None:
        raise ImageError("The image could not be decoded.")
    return image


def _clip(rect: Rect, width: int, height: int) -> tuple[int, int, int, int]:
    if rect.x >= width or rect.y >= height:
        raise ImageError(f"Region at ({rect.x},{rect.y}) lies outside the {width}x{height} image.")
    return rect.x, rect.y, min(rect.x + rect.width, width), min(rect.y + rect.height, height)


def redact(data: bytes, type_id: str, method: str, regions: list[Rect], *, max_pixels: int) -> bytes:
    """Apply `method` to `regions` (or crop to the one region) and encode in the same format.

    Re-encoding also drops embedded metadata (EXIF, GPS), which a disclosed copy should not carry.
    """
    import cv2

    if type_id not in REDACTABLE:
        raise ImageError(f"Redaction is not supported for {type_id} images; supported: JPEG, PNG, WebP.")
    image = _decode(data, max_pixels, "Redaction")
    height, width = image.shape[:2]
    boxes = [_clip(r, width, height) for r in regions]
    if method == "crop":
        x0, y0, x1, y1 = boxes[0]
        image = image[y0:y1, x0:x1].copy()
    else:
        for x0, y0, x1, y1 in boxes:
            roi = image[y0:y1, x0:x1]
            if method == "black_box":
                roi[:] = 0
            elif method == "pixelate":
                h, w = roi.shape[:2]
                block = max(8, min(w, h) // 8)
                small = cv2.resize(roi, (max(1, w // block), max(1, h // block)), interpolation=cv2.INTER_LINEAR)
                roi[:] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
            elif method == "blur":
                h, w = roi.shape[:2]
                # A kernel proportional to the region, strong enough that a face is not recognisable.
                k = max(15, (max(w, h) // 2) | 1)
                blurred = cv2.GaussianBlur(roi, (k, k), 0)
                roi[:] = cv2.GaussianBlur(blurred, (k, k), 0)
            else:
                raise ImageError(f"Unknown method {method}.")
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if type_id == "jpeg" else ([cv2.IMWRITE_WEBP_QUALITY, 95] if type_id == "webp" else [])
    ok, encoded = cv2.imencode(REDACTABLE[type_id], image, params)
    if not ok:
        raise ImageError("The redacted image could not be encoded.")
    return encoded.tobytes()


_cascade: Any = None


def haar_faces(gray: MatLike) -> Sequence[Sequence[int]]:
    """Frontal-face rectangles (x, y, width, height) in `gray` (OpenCV Haar cascade)."""
    import cv2
    import cv2.data

    global _cascade
    if _cascade is None:
        _cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    found = _cascade.detectMultiScale(cv2.equalizeHist(gray), scaleFactor=1.1, minNeighbors=5, minSize=(MIN_FACE, MIN_FACE))
    return [(int(x), int(y), int(w), int(h)) for (x, y, w, h) in found]


def _reduced_flags(long_edge: int, target: int) -> int:
    """The grey decode mode with the largest reduction that keeps the long edge at least
    `target` (JPEG decodes at that scale; other formats are reduced after decoding)."""
    import cv2

    for factor, flags in ((8, cv2.IMREAD_REDUCED_GRAYSCALE_8), (4, cv2.IMREAD_REDUCED_GRAYSCALE_4), (2, cv2.IMREAD_REDUCED_GRAYSCALE_2)):
        if long_edge // factor >= target:
            return flags
    return cv2.IMREAD_GRAYSCALE


def _oriented(header: tuple[int, int], decoded: tuple[int, int]) -> tuple[int, int]:
    """The full-resolution (width, height) as decoded: OpenCV applies EXIF orientation, so
    a rotated JPEG decodes with its header's width and height swapped."""
    w, h = header
    dw, dh = decoded
    return (w, h) if abs(w * dh - h * dw) <= abs(h * dh - w * dw) else (h, w)


def scale_boxes(found: Sequence[Sequence[int]], small: tuple[int, int], full: tuple[int, int]) -> list[dict[str, int]]:
    """Rectangles found on a `small` (width, height) copy, as rectangles on the `full`
    image: grown outwards to whole pixels (a proposal never covers less of the face than
    was found) and kept inside the image."""
    sx, sy = full[0] / small[0], full[1] / small[1]
    out = []
    for x, y, w, h in found:
        x0, y0 = max(0, math.floor(x * sx)), max(0, math.floor(y * sy))
        x1, y1 = min(full[0], math.ceil((x + w) * sx)), min(full[1], math.ceil((y + h) * sy))
        out.append({"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0})
    return out


def face_proposals(
    data: bytes, type_id: str, *, max_pixels: int, detect: Detector = haar_faces, long_edge: int = DETECT_LONG_EDGE
) -> list[dict[str, int]]:
    """Rectangles where a frontal face may be, in the original image's pixels: suggestions only.

    `detect` runs on a grey copy whose long edge is at most `long_edge`."""
    import cv2

    if type_id not in REDACTABLE:
        raise ImageError(f"Face proposals are not supported for {type_id} images; supported: JPEG, PNG, WebP.")
    header = checked_size(data, max_pixels, "Face proposals")
    gray = _decode(data, max_pixels, "Face proposals", _reduced_flags(max(header), long_edge))
    height, width = gray.shape[:2]
    full = _oriented(header, (width, height))
    shrink = long_edge / max(width, height)
    if shrink < 1:
        gray = cv2.resize(gray, (max(1, round(width * shrink)), max(1, round(height * shrink))), interpolation=cv2.INTER_AREA)
        height, width = gray.shape[:2]
    return scale_boxes(detect(gray), (width, height), full)
