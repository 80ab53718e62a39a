"""The repeat-offending score: every point explained, ordering stable over time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.intel import IncidentFacts, explain, facts_of_incident, rank_key, score_at, spread_of

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def fact(i: int, days_ago: float = 0, value: int = 0, violent: bool = False, weapon: bool = False, store="s1", force="f1"):
    return IncidentFacts(
        id=f"i{i}",
        reference=f"NW-{i}",
        occurred_at=NOW - timedelta(days=days_ago),
        store_id=store,
        force_id=force,
        organisation_id="northwind",
        value_minor=value,
        violent=violent,
        weapon=weapon,
    )


def test_reasons_add_up_to_the_score_and_name_their_incidents():
    facts = [fact(1, 0, value=25_000, violent=True), fact(2, 180, store="s2"), fact(3, 30, weapon=True, force="f2")]
    spread = spread_of(facts)
    e = explain(facts, spread, NOW)
    by = {r.reason: r for r in e.reasons}
    assert sum(r.points for r in e.reasons) == pytest.approx(e.score)
    assert by["count"].points == 3
    assert by["value"].points == pytest.approx(2.5)
    assert by["value"].incidents == [{"id": "i1", "reference": "NW-1"}]
    assert by["violence"].points == pytest.approx(3 + 5)
    assert {i["id"] for i in by["violence"].incidents} == {"i1", "i3"}
    assert by["recency"].points < 0
    assert by["spread"].points > 0 and "2 stores" in by["spread"].weight
    assert e.score == pytest.approx(score_at(rank_key(facts, spread), NOW))


def test_value_per_incident_is_capped():
    e = explain([fact(1, value=10_000_000)], spread_of([fact(1)]), NOW)
    assert {r.reason: r.points for r in e.reasons}["value"] == 5


def test_an_incident_loses_half_its_weight_each_half_life():
    fresh = explain([fact(1)], spread_of([fact(1)]), NOW).score
    old = explain([fact(1, 180)], spread_of([fact(1)]), NOW).score
    assert old == pytest.approx(fresh / 2)


def test_order_by_stored_key_is_the_order_by_todays_score():
    a = [fact(1, 400, value=50_000, violent=True), fact(2, 380)]
    b = [fact(3, 5)]
    ka, kb = rank_key(a, spread_of(a)), rank_key(b, spread_of(b))
    for later in (0, 100, 1000):
        when = NOW + timedelta(days=later)
        sa, sb = explain(a, spread_of(a), when).score, explain(b, spread_of(b), when).score
        assert (ka > kb) == (sa > sb)
        assert sa == pytest.approx(score_at(ka, when))


def test_facts_of_a_stored_incident():
    f = facts_of_incident(
        {
            "id": "x",
            "reference": "NW-9",
            "occurred_at": "2026-11-01T10:00:00Z",
            "store_id": "nw-exeter",
            "force_id": "devon-and-cornwall",
            "organisation_id": "northwind",
            "category": "robbery",
            "flags": {"weapon": True},
            "total_value": {"amount_minor": 4599, "currency": "GBP"},
        }
    )
    assert f.violent and f.weapon and f.value_minor == 4599
    assert IncidentFacts.from_doc(f.to_doc()) == f
