"""Dead letters in one list: those a host recorded itself and those its queue holds.

The Azure Service Bus trigger (standard binding) cannot settle a message, so a message
that will not be retried (poison, or past its queue's maximum deliveries) is recorded
here, with its reason, and the delivery is completed. The queue's own dead-letter queue
still receives what the host gives up on by itself (the process died mid-handler until
the queue's maxDeliveryCount), and the local runner dead-letters there explicitly.
Operators read and replay both through this one service (docs/d2p.md, "Dead letters").

Records hold the message body, which is ids only on every Vigil queue, and the error's
reason, cut short; they expire after `KEPT_FOR` (docs/retention.md, "Dead letters").
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.timestamps import to_iso
from shared.ports import Clock, MessageQueue, RecordStore, iterate_all
from shared.records import DEAD_LETTERS

log = logging.getLogger("vigil.dead_letters")

# As long as the log lines that already carry the same reason (Application Insights keeps
# 90 days): past that nobody can tell why it failed, and the work it stood for is stale.
KEPT_FOR = timedelta(days=90)
REASON_CHARS = 1000

RECORDED = "recorded"  # by the host, in the record store
QUEUE = "queue"  # in the queue's own dead-letter queue


@dataclass(frozen=True)
class DeadLetterEntry:
    """One dead-lettered message of a queue, wherever it is held."""

    queue: str
    message_id: str
    body: dict[str, Any] | None
    delivery_count: int | None
    reason: str | None
    dead_lettered_at: str | None
    source: str  # RECORDED or QUEUE


def _record_id(message_id: str) -> str:
    # A Cosmos id may not hold '#', '/', '?' or '\\', and a retry's copy is "<id>#retry<n>".
    return hashlib.sha256(message_id.encode()).hexdigest()[:40]


@dataclass
class DeadLetters:
    records: RecordStore
    queue: MessageQueue
    clock: Clock

    def record(self, queue: str, *, message_id: str, body: dict[str, Any] | None, deliveries: int, reason: str) -> None:
        """Keep a message that will not be retried, with its reason, so the delivery can be
        completed. `body` None: the message could not be read (it cannot be replayed).
        Raises if the record store cannot take it: the queue then redelivers and, at its
        maxDeliveryCount, dead-letters the message itself."""
        now = self.clock.now()
        doc = {
            "id": _record_id(message_id),
            "queue": queue,
            "message_id": message_id,
            "body": body,
            "delivery_count": deliveries,
            "reason": reason[:REASON_CHARS],
            "dead_lettered_at": to_iso(now),
            "expires_at": to_iso(now + KEPT_FOR),
        }
        with self.records.unit_of_work() as uow:
            # A redelivery of a message already recorded (the completion was lost) keeps one record.
            uow.upsert(DEAD_LETTERS.name, queue, doc)
        log.error(
            "message dead-lettered: %s",
            doc["reason"],
            extra={"queue": queue, "message_id": message_id, "delivery": deliveries},
        )

    def recorded(self, queue: str, *, limit: int = 100) -> list[DeadLetterEntry]:
        """The messages of `queue` a host recorded, oldest first."""
        with self.records.read_only() as uow:
            docs = uow.query(DEAD_LETTERS.name, [queue], [], order_by="dead_lettered_at", limit=limit).items
        return [
            DeadLetterEntry(
                queue=queue,
                message_id=d["message_id"],
                body=d.get("body"),
                delivery_count=d.get("delivery_count"),
                reason=d.get("reason"),
                dead_lettered_at=d.get("dead_lettered_at"),
                source=RECORDED,
            )
            for d in docs
        ]

    def entries(self, queue: str, *, limit: int = 100) -> list[DeadLetterEntry]:
        """Every dead letter of `queue`: those recorded, then the queue's own (up to `limit` of each)."""
        held = [
            DeadLetterEntry(
                queue=queue,
                message_id=str(m.get("message_id")),
                body=m.get("body"),
                delivery_count=m.get("delivery_count"),
                reason=m.get("reason"),
                dead_lettered_at=_iso_or_none(m.get("enqueued_at")),
                source=QUEUE,
            )
            for m in self.queue.dead_letters(queue, limit=limit)
        ]
        return self.recorded(queue, limit=limit) + held

    def depths(self, queues: Sequence[str], *, cap: int = 1000) -> dict[str, int]:
        """Dead letters per queue, recorded and held by the queue together, each part read
        up to `cap` (counting further costs more than an alert needs)."""
        with self.records.read_only() as uow:
            recorded = {q: uow.count(DEAD_LETTERS.name, [q]) for q in queues}
        return {q: min(recorded[q], cap) + len(self.queue.dead_letters(q, limit=cap)) for q in queues}

    def replay(self, queue: str, message_ids: Sequence[str] | None = None) -> int:
        """Put dead letters of `queue` back with a fresh delivery count (all, or those named)
        and forget them; returns how many went back. A recorded message that could not be
        read has nothing to put back and stays listed until it expires."""
        wanted = set(message_ids) if message_ids is not None else None
        replayed: set[str] = set()
        stamp = self.clock.now().strftime("%Y%m%d%H%M%S")
        with self.records.read_only() as uow:
            # Every record, not a first page: read whole before any is removed.
            due = [
                (d["message_id"], d.get("body"))
                for d in iterate_all(uow, DEAD_LETTERS.name, [queue], order_by="dead_lettered_at", limit=500)
                if wanted is None or d["message_id"] in wanted
            ]
        for message_id, body in due:
            if body is None:
                continue
            # Sent before the record goes: a failure between the two replays it twice, which
            # every handler absorbs (a dispatch already sent is not sent again), never loses it.
            original = message_id.split("#")[0]
            self.queue.send(queue, body, message_id=f"{original}#replay{stamp}")
            with self.records.unit_of_work() as uow:
                uow.delete(DEAD_LETTERS.name, queue, _record_id(message_id))
            replayed.add(message_id)
        rest = None if wanted is None else sorted(wanted - replayed)
        if rest == []:
            return len(replayed)
        return len(replayed) + self.queue.replay_dead_letters(queue, message_ids=rest)


def _iso_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    # The local queue keeps epoch seconds.
    return to_iso(datetime.fromtimestamp(float(value), UTC))
