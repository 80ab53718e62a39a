"""Referrals to the national unit, end to end through the API: graded series accepted,
ungraded ones refused naming what is missing (nothing stored), sanitisation by handling
code and sharing level, minors kept in their organisation, the unit's workflow and what
the referrer sees, and that opal sees nothing else."""

from __future__ import annotations

from shared.records import REFERRALS
from tests.fixtures_http import both_backends
from tests.referrals.helpers import AS, DC, GRADED, INV, PREFIX, list_person, refer, referable_incident, series

NUO = ("opal", "NationalUnit.Officer")
NUA = ("opal", "NationalUnit.Analyst")
PURPOSE = "Opal checking what it can read"


def _stored(stamp) -> int:
    with stamp.container.records.read_only() as uow:
        return uow.count(REFERRALS.name, ["opal"], [])


@both_backends
def test_graded_referral_accepted_ungraded_refused_and_opal_sees_nothing_else(stamp):
    incident = referable_incident(stamp)

    # Without a grading on the incident and a handling code on the pointer: refused, naming each.
    ungraded = series(incident)
    ungraded["incidents"][0].pop("grading")
    ungraded["other_forces"][0]["grading"] = {"source_evaluation": "2", "intelligence_assessment": "C"}
    r = stamp.client.post(f"{PREFIX}/referrals", json=ungraded, headers=stamp.auth(*INV))
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert f"incidents[0] ({incident['reference']}) has no 3x5x2 grading" in problem["detail"]
    assert "other_forces[0] (avon-and-somerset AS/2026/5531) has no handling code (P or C)" in problem["detail"]
    assert {e["field"] for e in problem["errors"]} == {"incidents[0].grading", "other_forces[0].grading.handling_code"}
    assert _stored(stamp) == 0

    # Graded: made, and opal accepts it.
    made = refer(stamp, series(incident))
    assert made["status"] == "submitted" and made["force_ids"] == [AS, DC]
    (entry,) = made["incidents"]
    assert entry["crime_references"] == ["DC/2026/118734"] and entry["grading"]["code"] == "1B P"
    assert {e["kind"] for e in entry["evidence"]} == {"cctv", "suspect_image"} and all(len(e["sha256"]) == 64 for e in entry["evidence"])
    intake = stamp.client.get(f"{PREFIX}/referrals", headers=stamp.auth(*NUO)).json()
    assert [i["id"] for i in intake["items"]] == [made["id"]]
    r = stamp.client.post(f"{PREFIX}/referrals/{made['id']}/accept", json={"note": "Taken on as op 26/114."}, headers=stamp.auth(*NUO))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted" and r.json()["version"] == 2

    # The referrer sees it accepted, with the unit's note.
    mine = stamp.client.get(f"{PREFIX}/referrals/{made['id']}", headers=stamp.auth(*INV)).json()
    assert mine["status"] == "accepted" and mine["status_words"] == "Accepted by the unit"
    assert mine["history"][-1]["note"] == "Taken on as op 26/114." and mine["history"][-1]["by_org"] == "opal"

    # Opal sees nothing else: the incident itself, a search, its D2P status are all refused.
    for url in (f"{PREFIX}/incidents", f"{PREFIX}/incidents/{incident['id']}", f"{PREFIX}/incidents/{incident['id']}/d2p"):
        assert stamp.client.get(url, params={"purpose": PURPOSE}, headers=stamp.auth(*NUA)).status_code == 403
    # And nobody else sees the referral: another retailer, another force, another unit.
    for who in (("contoso", "Retailer.Investigator"), (AS, "Police.Officer"), (DC, "Police.Analyst")):
        assert stamp.client.get(f"{PREFIX}/referrals/{made['id']}", headers=stamp.auth(*who)).status_code == 404
        assert stamp.client.get(f"{PREFIX}/referrals", headers=stamp.auth(*who)).json()["items"] == []


def test_crime_reference_and_series_rules(stamp):
    from tests.d2p.helpers import report

    bare = report(stamp)
    body = series(bare, other_forces=[])
    r = stamp.client.post(f"{PREFIX}/referrals", json=body, headers=stamp.auth(*INV))
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert f"incidents[0] ({bare['reference']}) has no crime reference" in detail
    assert "at least two forces' areas" in detail
    # An incident the referrer cannot see is named as such, and nothing is stored.
    body = series(bare)
    body["incidents"].append({"incident_id": "contoso-0123456789abcdef0123456789abcdef", "grading": dict(GRADED)})
    r = stamp.client.post(f"{PREFIX}/referrals", json=body, headers=stamp.auth(*INV))
    assert (
        r.status_code == 422
        and "incidents[1]: incident contoso-0123456789abcdef0123456789abcdef is not one you can see" in r.json()["detail"]
    )
    # Not a unit.
    r = stamp.client.post(f"{PREFIX}/referrals", json=series(bare, unit_id="devon-and-cornwall"), headers=stamp.auth(*INV))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "unit_id"
    assert _stored(stamp) == 0


