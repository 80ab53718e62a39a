"""The transactional outbox: a message owed by a change (a D2P dispatch, an ANPR hit's
alert) is written in the same unit of work as the change, moved to its queue right after
commit, and moved by the `outbox-relay` timer if that failed. So a queue outage delays a
message and never loses it; the queue's message id (the outbox id) makes a second move
of the same message a duplicate the queue drops.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.events import MessageRelayed
from shared.domain.timestamps import to_iso
from shared.ports import Clock, JobReport, MessageQueue, RecordStore, UnitOfWork, Where
from shared.records import OUTBOX
from shared.services.messagebus import MessageBus

log = logging.getLogger("vigil.outbox")

# How old a commit intent must be before the relay takes its process for dead: far longer
# than any commit takes, shorter than the relay's 30 s period so one run sees it.
COMMIT_GRACE = timedelta(seconds=20)


@dataclass
class Outbox:
    records: RecordStore
    queue: MessageQueue
    clock: Clock
    # The capability that owns a queue records that its message went (D2P moves the
    # dispatch from queued to enqueued) by handling MessageRelayed in the relay's unit.
    bus: MessageBus

    def put(self, uow: UnitOfWork, tenant: str, *, queue: str, message_id: str, body: dict[str, Any], **extra: Any) -> None:
        """Owe `body` to `queue` from this unit of work; `message_id` is also the outbox id."""
        uow.insert(
            OUTBOX.name,
            tenant,
            {
                "id": message_id,
                "queue": queue,
                "message_id": message_id,
                "body": body,
                "created_at": to_iso(self.clock.now()),
                **extra,
            },
        )

    def relay_now(self, tenant: str, message_ids: Sequence[str]) -> None:
        """Right after commit: move these messages to their queues. A failure is logged and
        left to the relay timer."""
        try:
            with self.records.unit_of_work() as uow:
                for message_id in message_ids:
                    doc = uow.get(OUTBOX.name, tenant, message_id)
                    if doc is not None:
                        self._relay_doc(uow, doc)
        except Exception:  # noqa: BLE001 - the outbox keeps the messages; the relay timer retries them
            log.warning("immediate relay failed; the relay timer will move the messages", extra={"messages": len(message_ids)})

    def relay(self, as_of: datetime, *, batch: int = 200) -> JobReport:
        """Timer: move every message written at or before `as_of` to its queue."""
        report = JobReport(job="outbox-relay", as_of=as_of, counts={"relayed": 0, "duplicates": 0, "failed": 0, "rolled_back": 0})
        # First the units whose process died mid-commit: rolled back, so no message is owed
        # for a change that never completed. The grace leaves live commits alone.
        report.counts["rolled_back"] = self.records.recover_commits(as_of - COMMIT_GRACE)
        with self.records.unit_of_work() as uow:
            docs = uow.query(OUTBOX.name, None, [Where("created_at", "le", to_iso(as_of))], order_by="created_at", limit=batch).items
        for doc in docs:
            if doc.get("intent"):
                continue  # a commit still in flight (Cosmos): not a message
            try:
                with self.records.unit_of_work() as uow:
                    fresh = uow.get(OUTBOX.name, doc["_tenant"], doc["id"])
                    if fresh is None:
                        continue
                    if fresh.get("commit") and uow.get(OUTBOX.name, fresh["_tenant"], fresh["commit"]) is not None:
                        continue  # its unit has not reached its commit point (or died; recovery decides)
                    accepted = self._relay_doc(uow, fresh)
                report.counts["relayed" if accepted else "duplicates"] += 1
            except Exception:  # noqa: BLE001 - one stuck message must not hold up the rest
                log.exception("relay failed", extra={"message_id": doc["id"]})
                report.counts["failed"] += 1
        return report

    def _relay_doc(self, uow: UnitOfWork, doc: dict[str, Any]) -> bool:
        accepted = self.queue.send(doc["queue"], doc["body"], message_id=doc["message_id"])
        uow.delete(OUTBOX.name, doc["_tenant"], doc["id"])
        self.bus.publish(uow, MessageRelayed(queue=doc["queue"], message=doc))
        return accepted
