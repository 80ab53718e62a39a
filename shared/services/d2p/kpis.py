"""The force's own evaluation table, live: reports that came through D2P against its other
incidents (statuses, times between the steps, charge and outcome 14/16 rates)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.domain import d2p as rules_domain
from shared.domain.d2p import RECEIVED, DispatchStatus
from shared.domain.errors import Invalid
from shared.domain.tenancy import Principal
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import UnitOfWork, Where, iterate_all
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
        first_day, last_day = days_of(start, end)
        # The reports received in the period come from the force's day counters (filed by the
        # day they reached its inbox); the rest are index counts and one period-bounded query.
        with self.deps.records.read_only() as uow:
            owners = retailers_in_area(uow, force_id)
            incidents, counts = 0, {}
            undispatched: dict[str, dict[str, Any]] = {}
            firsts: dict[str, list[dict[str, Any]]] = {}
            totals = self.counters.totals(uow, force_id, first_day, last_day)
            received = self.counters.received(uow, force_id, first_day, last_day)
            if owners:
                period = [Where("force_id", "eq", force_id), Where("occurred_at", "ge", lo), Where("occurred_at", "lt", hi)]
                incidents = uow.count(INCIDENTS.name, owners, period)
                counts = self._not_received(uow, owners, force_id, lo, hi)
                undispatched, firsts = self._other_channel_outcomes(uow, owners, force_id, lo, hi)
            evaluation = ComparisonUseCase(self.counters, self.channel_figures).table(uow, force_id, first_day, last_day)
        if totals.acknowledged:
            counts[DispatchStatus.ACKNOWLEDGED.value] = totals.acknowledged
        if received - totals.acknowledged > 0:
            counts[DispatchStatus.SENT.value] = received - totals.acknowledged
        codes = [code for code, n in totals.outcomes.items() for _ in range(n)]
        latest = {i: o[-1]["code"] for i, o in firsts.items()}
        other_reports = max(incidents - received, len(undispatched))
        return {
            "force": force_id,
            "from": to_iso(start),
            "to": to_iso(end),
            "dispatches_by_status": dict(sorted(counts.items())),
            "times": {
                "occurred_to_reported": _histogram_stats(totals.occurred_to_reported),
                "reported_to_dispatched": _histogram_stats(totals.reported_to_sent),
                "dispatched_to_acknowledged": _histogram_stats(totals.minutes),
                "other_channels_reported_to_first_outcome": _stats(
                    [_hours(doc["reported_at"], firsts[i][0]["recorded_at"]) for i, doc in undispatched.items() if i in firsts]
                ),
            },
            "outcomes": {
                "d2p": rules_domain.outcome_rates(codes, received),
                "other_channels": rules_domain.outcome_rates(list(latest.values()), other_reports),
            },
            "evaluation": evaluation,
        }

    @staticmethod
    def _not_received(uow: UnitOfWork, owners: list[str], force_id: str, lo: str, hi: str) -> dict[str, int]:
        # Dispatches that never reached the inbox have no inbox day: counted on the index by
        # status, for those created in the period.
        counts = {}
        for status in DispatchStatus:
            if status in RECEIVED:
                continue
            where = [
                Where("force_id", "eq", force_id),
                Where("status", "eq", status.value),
                Where("created_at", "ge", lo),
                Where("created_at", "lt", hi),
            ]
            n = uow.count(DISPATCHES.name, owners, where)
            if n:
                counts[status.value] = n
        return counts

    @staticmethod
    def _other_channel_outcomes(
        uow: UnitOfWork, owners: list[str], force_id: str, lo: str, hi: str
    ) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        # An outcome needs the force's grant, which only a dispatch gives, so outcomes on
        # undispatched incidents are rare: those recorded in the period are read, bounded by
        # the (force_id, recorded_at) index, and D2P's own are left to the counters.
        where = [Where("force_id", "eq", force_id), Where("recorded_at", "ge", lo), Where("recorded_at", "lt", hi)]
        by_incident: dict[str, list[dict[str, Any]]] = {}
        for o in iterate_all(uow, OUTCOMES.name, owners, where, order_by="recorded_at", limit=500):
            if not o.get("via_d2p"):
                by_incident.setdefault(o["incident_id"], []).append(o)
        incidents: dict[str, dict[str, Any]] = {}
        for incident_id in by_incident:
            if uow.count(DISPATCHES.name, owners, [Where("incident_id", "eq", incident_id), Where("force_id", "eq", force_id)]):
                continue
            doc = next(iter(uow.query(INCIDENTS.name, owners, [Where("id", "eq", incident_id)], limit=1).items), None)
            if doc is not None:
                incidents[incident_id] = doc
        return incidents, {i: o for i, o in by_incident.items() if i in incidents}


def _histogram_stats(histogram: dict[str, int]) -> dict[str, Any]:
    """Count, median and 90th percentile hours of a minutes histogram, as `_stats` gives them
    for the same times (median as statistics.median, nearest-rank percentile)."""
    ordered = sorted((int(m), int(c)) for m, c in histogram.items() if int(c) > 0)
    n = sum(c for _, c in ordered)
    if not n:
        return {"n": 0, "median_hours": None, "p90_hours": None}

    def nth(k: int) -> int:  # the k-th smallest minutes, 0-based
        seen = 0
        for minutes, count in ordered:
            seen += count
            if k < seen:
                return minutes
        return ordered[-1][0]

    mid = n // 2
    median = nth(mid) if n % 2 else (nth(mid - 1) + nth(mid)) / 2
    rank = max(1, -(-n * 90 // 100))
    return {"n": n, "median_hours": round(median / 60, 3), "p90_hours": round(nth(rank - 1) / 60, 3)}
