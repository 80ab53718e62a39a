"""The mail provider's signed event webhook (SendGrid): after the signature holds, each
delivered, bounced, dropped, deferred or blocked event is recorded on its dispatch, once.

A signed batch can be posted again within the signature window, and SendGrid itself sends
a batch again when our answer is lost: each event is recorded once, by its `sg_event_id`
(remembered in `delivery_events` for `SEEN_FOR`). An event without one cannot be told from
its replay and is ignored. Event times are checked before anything is written: one in the
future (beyond `FUTURE_SKEW`) or older than `OLDEST` refuses the whole batch (422).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.d2p import Delivery
from shared.domain.errors import Conflict, Invalid, MalformedBody
from shared.domain.timestamps import to_iso
from shared.records import DELIVERY_EVENTS
from shared.services.d2p.deps import D2PDeps, get_dispatch, replace_dispatch

MAX_EVENTS = 10_000
STATES = {"delivered": "delivered", "bounce": "bounced", "dropped": "dropped", "deferred": "deferred", "blocked": "bounced"}
# SendGrid sends a batch again for up to 72 hours when it gets no 2xx: seen ids outlive that.
SEEN_FOR = timedelta(days=7)
# Clocks differ a little; an event stamped further ahead than this was not sent by SendGrid.
FUTURE_SKEW = timedelta(minutes=5)
# Older than SendGrid's retries reach back (with room to spare): not a real event of ours.
OLDEST = timedelta(days=30)


@dataclass(frozen=True)
class EventCounts:
    recorded: int = 0
    ignored: int = 0  # events of other kinds, naming no dispatch of ours, or without an event id
    duplicates: int = 0  # events recorded before (a replayed or re-sent batch)


def _seen_id(sg_event_id: str) -> str:
    return hashlib.sha256(sg_event_id.encode()).hexdigest()


def _relevant(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and event.get("event") in STATES
        and isinstance(event.get("dispatch_id"), str)
        and isinstance(event.get("owner_org"), str)
        and isinstance(event.get("sg_event_id"), str)
        and 1 <= len(event["sg_event_id"]) <= 200
    )


def event_time(value: Any, now: datetime) -> datetime | None:
    """The event's time from its Unix `timestamp`, or None when it is outside
    [now - OLDEST, now + FUTURE_SKEW] or not a whole number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    low, high = (now - OLDEST).timestamp(), (now + FUTURE_SKEW).timestamp()
    if not low <= value <= high:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


@dataclass
class DeliveryEventsUseCase:
    deps: D2PDeps

    def record(self, payload: bytes, signature: str | None, timestamp: str | None) -> EventCounts:
        """Verify the signature over the raw body, check every event's time, then record
        each event not seen before on its dispatch."""
        deps = self.deps
        now = deps.clock.now()
        deps.delivery_events.verify(
            payload,
            signature,
            timestamp,
            public_key=deps.webhook_public_key,
            now=now,
            max_age_seconds=deps.webhook_max_age_seconds,
        )
        try:
            events = json.loads(payload)
        except ValueError as exc:
            raise MalformedBody("The event body is not JSON.") from exc
        if not isinstance(events, list) or len(events) > MAX_EVENTS:
            raise Invalid(f"The event body must be a JSON array of at most {MAX_EVENTS} events.")
        times: dict[int, datetime] = {}
        errors = []
        for i, event in enumerate(events):
            if not _relevant(event):
                continue
            at = event_time(event.get("timestamp"), now)
            if at is None:
                errors.append({"field": f"[{i}].timestamp", "message": "a Unix time in seconds, not in the future nor older than 30 days"})
            else:
                times[i] = at
        if errors:
            raise Invalid("Some events carry a timestamp that cannot be theirs; nothing was recorded.", errors=errors[:20])
        recorded = ignored = duplicates = 0
        for i, event in enumerate(events):
            if i not in times:
                ignored += 1
                continue
            try:
                outcome = self._record_one(event, times[i], now)
            except Conflict:
                # The same event from a concurrent post of the batch was recorded first.
                outcome = "duplicate"
            if outcome == "recorded":
                recorded += 1
            elif outcome == "duplicate":
                duplicates += 1
            else:
                ignored += 1
        return EventCounts(recorded=recorded, ignored=ignored, duplicates=duplicates)

    def _record_one(self, event: dict[str, Any], at: datetime, now: datetime) -> str:
        owner = event["owner_org"]
        seen = _seen_id(event["sg_event_id"])
        with self.deps.records.unit_of_work() as uow:
            stored = get_dispatch(uow, owner, event["dispatch_id"])
            if stored is None:
                return "ignored"
            if uow.get(DELIVERY_EVENTS.name, owner, seen) is not None:
                return "duplicate"
            uow.insert(DELIVERY_EVENTS.name, owner, {"id": seen, "dispatch_id": stored.record.id, "expires_at": to_iso(now + SEEN_FOR)})
            stored.record.record_delivery(
                Delivery(
                    state=STATES[event["event"]],
                    at=to_iso(at),
                    reason=str(event.get("reason") or event.get("response") or "")[:300] or None,
                )
            )
            replace_dispatch(uow, stored)
        return "recorded"
