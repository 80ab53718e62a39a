"""The mail provider's signed event webhook (SendGrid): after the signature holds, each
delivered, bounced, dropped, deferred or blocked event is recorded on its dispatch."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from shared.domain.clock import to_iso
from shared.domain.d2p import Delivery
from shared.domain.errors import Invalid, MalformedBody, Unauthorized
from shared.services.d2p.deps import D2PDeps, get_dispatch, replace_dispatch

MAX_EVENTS = 10_000
STATES = {"delivered": "delivered", "bounce": "bounced", "dropped": "dropped", "deferred": "deferred", "blocked": "bounced"}


@dataclass(frozen=True)
class EventCounts:
    recorded: int = 0
    ignored: int = 0  # events of other kinds, or naming no dispatch of ours


def verify_sendgrid_signature(
    public_key: str, payload: bytes, signature: str | None, timestamp: str | None, *, now: datetime, max_age_seconds: int
) -> None:
    """SendGrid's signed event webhook: ECDSA P-256 with SHA-256 over timestamp + body.

    Raises Unauthorized for a missing, malformed, wrong or stale signature, and when no
    verification key is configured (an unsigned webhook is never trusted).
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

    if not public_key:
        raise Unauthorized("Event webhooks are not accepted: no verification key is configured.")
    if not signature or not timestamp:
        raise Unauthorized("The event webhook is not signed.")
    try:
        ts = int(timestamp)
    except ValueError:
        raise Unauthorized("The webhook timestamp is not a number.") from None
    if abs(now.timestamp() - ts) > max_age_seconds:
        raise Unauthorized(f"The webhook timestamp is more than {max_age_seconds} s from now.")
    try:
        if public_key.lstrip().startswith("-----BEGIN"):
            key = load_pem_public_key(public_key.encode())
        else:
            key = load_der_public_key(base64.b64decode(public_key))
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError("not an EC key")
        key.verify(base64.b64decode(signature, validate=True), timestamp.encode() + payload, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        raise Unauthorized("The webhook signature does not verify.") from None


@dataclass
class DeliveryEventsUseCase:
    deps: D2PDeps

    def record(self, payload: bytes, signature: str | None, timestamp: str | None) -> EventCounts:
        """Verify the signature over the raw body, then record each event on its dispatch."""
        deps = self.deps
        verify_sendgrid_signature(
            deps.webhook_public_key, payload, signature, timestamp, now=deps.clock.now(), max_age_seconds=deps.webhook_max_age_seconds
        )
        try:
            events = json.loads(payload)
        except ValueError as exc:
            raise MalformedBody("The event body is not JSON.") from exc
        if not isinstance(events, list) or len(events) > MAX_EVENTS:
            raise Invalid(f"The event body must be a JSON array of at most {MAX_EVENTS} events.")
        recorded = ignored = 0
        for event in events:
            if (
                not isinstance(event, dict)
                or event.get("event") not in STATES
                or not isinstance(event.get("dispatch_id"), str)
                or not isinstance(event.get("owner_org"), str)
            ):
                ignored += 1
                continue
            with deps.records.unit_of_work() as uow:
                stored = get_dispatch(uow, event["owner_org"], event["dispatch_id"])
                if stored is None:
                    ignored += 1
                    continue
                now = deps.clock.now()
                at = event.get("timestamp")
                delivery = Delivery(
                    state=STATES[event["event"]],
                    at=deps.now() if not isinstance(at, int) else to_iso(datetime.fromtimestamp(at, tz=now.tzinfo)),
                    reason=str(event.get("reason") or event.get("response") or "")[:300] or None,
                )
                stored.record.record_delivery(delivery, now=deps.now())
                replace_dispatch(uow, stored)
            recorded += 1
        return EventCounts(recorded=recorded, ignored=ignored)
