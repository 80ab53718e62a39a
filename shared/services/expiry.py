"""Generic expiry of short-lived records (those with `expires_at`: idempotency keys, seen
provider events, recorded dead letters): found through the expiry index, deleted in
bounded batches, so the cost follows what is due."""

from __future__ import annotations

from datetime import datetime

from shared.domain.timestamps import to_iso
from shared.ports import JobReport, RecordStore, Where
from shared.records import DEAD_LETTERS, DELIVERY_EVENTS, IDEMPOTENCY

SWEPT = (IDEMPOTENCY.name, DELIVERY_EVENTS.name, DEAD_LETTERS.name)


def sweep_expired(records: RecordStore, as_of: datetime, *, batch: int = 500, collections=SWEPT) -> JobReport:
    """Delete every record of `collections` whose `expires_at` is at or before `as_of`."""
    report = JobReport(job="expiry-sweep", as_of=as_of)
    cutoff = to_iso(as_of)
    for name in collections:
        removed = 0
        while True:
            with records.unit_of_work() as uow:
                due = uow.query(name, None, [Where("expires_at", "le", cutoff)], order_by="expires_at", limit=batch).items
                for doc in due:
                    removed += uow.delete(name, _tenant_of(doc), doc["id"])
            if len(due) < batch:
                break
        report.counts[name] = removed
    return report


def _tenant_of(doc: dict) -> str:
    return doc["_tenant"]