def test_handling_code_c_conditions_and_withheld_items(stamp):
    incident = referable_incident(stamp, vehicles=[{"plate": "WX19 ABC"}])
    body = series(incident)
    body["vehicles"] = [{"plate": "wx19abc", "grading": {**GRADED, "handling_code": "C"}}]
    r = stamp.client.post(f"{PREFIX}/referrals", json=body, headers=stamp.auth(*INV))
    assert r.status_code == 422 and "vehicles[0] (WX19ABC) has handling code C but no conditions." in r.json()["detail"]

    conditions = "Not to be used in evidence without Northwind's consent."
    body["vehicles"] = [
        {"plate": "wx19abc", "grading": {**GRADED, "handling_code": "C", "conditions": conditions, "onward_sharing": False}}
    ]
    body["incidents"][0]["grading"] = {**GRADED, "handling_code": "C", "conditions": conditions}
    made = refer(stamp, body)
    # The referrer sees what it held back; the unit only how many, never the plate.
    assert made["withheld_count"] == 1 and made["withheld"][0]["ref"] == "WX19ABC" and made["vehicles"] == []
    unit_view = stamp.client.get(f"{PREFIX}/referrals/{made['id']}", headers=stamp.auth(*NUO))
    assert unit_view.status_code == 200
    seen = unit_view.json()
    assert seen["withheld"] is None and seen["withheld_count"] == 1 and "WX19ABC" not in unit_view.text
    assert seen["incidents"][0]["grading"]["conditions"] == conditions and seen["incidents"][0]["grading"]["code"] == "1B C"


def test_persons_minors_and_names_below_full(stamp):
    incident = referable_incident(
        stamp,
        persons=[
            {"role": "offender", "name": "Jamie Doyle", "date_of_birth": "1990-04-12"},
            {"role": "accomplice", "name": "Young Person", "date_of_birth": "2012-01-01"},
        ],
    )
    adult, minor = (p["offender_id"] for p in incident["persons"])
    list_person(stamp, "northwind", adult)
    list_person(stamp, "northwind", minor, name="Young Person", date_of_birth="2012-01-01")
    body = series(incident, persons=[{"offender_id": adult, "grading": dict(GRADED)}, {"offender_id": minor, "grading": dict(GRADED)}])
    r = stamp.client.post(f"{PREFIX}/referrals", json=body, headers=stamp.auth(*INV))
    assert r.status_code == 422 and f"persons[1] ({minor}) may not leave northwind" in r.json()["detail"]
    assert "Young Person" not in r.text
    # The owner refers its own listed adult by name.
    made = refer(stamp, series(incident, persons=[{"offender_id": adult, "grading": dict(GRADED)}]))
    assert made["persons"][0]["name"] == "Jamie Doyle" and made["persons"][0]["incident_ids"] == [incident["id"]]

    # A force passing on northwind's incident: names go only at `full` sharing. Northwind
    # shares in full with devon-and-cornwall, so drop it to descriptions and refer again.
    from shared.records import SHARING

    with stamp.container.records.unit_of_work() as uow:
        doc = uow.get(SHARING.name, "_platform", "northwind>devon-and-cornwall")
        uow.replace(
            SHARING.name,
            "_platform",
            {**{k: v for k, v in doc.items() if not k.startswith("_")}, "level": "descriptions"},
            if_match=doc["_etag"],
        )
    stamp.container.directory.invalidate()
    by_force = refer(stamp, series(incident, persons=[{"offender_id": adult, "grading": dict(GRADED)}]), who=(DC, "Police.Analyst"))
    person = by_force["persons"][0]
    assert person["name"] is None and person["date_of_birth"] is None and person["aliases"] == []
    assert person["description"].startswith("Slim")
    # Northwind's own trail says its incident went to opal through the force.
    entries = stamp.container.audit.entries("northwind", entity=f"referral/{by_force['id']}", limit=10, continuation=None)[0]
    assert any(e["action"] == "disclosure" and e["recipient_org"] == "opal" and e["actor_org"] == DC for e in entries)


