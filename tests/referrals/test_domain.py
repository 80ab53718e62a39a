"""The referral domain: 3x5x2 gradings checked part by part, and the lifecycle's steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.errors import Conflict, Invalid
from shared.domain.referrals import Grading, GradingIn, IncidentEntry, PersonEntry, Referral, VehicleEntry, grading_problems

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
P = GradingIn(source_evaluation="1", intelligence_assessment="A", handling_code="P")


def test_each_missing_part_is_named():
    assert grading_problems("incidents[0] (NW-1)", P) == []
    assert [p["field"] for p in grading_problems("incidents[0] (NW-1)", None)] == ["incidents[0].grading"]
    found = grading_problems("vehicles[2] (AB12CDE)", GradingIn(handling_code="C"))
    assert [p["field"] for p in found] == [
        "vehicles[2].grading.source_evaluation",
        "vehicles[2].grading.intelligence_assessment",
        "vehicles[2].grading.conditions",
    ]
    assert found[0]["message"] == "vehicles[2] (AB12CDE) has no source evaluation (1, 2 or 3)."
    # P permits sharing: neither conditions nor withholding fit it.
    bad = GradingIn(source_evaluation="2", intelligence_assessment="E", handling_code="P", conditions="x", onward_sharing=False)
    assert {p["field"] for p in grading_problems("persons[0] (o)", bad)} == {
        "persons[0].grading.conditions",
        "persons[0].grading.onward_sharing",
    }


def test_code_and_withheld():
    c = Grading.of(
        GradingIn(source_evaluation="3", intelligence_assessment="D", handling_code="C", conditions=" Ask first ", onward_sharing=False)
    )
    assert c.code == "3D C" and c.conditions == "Ask first" and c.withheld
    assert not Grading.of(P).withheld


def _referral() -> Referral:
    g = Grading.of(P)
    entry = dict(
        owner_org="northwind", reference="NW-1", force_id="devon-and-cornwall", store_id="s", category="shop_theft", occurred_at="x"
    )
    return Referral.open(
        unit_id="opal",
        referrer_org="northwind",
        by="u",
        now=NOW,
        title="Series",
        summary="Linked",
        force_ids=["avon-and-somerset", "devon-and-cornwall"],
        incidents=[IncidentEntry(incident_id="i1", grading=g, narrative="n", **entry), IncidentEntry(incident_id="i2", grading=g, **entry)],
        persons=[PersonEntry(offender_id="o1", owner_org="northwind", name="A", incident_ids=["i1"], grading=g)],
        vehicles=[VehicleEntry(plate="AB12CDE", incident_ids=["i1", "i2"], grading=g)],
    )


def test_lifecycle_steps_and_refusals():
    r = _referral()
    r.ask("More?", by="unit-1", now=NOW)
    with pytest.raises(Conflict):
        r.accept(by="unit-1", now=NOW)
    r.answer("Here.", by="u", now=NOW + timedelta(hours=1))
    assert r.status == "submitted" and r.version == 3
    r.accept(by="unit-1", now=NOW)
    r.ask("And?", by="unit-1", now=NOW)
    r.answer("This.", by="u", now=NOW)
    assert r.status == "accepted"  # back where it stood when asked
    with pytest.raises(Invalid):
        r.allocate("thames-valley", by="unit-1", now=NOW)
    r.allocate("avon-and-somerset", by="unit-1", now=NOW)
    assert r.lead_force_id == "avon-and-somerset" and [t.version for t in r.history] == [1, 2, 3, 4, 5, 6, 7]
    with pytest.raises(Conflict):
        r.answer("late", by="u", now=NOW)


def test_an_erased_incident_leaves_only_its_marker():
    r = _referral()
    assert r.mark_incident_erased("i1", NOW)
    erased = r.incidents[0]
    assert erased.erased_at and erased.narrative is None and erased.evidence == [] and erased.reference == "NW-1"
    assert r.persons == [] and r.vehicles[0].incident_ids == ["i2"]
    assert not r.mark_incident_erased("i1", NOW)
