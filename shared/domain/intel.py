"""Repeat and prolific offending: the score that ranks persons of interest, and its reasons.

Pure: no I/O. The formula and why each weight is what it is are in docs/intelligence.md;
an officer must be able to defend every point of a score, so `explain` gives each reason's
points, its weight and the incidents behind it, and the reasons add up to the score.

The score of a person over a set of incidents is

    score = spread x sum over incidents of decay(age) x (1 + value points + violence points)

with decay(age) = 2 ** (-age / half life). Because the decay is exponential, the order of
two persons never changes as time passes, so a read model can store one number per person
(`rank_key`: the same sum with ages measured from a fixed epoch instead of from now) and a
ranking is an index read ordered by it; `score_at` turns it into today's score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Fixed origin of `rank_key`. Any date works; one near the data keeps the numbers small.
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class Weights:
    """The weights of the score; defaults are the ones docs/intelligence.md defends."""

    per_incident: float = 1.0
    # One point per this many pounds (minor units / 100) of goods, at most `value_cap` per incident.
    value_unit_minor: int = 10_000
    value_cap: float = 5.0
    violence: float = 3.0
    weapon: float = 2.0
    half_life_days: float = 180.0
    per_extra_store: float = 0.1
    per_extra_retailer: float = 0.25
    per_extra_area: float = 0.25
    spread_cap: float = 2.0


WEIGHTS = Weights()

VIOLENT_CATEGORIES = frozenset({"robbery", "violence_against_staff"})


@dataclass(frozen=True)
class IncidentFacts:
    """What the score reads of one incident (the read model keeps exactly this)."""

    id: str
    reference: str
    occurred_at: datetime
    store_id: str
    force_id: str
    organisation_id: str
    value_minor: int = 0
    violent: bool = False
    weapon: bool = False

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference": self.reference,
            "occurred_at": self.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "store_id": self.store_id,
            "force_id": self.force_id,
            "organisation_id": self.organisation_id,
            "value_minor": self.value_minor,
            "violent": self.violent,
            "weapon": self.weapon,
        }

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> IncidentFacts:
        return cls(
            id=d["id"],
            reference=d["reference"],
            occurred_at=datetime.fromisoformat(str(d["occurred_at"]).replace("Z", "+00:00")),
            store_id=d["store_id"],
            force_id=d["force_id"],
            organisation_id=d["organisation_id"],
            value_minor=int(d.get("value_minor") or 0),
            violent=bool(d.get("violent")),
            weapon=bool(d.get("weapon")),
        )


def facts_of_incident(incident: Mapping[str, Any]) -> IncidentFacts:
    """The scored facts of a stored incident: goods value, violence (flags or category), weapon."""
    flags = incident.get("flags") or {}
    total = incident.get("total_value") or {}
    violent = bool(flags.get("violence") or flags.get("staff_injured") or flags.get("threats")) or (
        incident.get("category") in VIOLENT_CATEGORIES
    )
    return IncidentFacts(
        id=incident["id"],
        reference=incident.get("reference", ""),
        occurred_at=datetime.fromisoformat(str(incident["occurred_at"]).replace("Z", "+00:00")),
        store_id=incident.get("store_id", ""),
        force_id=incident.get("force_id", ""),
        organisation_id=incident.get("organisation_id", ""),
        value_minor=int(total.get("amount_minor") or 0),
        violent=violent,
        weapon=bool(flags.get("weapon")),
    )


def value_points(f: IncidentFacts, w: Weights = WEIGHTS) -> float:
    return min(f.value_minor / w.value_unit_minor, w.value_cap)


def violence_points(f: IncidentFacts, w: Weights = WEIGHTS) -> float:
    return (w.violence if f.violent or f.weapon else 0.0) + (w.weapon if f.weapon else 0.0)


def incident_points(f: IncidentFacts, w: Weights = WEIGHTS) -> float:
    """An incident's points before recency and spread."""
    return w.per_incident + value_points(f, w) + violence_points(f, w)


def spread_factor(stores: int, retailers: int, areas: int, w: Weights = WEIGHTS) -> float:
    """1 for one store of one retailer in one force area; more the wider a person offends."""
    extra = w.per_extra_store * max(stores - 1, 0) + w.per_extra_retailer * max(retailers - 1, 0) + w.per_extra_area * max(areas - 1, 0)
    return 1.0 + min(extra, w.spread_cap)


def decay(age_days: float, w: Weights = WEIGHTS) -> float:
    """The weight of an incident `age_days` old: 1 today, 1/2 after one half life. An incident
    dated in the future (a clock ahead) counts as today's."""
    return float(2.0 ** (-max(age_days, 0.0) / w.half_life_days))


