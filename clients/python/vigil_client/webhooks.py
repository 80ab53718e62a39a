"""Checking a received ANPR alert (docs/webhooks.md in the Vigil repository)."""

from __future__ import annotations

import hashlib
import hmac
import time

# How far a delivery's timestamp may be from the receiver's clock: older is a stale or
# replayed capture.
DEFAULT_TOLERANCE_SECONDS = 300


def signature_problem(
    secret: str, timestamp: str, signature: str, body: bytes, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None
) -> str | None:
    """Why the alert does not verify, or None when it does. `body` must be the raw bytes
    received (JSON parsed and re-serialised will not match). Each `v1=` value in the
    Vigil-Signature header is compared in constant time."""
    if not timestamp.strip().isdigit():
        return "Vigil-Timestamp is not a number of seconds"
    age = abs((time.time() if now is None else now) - int(timestamp))
    if age > tolerance:
        return f"Vigil-Timestamp is {int(age)} s from this clock (more than {tolerance} s): stale or replayed"
    expected = "v1=" + hmac.new(secret.encode(), timestamp.strip().encode() + b"." + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, part.strip()) for part in signature.split(",")):
        return "Vigil-Signature does not match the body with this secret"
    return None


def verify(secret: str, timestamp: str, signature: str, body: bytes, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> bool:
    """True when the alert is Vigil's, unchanged and fresh."""
    return signature_problem(secret, timestamp, signature, body, tolerance=tolerance) is None
