"""The force's evaluation table: D2P against each channel whose figures the force uploaded,
over the same days, with the counts behind every rate and the differences labelled.

D2P's side is read from indexes and counters only (an index count of the reports that
reached the inbox, the day counters of acknowledgements and outcomes): a year of a large
force is a few hundred small documents, whatever the number of incidents."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.domain import evaluation as ev
from shared.ports import UnitOfWork
from shared.services.d2p.channel_figures import ChannelFiguresUseCase
from shared.services.d2p.counters import CountersUseCase, DayTotals


def days_of(start: datetime, end: datetime) -> tuple[date, date]:
    """The UTC days a period [start, end) touches: first and last, both included."""
    from datetime import UTC

    last = (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return start.astimezone(UTC).date(), max(last, start.astimezone(UTC).date())


@dataclass
class ComparisonUseCase:
    counters: CountersUseCase
    channel_figures: ChannelFiguresUseCase

    def table(self, uow: UnitOfWork, force_id: str, first: date, last: date) -> dict[str, Any]:
        """One row per channel with figures inside first..last: its figures, D2P's over the
        very same days, and the differences. The caller has checked the force is its own."""
        by_channel: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for doc in self.channel_figures.current(uow, force_id, first, last):
            by_channel[doc["channel"]].append(doc)
        rows = []
        for channel, docs in sorted(by_channel.items()):
            periods = [(date.fromisoformat(d["period_from"]), date.fromisoformat(d["period_to"])) for d in docs]
            d2p = self._d2p(uow, force_id, periods)
            other = _channel_side(docs)
            rows.append(
                {
                    "channel": channel,
                    "periods": [{"from": a.isoformat(), "to": b.isoformat()} for a, b in periods],
                    "versions": [{"period_from": d["period_from"], "version": d["version"], "source": d["source"]} for d in docs],
                    "d2p": d2p,
                    "channel_figures": other,
                    "differences": ev.compare(d2p, other),
                }
            )
        whole = self._d2p(uow, force_id, [(first, last)])
        return {"from": first.isoformat(), "to": last.isoformat(), "days": "UTC", "d2p": whole, "channels": rows}

    def _d2p(self, uow: UnitOfWork, force_id: str, periods: list[tuple[date, date]]) -> dict[str, Any]:
        totals = DayTotals()
        received = 0
        for first, last in periods:
            received += self.counters.received(uow, force_id, first, last)
            part = self.counters.totals(uow, force_id, first, last)
            totals.acknowledged += part.acknowledged
            ev.merge(totals.minutes, part.minutes)
            for code, n in part.outcomes.items():
                totals.outcomes[code] = totals.outcomes.get(code, 0) + n
        return ev.side(received, totals.charged, totals.outcomes, ev.hours_stats(totals.minutes))


def _channel_side(docs: list[dict[str, Any]]) -> dict[str, Any]:
    reports = sum(d["reports"] for d in docs)
    charged = sum(d["charged"] for d in docs)
    outcomes: dict[str, int] = {}
    for d in docs:
        for code, n in d["outcomes"].items():
            outcomes[code] = outcomes.get(code, 0) + n
    return ev.side(reports, charged, outcomes, _channel_hours(docs))


def _channel_hours(docs: list[dict[str, Any]]) -> dict[str, Any]:
    if all(d.get("minutes") for d in docs):
        minutes: dict[str, int] = {}
        for d in docs:
            ev.merge(minutes, d["minutes"])
        return ev.hours_stats(minutes)
    if len(docs) == 1:
        return dict(docs[0]["hours_to_record"])
    # Aggregates give a mean and a median per period: means combine (weighted by the
    # reports each is over), medians do not, so none is made up.
    known = [d["hours_to_record"] for d in docs if d["hours_to_record"].get("mean_hours") is not None]
    n = sum(h["n"] for h in known)
    mean = sum(h["mean_hours"] * h["n"] for h in known) / n if n and len(known) == len(docs) else None
    return {"n": n, "mean_hours": round(mean, 2) if mean is not None else None, "median_hours": None}
