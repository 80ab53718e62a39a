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
        # The period's day counters are read once; channels sharing a period share its count.
        days = self.counters.days(uow, force_id, first, last)
        # Each day is added once, into the totals of the set of periods holding it; a
        # period's totals are then the sum of the few sets it belongs to.
        wanted = {(first, last)} | {
            (date.fromisoformat(d["period_from"]), date.fromisoformat(d["period_to"])) for docs in by_channel.values() for d in docs
        }
        bounds = [(p, p[0].isoformat(), p[1].isoformat()) for p in sorted(wanted)]
        by_set: dict[tuple[tuple[date, date], ...], DayTotals] = {}
        for day, doc in days.items():
            holders = tuple(p for p, lo, hi in bounds if lo <= day <= hi)
            by_set.setdefault(holders, DayTotals()).add(doc)
        per_period: dict[tuple[date, date], tuple[int, DayTotals]] = {}

        def period(a: date, b: date) -> tuple[int, DayTotals]:
            if (a, b) not in per_period:
                totals = DayTotals()
                for holders, part in by_set.items():
                    if (a, b) in holders:
                        totals.add(part.as_doc())
                per_period[(a, b)] = (self.counters.received(uow, force_id, a, b), totals)
            return per_period[(a, b)]

        def d2p(periods: list[tuple[date, date]]) -> dict[str, Any]:
            n, totals = 0, DayTotals()
            for a, b in periods:
                count, part = period(a, b)
                n += count
                totals.add(part.as_doc())
            return ev.side(n, totals.charged, totals.outcomes, ev.hours_stats(totals.minutes))

        rows = []
        for channel, docs in sorted(by_channel.items()):
            periods = [(date.fromisoformat(d["period_from"]), date.fromisoformat(d["period_to"])) for d in docs]
            ours, other = d2p(periods), _channel_side(docs)
            rows.append(
                {
                    "channel": channel,
                    "periods": [{"from": a.isoformat(), "to": b.isoformat()} for a, b in periods],
                    "versions": [{"period_from": d["period_from"], "version": d["version"], "source": d["source"]} for d in docs],
                    "d2p": ours,
                    "channel_figures": other,
                    "differences": ev.compare(ours, other),
                }
            )
        return {"from": first.isoformat(), "to": last.isoformat(), "days": "UTC", "d2p": d2p([(first, last)]), "channels": rows}


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
