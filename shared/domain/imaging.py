"""Image redaction and face proposals: pure functions from bytes to bytes (OpenCV).

Nothing here decides what to redact: face proposals are suggestions for a person to
confirm or edit, and redaction applies exactly the rectangles it is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.domain.evidence import Rect, image_dimensions

if TYPE_CHECKING:
    from cv2.typing import MatLike

# Image types OpenCV can decode and re-encode faithfully. HEIC needs a codec OpenCV
# does not ship, so HEIC items are refused with a clear message.
REDACTABLE = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}


class ImageError(ValueError):
    """The image cannot be processed (undecodable, too large, regions outside it)."""


def _decode(data: bytes, max_pixels: int) -> MatLike:
    import cv2
    import numpy as np

    dims = image_dimensions(data)
    if dims is None:
        raise ImageError("The image header could not be read.")
    if dims[0] * dims[1] > max_pixels:
        raise ImageError(f"The image is {dims[0]}x{dims[1]} pixels; redaction handles up to {max_pixels} pixels.")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
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
    image = _decode(data, max_pixels)
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


def face_proposals(data: bytes, type_id: str, *, max_pixels: int) -> list[dict[str, int]]:
    """Rectangles where a frontal face may be (Haar cascade): suggestions only."""
    import cv2
    import cv2.data

    global _cascade
    if type_id not in REDACTABLE:
        raise ImageError(f"Face proposals are not supported for {type_id} images; supported: JPEG, PNG, WebP.")
    image = _decode(data, max_pixels)
    if _cascade is None:
        _cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    found = _cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    return [{"x": int(x), "y": int(y), "width": int(w), "height": int(h)} for (x, y, w, h) in found]
