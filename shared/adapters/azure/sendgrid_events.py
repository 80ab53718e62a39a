"""SendGrid's signed event webhook: ECDSA P-256 with SHA-256 over timestamp + body,
checked with the sendgrid library's own helper (`EventWebhook`).

The same check runs locally and in Azure: the webhook route is part of the API either way.
"""

from __future__ import annotations

import base64
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from sendgrid.helpers.eventwebhook import EventWebhook

from shared.domain.errors import Unauthorized

# A batch stamped further ahead than this would stay replayable past its signature window.
FUTURE_SKEW_SECONDS = 60


class SendGridEventVerifier:
    """Implements `shared.ports.DeliveryEventVerifier` for SendGrid."""

    def verify(
        self, payload: bytes, signature: str | None, timestamp: str | None, *, public_key: str, now: datetime, max_age_seconds: int
    ) -> None:
        if not public_key:
            raise Unauthorized("Event webhooks are not accepted: no verification key is configured.")
        if not signature or not timestamp:
            raise Unauthorized("The event webhook is not signed.")
        try:
            ts = int(timestamp)
        except ValueError:
            raise Unauthorized("The webhook timestamp is not a number.") from None
        if ts - now.timestamp() > FUTURE_SKEW_SECONDS:
            raise Unauthorized(f"The webhook timestamp is more than {FUTURE_SKEW_SECONDS} s ahead of now.")
        if now.timestamp() - ts > max_age_seconds:
            raise Unauthorized(f"The webhook timestamp is more than {max_age_seconds} s from now.")
        if not _verifies(public_key, payload, signature, timestamp):
            raise Unauthorized("The webhook signature does not verify.")


def _verifies(public_key: str, payload: bytes, signature: str, timestamp: str) -> bool:
    try:
        # The helper decodes the signature leniently (it skips characters outside base64);
        # only a strictly base64 signature is taken.
        base64.b64decode(signature, validate=True)
        # The helper signs text: a body that is not UTF-8 cannot be what SendGrid signed.
        text = payload.decode("utf-8")
        # The helper takes the key as SendGrid shows it (base64 DER); a PEM key is the same
        # base64 between its armour lines.
        webhook = EventWebhook(_base64_der(public_key))
        return bool(webhook.verify_signature(text, signature, timestamp))
    except (InvalidSignature, ValueError, TypeError):  # a malformed key or signature, or another kind of key
        return False


def _base64_der(public_key: str) -> str:
    if not public_key.lstrip().startswith("-----BEGIN"):
        return public_key.strip()
    return "".join(line.strip() for line in public_key.strip().splitlines() if not line.startswith("-----"))
