"""Eligibility rules as a force sets them: pure domain tests of the edge cases."""

from __future__ import annotations

from shared.domain.d2p_rules import ForceRules, evaluate

RULES = ForceRules(
    control_room_email="control-room@devon-cornwall.police.example",
    always_send_categories=["robbery", "violence_against_staff"],
    always_send_flags=["violence", "weapon", "threats", "staff_injured", "offender_detained", "hate_element"],
    min_theft_value={"amount_minor": 10000, "currency": "GBP"},
    accepted_categories=["criminal_damage"],
    enrolled_retailers=["northwind"],
)
EVIDENCE = [{"id": "e1", "kind": "cctv"}, {"id": "e2", "kind": "suspect_image"}]


def incident(**over):
    doc = {
        "id": "i1",
        "organisation_id": "northwind",
        "store_id": "nw-plymouth",
        "category": "shop_theft",
        "flags": {},
        "total_value": {"amount_minor": 10000, "currency": "GBP"},
        "prosecution_supported": True,
        "witnesses": [{"name": "Sam", "statement": "I saw it.", "is_reporter": True}],
    }
    doc.update(over)
    return doc


def run(doc, evidence=EVIDENCE, *, store_force="devon-and-cornwall", rules=RULES, repeat=False):
    return evaluate(
        doc,
        evidence,
        force_id="devon-and-cornwall",
        force_name="Devon and Cornwall Police",
        store_force_id=store_force,
        rules=rules,
        rules_version=3,
        repeat_offender=repeat,
    )


def failed(ev):
    return {r.rule: r.sentence for r in ev.results if not r.passed}


def test_value_exactly_at_the_minimum_is_eligible_and_one_penny_below_is_not():
    assert run(incident()).eligible
    below = run(incident(total_value={"amount_minor": 9999, "currency": "GBP"}))
    assert not below.eligible
    assert "below the force's minimum of £100.00" in failed(below)["seriousness"]
    assert "£99.99" in failed(below)["seriousness"]


def test_violence_overrides_the_value_but_not_the_evidence_rules():
    cheap = incident(total_value={"amount_minor": 250, "currency": "GBP"}, flags={"violence": True})
    ev = run(cheap)
    assert ev.eligible
    assert "violence" in next(r.sentence for r in ev.results if r.rule == "seriousness")
    assert failed(run(cheap, evidence=[])).keys() == {"cctv", "suspect_image"}


def test_repeat_offender_meets_the_value_rule():
    low = incident(total_value={"amount_minor": 500, "currency": "GBP"})
    assert not run(low).eligible
    assert run(low, repeat=True).eligible


def test_store_outside_the_force_fails_with_a_reason():
    ev = run(incident(), store_force="avon-and-somerset")
    assert failed(ev) == {
        "store_in_force_area": "The store is not in Devon and Cornwall Police's area: the report goes to the force whose area holds the store."
    }


def test_missing_statement_and_prosecution_support_each_say_what_to_do():
    ev = run(incident(witnesses=[{"name": "Customer", "statement": "Saw it", "is_reporter": False}], prosecution_supported=False))
    reasons = failed(ev)
    assert reasons["reporter_statement"] == "Add your own witness statement, marked as the reporter's statement."
    assert reasons["prosecution_support"].startswith("Confirm that your organisation supports prosecution")
    assert ev.reasons == list(reasons.values())


def test_every_rule_is_listed_with_pass_or_fail_and_the_version():
    ev = run(incident(), evidence=[])
    assert [r.rule for r in ev.results] == [
        "force_participates",
        "store_in_force_area",
        "retailer_enrolled",
        "seriousness",
        "cctv",
        "suspect_image",
        "reporter_statement",
        "prosecution_support",
    ]
    assert failed(ev)["cctv"] == "Attach CCTV covering the whole incident."
    assert ev.as_dict()["rules_version"] == 3


def test_force_without_rules_and_unenrolled_retailer():
    none = run(incident(), rules=None)
    assert not none.eligible and "does not take direct reports" in none.reasons[0]
    other = run(incident(organisation_id="contoso"))
    assert set(failed(other)) == {"retailer_enrolled"}


def test_categories_outside_the_rules_need_a_flag():
    asb = run(incident(category="anti_social_behaviour", total_value=None))
    assert "does not take anti-social behaviour reports directly" in failed(asb)["seriousness"]
    assert run(incident(category="anti_social_behaviour", total_value=None, flags={"threats": True})).eligible
    assert run(incident(category="criminal_damage", total_value=None)).eligible
    assert run(incident(category="robbery", total_value=None)).eligible


def test_goods_valued_in_another_currency_are_explained():
    ev = run(incident(total_value={"amount_minor": 50000, "currency": "EUR"}))
    assert failed(ev)["seriousness"].startswith("Value the goods in GBP")
