"""The force's own evaluation table, live: reports that came through D2P against its other
incidents (statuses, times between the steps, charge and outcome 14/16 rates)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.domain import d2p as rules_domain
from shared.domain.d2p import ALREADY_SENT
from shared.domain.errors import Invalid
from shared.domain.tenancy import Principal
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import Where, iterate_all
from shared.records import DISPATCHES, INCIDENTS, OUTCOMES
from shared.services.d2p.channel_figures import ChannelFiguresUseCase
from shared.services.d2p.comparison import ComparisonUseCase, days_of
from shared.services.d2p.counters import CountersUseCase
from shared.services.d2p.deps import D2PDeps, own_force, retailers_in_area

MAX_PERIOD = timedelta(days=731)


def _hours(a: str | None, b: str | None) -> float | None:
    return rules_domain.hours_between(from_iso(a) if a else None, from_iso(b) if b else None)


def _stats(values: list[float | None]) -> dict[str, Any]:
    vals = [v for v in values if v is not None]
    med, p90 = statistics.median(vals) if vals else None, rules_domain.percentile(vals, 90)
    return {
        "n": len(vals),
        "median_hours": round(med, 3) if med is not None else None,
        "p90_hours": round(p90, 3) if p90 is not None else None,
    }


@dataclass
class KpisUseCase:
    deps: D2PDeps
    counters: CountersUseCase
    channel_figures: ChannelFiguresUseCase

    def evaluation(self, principal: Principal, force_id: str, first: date, last: date) -> dict[str, Any]:
        """The evaluation table alone, for the UTC days first..last (the console's page)."""
        own_force(principal, force_id)
        if last < first:
            raise Invalid("'to' must not be before 'from'.", errors=[{"field": "to"}])
        if (last - first).days > MAX_PERIOD.days:
            raise Invalid("The period is limited to two years.", errors=[{"field": "to"}])
        with self.deps.records.read_only() as uow:
            return ComparisonUseCase(self.counters, self.channel_figures).table(uow, force_id, first, last)

    def report(self, principal: Principal, force_id: str, start: datetime, end: datetime) -> dict[str, Any]:
        """D2P against other channels for incidents that occurred in [start, end), at most two years."""
        own_force(principal, force_id)
        if end <= start:
            raise Invalid("'to' must be after 'from'.", errors=[{"field": "to"}])
        if end - start > MAX_PERIOD:
            raise Invalid("The period is limited to two years.", errors=[{"field": "to"}])
        lo, hi = to_iso(start), to_iso(end)
        # Dispatches carry their incident's occurrence and report times, so the period's
        # incidents are counted on the index, never loaded.
        with self.deps.records.read_only() as uow:
            owners = retailers_in_area(uow, force_id)
            incidents, dispatches, outcomes = 0, [], []
            if owners:
                period = [Where("force_id", "eq", force_id), Where("occurred_at", "ge", lo), Where("occurred_at", "lt", hi)]
                incidents = uow.count(INCIDENTS.name, owners, period)
                dispatches = list(iterate_all(uow, DISPATCHES.name, owners, [Where("force_id", "eq", force_id)], limit=500))
                outcomes = list(
                    iterate_all(uow, OUTCOMES.name, owners, [Where("force_id", "eq", force_id)], order_by="recorded_at", limit=500)
                )
            by_incident = {d["incident_id"]: d for d in dispatches if lo <= to_iso(from_iso(d["occurred_at"])) < hi}
            known = {d["incident_id"] for d in dispatches}
            # An outcome needs the force's grant, which only a dispatch gives: one on an
            # incident without a dispatch is read (with its times) rather than assumed away.
            undispatched = {}
            for o in outcomes:
                if o["incident_id"] not in known and o["incident_id"] not in undispatched:
                    doc = next(iter(uow.query(INCIDENTS.name, owners, [Where("id", "eq", o["incident_id"])], limit=1).items), None)
                    if doc is not None and lo <= to_iso(from_iso(doc["occurred_at"])) < hi:
                        undispatched[o["incident_id"]] = doc
            evaluation = ComparisonUseCase(self.counters, self.channel_figures).table(uow, force_id, *days_of(start, end))
        latest: dict[str, dict[str, Any]] = {}
        first: dict[str, dict[str, Any]] = {}
        for o in outcomes:
            if o["incident_id"] in by_incident or o["incident_id"] in undispatched:
                latest[o["incident_id"]] = o
                first.setdefault(o["incident_id"], o)
        counts: dict[str, int] = {}
        for d in by_incident.values():
            counts[d["status"]] = counts.get(d["status"], 0) + 1
        d2p_ids = {i for i, d in by_incident.items() if d["status"] in ALREADY_SENT}
        other_ids = set(undispatched)
        other_reports = max(incidents - len(by_incident), len(other_ids))
        sent = [by_incident[i] for i in d2p_ids]
        return {
            "force": force_id,
            "from": to_iso(start),
            "to": to_iso(end),
            "dispatches_by_status": dict(sorted(counts.items())),
            "times": {
                "occurred_to_reported": _stats([_hours(d["occurred_at"], d["reported_at"]) for d in sent]),
                "reported_to_dispatched": _stats([_hours(d["reported_at"], d.get("sent_at")) for d in sent]),
                "dispatched_to_acknowledged": _stats([_hours(d.get("sent_at"), d.get("acknowledged_at")) for d in sent]),
                "other_channels_reported_to_first_outcome": _stats(
                    [_hours(undispatched[i]["reported_at"], first[i]["recorded_at"]) for i in other_ids if i in first]
                ),
            },
            "outcomes": {
                "d2p": rules_domain.outcome_rates([latest[i]["code"] for i in d2p_ids if i in latest], len(d2p_ids)),
                "other_channels": rules_domain.outcome_rates([latest[i]["code"] for i in other_ids if i in latest], other_reports),
            },
            "evaluation": evaluation,
        }