def _days(a: datetime, b: datetime) -> float:
    return (a - b).total_seconds() / DAY_SECONDS


@dataclass(frozen=True)
class Spread:
    stores: int
    retailers: int
    areas: int


def spread_of(facts: Iterable[IncidentFacts], *, areas: int | None = None, retailers: int | None = None) -> Spread:
    """Distinct stores, retailers and force areas of the incidents (`areas`/`retailers` given
    when known beyond them, e.g. a person's other force areas behind a force's ranking)."""
    fs = list(facts)
    return Spread(
        stores=len({f.store_id for f in fs}),
        retailers=retailers if retailers is not None else len({f.organisation_id for f in fs}),
        areas=areas if areas is not None else len({f.force_id for f in fs}),
    )


def rank_key(facts: Sequence[IncidentFacts], spread: Spread, w: Weights = WEIGHTS) -> float:
    """The stored ordering number: the score with ages measured from `EPOCH`. Today's score is
    `score_at(rank_key, now)`; the order of persons by it is the order by today's score."""
    total = sum(incident_points(f, w) * 2.0 ** (_days(f.occurred_at, EPOCH) / w.half_life_days) for f in facts)
    return float(total * spread_factor(spread.stores, spread.retailers, spread.areas, w))


def score_at(key: float, now: datetime, w: Weights = WEIGHTS) -> float:
    """Today's score of a stored `rank_key`."""
    return float(key * 2.0 ** (-_days(now, EPOCH) / w.half_life_days))


@dataclass
class Reason:
    """One reason of a score: its points, the weight behind them and the incidents that earned them."""

    reason: str
    points: float
    weight: str
    incidents: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "points": round(self.points, 3), "weight": self.weight, "incidents": self.incidents}


@dataclass
class Explained:
    score: float
    reasons: list[Reason]
    incident_count: int
    last_incident_at: datetime | None
    spread: Spread


def explain(facts: Sequence[IncidentFacts], spread: Spread, now: datetime, w: Weights = WEIGHTS) -> Explained:
    """The score today and its reasons (counts, value, violence, recency, spread); the points
    of the reasons add up to the score. Equal to `score_at(rank_key(...), now)` for incidents
    not dated in the future."""
    ordered = sorted(facts, key=lambda f: f.occurred_at, reverse=True)

    def ref(f: IncidentFacts) -> dict[str, str]:
        return {"id": f.id, "reference": f.reference}

    count = Reason("count", w.per_incident * len(ordered), f"{w.per_incident:g} per incident", [ref(f) for f in ordered])
    valued = [f for f in ordered if f.value_minor > 0]
    value = Reason(
        "value",
        sum(value_points(f, w) for f in valued),
        f"1 per £{w.value_unit_minor / 100:g} of goods, at most {w.value_cap:g} per incident",
        [ref(f) for f in valued],
    )
    violent = [f for f in ordered if f.violent or f.weapon]
    violence = Reason(
        "violence",
        sum(violence_points(f, w) for f in violent),
        f"{w.violence:g} per incident with violence or threats, {w.weapon:g} more with a weapon",
        [ref(f) for f in violent],
    )
    raw = count.points + value.points + violence.points
    decayed = sum(incident_points(f, w) * decay(_days(now, f.occurred_at), w) for f in ordered)
    aged = [f for f in ordered if _days(now, f.occurred_at) > 0]
    recency = Reason("recency", decayed - raw, f"points halve every {w.half_life_days:g} days", [ref(f) for f in aged])
    factor = spread_factor(spread.stores, spread.retailers, spread.areas, w)
    spread_reason = Reason(
        "spread",
        decayed * (factor - 1.0),
        f"x{factor:.2f}: {spread.stores} stores, {spread.retailers} retailers, {spread.areas} force areas "
        f"(+{w.per_extra_store:g} per extra store, +{w.per_extra_retailer:g} per extra retailer, "
        f"+{w.per_extra_area:g} per extra area, at most +{w.spread_cap:g})",
        [ref(f) for f in ordered] if factor > 1.0 else [],
    )
    reasons = [count, value, violence, recency, spread_reason]
    return Explained(
        score=decayed * factor,
        reasons=reasons,
        incident_count=len(ordered),
        last_incident_at=ordered[0].occurred_at if ordered else None,
        spread=spread,
    )


def rounded(score: float) -> float:
    """A score as shown: three decimals (the reasons are rounded the same way)."""
    return round(score, 3) if math.isfinite(score) else 0.0
