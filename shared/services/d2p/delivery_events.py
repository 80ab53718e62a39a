"""The mail provider's signed event webhook (SendGrid): after the signature holds, each
delivered, bounced, dropped, deferred or blocked event is recorded on its dispatch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from shared.domain.d2p import Delivery
from shared.domain.errors import Invalid, MalformedBody
from shared.domain.timestamps import to_iso
from shared.services.d2p.deps import D2PDeps, get_dispatch, replace_dispatch

MAX_EVENTS = 10_000
STATES = {"delivered": "delivered", "bounce": "bounced", "dropped": "dropped", "deferred": "deferred", "blocked": "bounced"}


@dataclass(frozen=True)
class EventCounts:
    recorded: int = 0
    ignored: int = 0  # events of other kinds, or naming no dispatch of ours


@dataclass
class DeliveryEventsUseCase:
    deps: D2PDeps

    def record(self, payload: bytes, signature: str | None, timestamp: str | None) -> EventCounts:
        """Verify the signature over the raw body, then record each event on its dispatch."""
        deps = self.deps
        deps.delivery_events.verify(
            payload,
            signature,
            timestamp,
            public_key=deps.webhook_public_key,
            now=deps.clock.now(),
            max_age_seconds=deps.webhook_max_age_seconds,
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