def test_questions_answers_and_lead_force(stamp):
    incident = referable_incident(stamp)
    made = refer(stamp, series(incident))
    url = f"{PREFIX}/referrals/{made['id']}"
    # Only the unit decides; the referrer cannot accept its own referral.
    assert stamp.client.post(f"{url}/accept", json={}, headers=stamp.auth(*INV)).status_code == 403
    asked = stamp.client.post(f"{url}/questions", json={"question": "Is there CCTV of the plate?"}, headers=stamp.auth(*NUA))
    assert asked.status_code == 200 and asked.json()["status"] == "information_requested"
    # Another unit is told it does not exist; the unit cannot answer its own question.
    other = stamp.client.post(f"{url}/answer", json={"answer": "x"}, headers=stamp.auth(*NUO))
    assert other.status_code == 403
    assert stamp.client.post(f"{url}/accept", json={}, headers=stamp.auth(*NUO)).status_code == 409
    answered = stamp.client.post(f"{url}/answer", json={"answer": "Yes: exhibit NW/4."}, headers=stamp.auth(*INV))
    assert answered.status_code == 200 and answered.json()["status"] == "submitted"
    assert answered.json()["questions"][0]["answer"] == "Yes: exhibit NW/4."
    # A lead force must be one in the series.
    bad = stamp.client.post(f"{url}/lead-force", json={"force_id": "thames-valley"}, headers=stamp.auth(*NUO))
    assert bad.status_code == 422
    lead = stamp.client.post(f"{url}/lead-force", json={"force_id": DC, "note": "Most offences in its area."}, headers=stamp.auth(*NUO))
    assert lead.status_code == 200 and lead.json()["lead_force_id"] == DC and lead.json()["version"] == 4
    mine = stamp.client.get(url, headers=stamp.auth(*INV)).json()
    assert mine["status"] == "lead_force_allocated" and [h["status"] for h in mine["history"]] == [
        "submitted",
        "information_requested",
        "submitted",
        "lead_force_allocated",
    ]
    # Every step in the unit's audit trail, and the read too.
    ops = [e["operation"] for e in stamp.container.audit.entries("opal", entity=f"referral/{made['id']}", limit=20, continuation=None)[0]]
    assert {"referral.create", "referral.ask", "referral.answer", "referral.allocate"} <= set(ops)


def test_incidents_named_by_crime_reference(stamp):
    incident = referable_incident(stamp, crime_reference="DC/2026/555001")
    body = series(incident)
    body["incidents"] = [{"crime_reference": "DC/2026/555001", "grading": dict(GRADED)}]
    made = refer(stamp, body, who=(DC, "Police.Officer"))
    assert made["incidents"][0]["incident_id"] == incident["id"] and made["referrer_org"] == DC
    body["incidents"] = [{"crime_reference": "DC/2026/999999", "grading": dict(GRADED)}]
    r = stamp.client.post(f"{PREFIX}/referrals", json=body, headers=stamp.auth(*INV))
    assert r.status_code == 422 and "crime reference DC/2026/999999 names no report you hold" in r.json()["detail"]
    # Both names, or neither, is a malformed item.
    body["incidents"] = [{"incident_id": incident["id"], "crime_reference": "DC/2026/555001", "grading": dict(GRADED)}]
    assert stamp.client.post(f"{PREFIX}/referrals", json=body, headers=stamp.auth(*INV)).status_code == 422


def test_a_retry_with_the_same_key_answers_the_first_referral(stamp):
    incident = referable_incident(stamp)
    headers = {**stamp.auth(*INV), "Idempotency-Key": "opal-series-1"}
    first = stamp.client.post(f"{PREFIX}/referrals", json=series(incident), headers=headers)
    again = stamp.client.post(f"{PREFIX}/referrals", json=series(incident), headers=headers)
    assert first.status_code == 201 and again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"] and _stored(stamp) == 1
    # The same key for a different referral is refused, not silently answered with the first.
    other = stamp.client.post(f"{PREFIX}/referrals", json=series(incident, title="Another series"), headers=headers)
    assert other.status_code == 422 and _stored(stamp) == 1


def test_a_retailer_refers_its_own_incidents_in_two_forces_areas(stamp):
    """The whole path with no pointer: northwind's stores in two areas, each report
    acknowledged by its own force, referred by northwind's investigator."""
    from shared.domain.tenancy import Store
    from shared.services.seed import SEED_OPERATOR

    stamp.container.onboarding.stores.put(
        SEED_OPERATOR,
        Store(
            id="nw-taunton",
            organisation_id="northwind",
            name="Northwind Taunton",
            address="1 Fore Street, Taunton",
            postcode="TA1 1HN",
            force_id=AS,
        ),
        None,
    )
    admin = stamp.auth(AS, "Police.Admin")
    rules_url = f"{PREFIX}/forces/{AS}/d2p-rules"
    current = stamp.client.get(rules_url, headers=admin)
    rules = current.json()["rules"]
    rules["enrolled_retailers"] = sorted({*rules["enrolled_retailers"], "northwind"})
    assert stamp.client.put(rules_url, json=rules, headers={**admin, "If-Match": current.headers["etag"]}).status_code == 200

    plymouth = referable_incident(stamp, crime_reference="DC/2026/900001")
    taunton = referable_incident(stamp, crime_reference="AS/2026/900002", store_id="nw-taunton", acknowledged_by=AS)
    body = series(plymouth, other_forces=[])
    body["incidents"].append({"crime_reference": "AS/2026/900002", "grading": dict(GRADED)})
    made = refer(stamp, body)
    assert made["force_ids"] == [AS, DC]
    assert [(e["reference"], e["crime_references"]) for e in made["incidents"]] == [
        (plymouth["reference"], ["DC/2026/900001"]),
        (taunton["reference"], ["AS/2026/900002"]),
    ]
    lead = stamp.client.post(f"{PREFIX}/referrals/{made['id']}/lead-force", json={"force_id": AS}, headers=stamp.auth(*NUO))
    assert lead.status_code == 200 and lead.json()["lead_force_id"] == AS


