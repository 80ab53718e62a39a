"""D2P's side of the force's evaluation table, kept as counters: one document per force per
UTC day the reports reached its inbox, moved by the acknowledgement and outcome events,
so the table reads a few hundred small documents for a year instead of every incident.

Counters are derived data. `rebuild` recomputes a force's days from the dispatches and
outcomes themselves (after a backfill, or to check the counters against the records).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.domain import evaluation as ev
from shared.domain.d2p import CHARGE_CODES, RECEIVED
from shared.domain.events import D2POutcomeRecorded, DispatchAcknowledged, DispatchSent
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import D2P_COUNTERS, DISPATCHES, OUTCOMES
from shared.services.d2p.deps import D2PDeps, retailers_in_area


def day_of(timestamp: str) -> str:
    """The UTC day of an ISO 8601 time: the counter a report belongs to."""
    return from_iso(timestamp).date().isoformat()


def _minutes(start: str, end: str) -> int:
    return int((from_iso(end) - from_iso(start)).total_seconds() // 60)


def _blank(day: str) -> dict[str, Any]:
    return {"id": day, "day": day, "acknowledged": 0, "minutes": {}, "outcomes": {}, "occurred_to_reported": {}, "reported_to_sent": {}}


def _count_sent(doc: dict[str, Any], occurred_at: str, reported_at: str, sent_at: str) -> None:
    # Documents written before these histograms existed lack them: `rebuild` fills the past.
    ev.add_minutes(doc.setdefault("occurred_to_reported", {}), _minutes(occurred_at, reported_at))
    ev.add_minutes(doc.setdefault("reported_to_sent", {}), _minutes(reported_at, sent_at))


@dataclass
class DayTotals:
    """The counters of a run of days added up."""

    acknowledged: int = 0
    minutes: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    occurred_to_reported: dict[str, int] = field(default_factory=dict)
    reported_to_sent: dict[str, int] = field(default_factory=dict)

    @property
    def charged(self) -> int:
        return sum(self.outcomes.get(c, 0) for c in CHARGE_CODES)

    def as_doc(self) -> dict[str, Any]:
        return {"acknowledged": self.acknowledged, "minutes": self.minutes, "outcomes": self.outcomes}

    def add(self, doc: dict[str, Any]) -> None:
        self.acknowledged += int(doc.get("acknowledged", 0))
        ev.merge(self.minutes, doc.get("minutes", {}))
        ev.merge(self.occurred_to_reported, doc.get("occurred_to_reported", {}))
        ev.merge(self.reported_to_sent, doc.get("reported_to_sent", {}))
        for code, n in doc.get("outcomes", {}).items():
            self.outcomes[code] = self.outcomes.get(code, 0) + int(n)


@dataclass
class CountersUseCase:
    deps: D2PDeps

    def _change(self, uow: UnitOfWork, force_id: str, day: str, change: Any) -> None:
        doc = uow.get(D2P_COUNTERS.name, force_id, day)
        if doc is None:
            fresh = _blank(day)
            change(fresh)
            uow.insert(D2P_COUNTERS.name, force_id, fresh)
            return
        current = {k: v for k, v in doc.items() if not k.startswith("_")}
        change(current)
        # Conditional on the version read: two units moving one day's counter at once
        # cannot both win; the loser's whole unit fails and is retried by its use case.
        uow.replace(D2P_COUNTERS.name, force_id, current, if_match=doc["_etag"])

    def on_sent(self, uow: UnitOfWork, event: DispatchSent) -> None:
        """Count the report's minutes from occurrence to report and from report to the inbox."""
        self._change(
            uow, event.force_id, day_of(event.sent_at), lambda doc: _count_sent(doc, event.occurred_at, event.reported_at, event.sent_at)
        )

    def on_acknowledged(self, uow: UnitOfWork, event: DispatchAcknowledged) -> None:
        """Count the report as recorded, with its minutes from inbox to crime reference."""

        def change(doc: dict[str, Any]) -> None:
            doc["acknowledged"] += 1
            ev.add_minutes(doc["minutes"], _minutes(event.sent_at, event.acknowledged_at))

        self._change(uow, event.force_id, day_of(event.sent_at), change)

    def on_outcome(self, uow: UnitOfWork, event: D2POutcomeRecorded) -> None:
        """Only the latest outcome of a report counts: the one it replaces is taken off."""
        if event.previous_code == event.code:
            return

        def change(doc: dict[str, Any]) -> None:
            counts = doc["outcomes"]
            counts[event.code] = counts.get(event.code, 0) + 1
            if event.previous_code is not None:
                counts[event.previous_code] = counts.get(event.previous_code, 0) - 1
                if counts[event.previous_code] <= 0:
                    del counts[event.previous_code]

        self._change(uow, event.force_id, day_of(event.sent_at), change)

    def days(self, uow: UnitOfWork, force_id: str, first: date, last: date) -> dict[str, dict[str, Any]]:
        """The force's day counters of first..last (both included), by day."""
        where = [Where("day", "ge", first.isoformat()), Where("day", "le", last.isoformat())]
        return {doc["day"]: doc for doc in iterate_all(uow, D2P_COUNTERS.name, [force_id], where, limit=500)}

    def totals(self, uow: UnitOfWork, force_id: str, first: date, last: date) -> DayTotals:
        """The force's day counters of first..last added up."""
        totals = DayTotals()
        for doc in self.days(uow, force_id, first, last).values():
            totals.add(doc)
        return totals

    def received(self, uow: UnitOfWork, force_id: str, first: date, last: date) -> int:
        """Reports that reached the force's inbox on the days first..last: an index count."""
        owners = retailers_in_area(uow, force_id)
        if not owners:
            return 0
        start, end = _bounds(first, last)
        # `sent_at` is set only when the report went, and a sent dispatch can only become
        # acknowledged (TRANSITIONS): a time in range is a report received, and the count is
        # answered from the (force_id, sent_at) index alone, without reading a dispatch.
        where = [Where("force_id", "eq", force_id), Where("sent_at", "ge", start), Where("sent_at", "lt", end)]
        return uow.count(DISPATCHES.name, owners, where)

    def rebuild(self, force_id: str, first: date, last: date) -> dict[str, int]:
        """Recompute the force's counters for days first..last from its dispatches and
        outcomes (a backfill, or a repair): days with nothing are removed. Returns how many
        days were written and reports counted."""
        start, end = _bounds(first, last)
        days: dict[str, dict[str, Any]] = defaultdict(lambda: _blank(""))
        with self.deps.records.unit_of_work() as uow:
            owners = retailers_in_area(uow, force_id)
            sent: dict[str, str] = {}
            where = [Where("force_id", "eq", force_id), Where("sent_at", "ge", start), Where("sent_at", "lt", end)]
            for d in _each(uow, DISPATCHES.name, owners, where):
                if d.get("status") not in {s.value for s in RECEIVED}:
                    continue
                sent[d["incident_id"]] = d["sent_at"]
                counter = days[day_of(d["sent_at"])]
                _count_sent(counter, d["occurred_at"], d["reported_at"], d["sent_at"])
                if d.get("acknowledged_at"):
                    counter["acknowledged"] += 1
                    ev.add_minutes(counter["minutes"], _minutes(d["sent_at"], d["acknowledged_at"]))
            latest: dict[str, str] = {}
            outcomes = _each(uow, OUTCOMES.name, owners, [Where("force_id", "eq", force_id)], order_by="recorded_at")
            for o in outcomes:
                if o["incident_id"] in sent:
                    latest[o["incident_id"]] = o["code"]
            for incident_id, code in latest.items():
                counts = days[day_of(sent[incident_id])]["outcomes"]
                counts[code] = counts.get(code, 0) + 1
            existing = {
                d["id"]: d
                for d in iterate_all(
                    uow, D2P_COUNTERS.name, [force_id], [Where("day", "ge", first.isoformat()), Where("day", "le", last.isoformat())]
                )
            }
            for key, doc in days.items():
                doc.update(id=key, day=key)
                if key in existing:
                    uow.replace(D2P_COUNTERS.name, force_id, doc, if_match=existing[key]["_etag"])
                else:
                    uow.insert(D2P_COUNTERS.name, force_id, doc)
            for key in set(existing) - set(days):
                uow.delete(D2P_COUNTERS.name, force_id, key)
        return {"days": len(days), "reports": len(sent)}


def _bounds(first: date, last: date) -> tuple[str, str]:
    start = datetime.combine(first, datetime.min.time()).replace(tzinfo=UTC)
    return to_iso(start), to_iso(start + timedelta(days=(last - first).days + 1))


def _each(uow: UnitOfWork, collection: str, owners: list[str], where: list[Where], **kw: Any) -> Iterable[dict[str, Any]]:
    return iterate_all(uow, collection, owners, where, limit=500, **kw) if owners else ()