def test_every_problem_with_persons_vehicles_and_pointers_is_named_at_once(stamp):
    incident = referable_incident(stamp, persons=[{"role": "offender", "name": "Jamie Doyle", "date_of_birth": "1990-04-12"}])
    unlisted = incident["persons"][0]["offender_id"]
    body = series(incident)
    body["incidents"].append({"incident_id": incident["id"], "grading": dict(GRADED)})
    body["persons"] = [
        {"offender_id": unlisted, "grading": dict(GRADED)},
        {"offender_id": unlisted, "grading": dict(GRADED)},
        {"offender_id": "off-nowhere", "grading": dict(GRADED)},
    ]
    body["vehicles"] = [
        {"plate": "!!", "grading": dict(GRADED)},
        {"plate": "WR21 XKD", "grading": dict(GRADED)},
        {"plate": "wr21xkd", "grading": dict(GRADED)},
        {"plate": "ZZ99ZZZ", "grading": dict(GRADED)},
    ]
    body["other_forces"].append({"force_id": "contoso", "crime_reference": "CT/1/2026", "grading": dict(GRADED)})
    r = stamp.client.post(f"{PREFIX}/referrals", json=body, headers=stamp.auth(*INV))
    assert r.status_code == 422
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields == [
        "incidents[1]",
        "persons[0].offender_id",
        "persons[1].offender_id",
        "persons[2].offender_id",
        "vehicles[0].plate",
        "vehicles[2].plate",
        "vehicles[3].plate",
        "other_forces[1].force_id",
    ]
    detail = r.json()["detail"]
    assert f"persons[0] ({unlisted}) may not leave northwind" in detail and "persons[2] (off-nowhere) is named in none" in detail
    assert "vehicles[3] (ZZ99ZZZ) is recorded on none of the referral's incidents" in detail
    assert "contoso is not a police force" in detail
    assert _stored(stamp) == 0


def test_items_held_back_by_their_source_never_reach_the_unit(stamp):
    incident = referable_incident(
        stamp,
        persons=[{"role": "offender", "name": "Jamie Doyle", "date_of_birth": "1990-04-12"}],
        vehicles=[{"plate": "WX19ABC"}],
    )
    person = incident["persons"][0]["offender_id"]
    list_person(stamp, "northwind", person)
    held = {**GRADED, "handling_code": "C", "conditions": "Source protection: not for onward sharing.", "onward_sharing": False}
    second = referable_incident(stamp, crime_reference="DC/2026/118735")
    body = series(incident)
    body["incidents"].append({"incident_id": second["id"], "grading": dict(held)})
    body["persons"] = [{"offender_id": person, "grading": dict(held)}]
    body["vehicles"] = [{"plate": "WX19ABC", "grading": dict(GRADED)}]
    body["other_forces"].append({"force_id": DC, "crime_reference": "DC/2026/1", "grading": dict(held)})
    made = refer(stamp, body)
    assert sorted((w["kind"], w["ref"]) for w in made["withheld"]) == sorted(
        [("incident", second["id"]), ("person", person), ("force", f"{DC}:DC/2026/1")]
    )
    assert [e["incident_id"] for e in made["incidents"]] == [incident["id"]] and made["persons"] == []
    assert made["vehicles"][0]["plate"] == "WX19ABC"
    seen = stamp.client.get(f"{PREFIX}/referrals/{made['id']}", headers=stamp.auth(*NUO))
    assert seen.json()["withheld_count"] == 3 and second["id"] not in seen.text and "Jamie Doyle" not in seen.text
    # A person known only from a held-back incident is held back with it.
    only_held = series(incident)
    only_held["incidents"] = [
        {"incident_id": incident["id"], "grading": dict(held)},
        {"incident_id": second["id"], "grading": dict(GRADED)},
    ]
    only_held["persons"] = [{"offender_id": person, "grading": dict(GRADED)}]
    made = refer(stamp, only_held)
    assert made["persons"] == [] and ("person", person) in [(w["kind"], w["ref"]) for w in made["withheld"]]
