"""Incident intake over HTTP, as a retailer app and a force would use it."""

from __future__ import annotations


def report(stamp, org="northwind", role="Retailer.Reporter", **overrides):
    body = stamp.example("IncidentIn")
    body.update(overrides)
    return stamp.client.post("/api/v1/incidents", json=body, headers=stamp.auth(org, role))


def test_report_gives_reference_etag_and_location(stamp):
    r = report(stamp)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["reference"] == "NW-000001"
    assert r.headers["etag"] == body["etag"]
    assert r.headers["location"] == f"/api/v1/incidents/{body['id']}"
    assert body["force_id"] == "devon-and-cornwall"
    assert body["total_value"] == {"amount_minor": 6 * 2899, "currency": "GBP"}
    assert body["vehicles"][0]["plate_normalised"] == "WR21XKD"
    assert report(stamp).json()["reference"] == "NW-000002"


def test_other_organisations_get_404_never_content(stamp):
    incident = report(stamp).json()
    for org, role in [("contoso", "Retailer.Investigator"), ("avon-and-somerset", "Police.Officer")]:
        r = stamp.client.get(
            f"/api/v1/incidents/{incident['id']}", params={"purpose": "crime report follow-up"}, headers=stamp.auth(org, role)
        )
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert incident["narrative"] not in r.text


def test_other_region_gets_421_with_home_url_and_writes_nothing(stamp):
    body = stamp.example("IncidentIn")
    r = stamp.client.post("/api/v1/incidents", json=body, headers=stamp.auth("koala-mart", "Retailer.Reporter"))
    assert r.status_code == 421
    assert r.json()["home_region"] == "au" and r.json()["home_base_url"].startswith("https://au.")
    with stamp.container.records.unit_of_work() as uow:
        assert uow.count("incidents", ["koala-mart"]) == 0
        assert uow.count("audit", ["koala-mart"]) == 0


def test_idempotent_replay_and_reuse_with_other_body(stamp):
    body = stamp.example("IncidentIn")
    h = {**stamp.auth("northwind", "Retailer.Reporter"), "Idempotency-Key": "till-7-2026-11-20-001"}
    first = stamp.client.post("/api/v1/incidents", json=body, headers=h)
    again = stamp.client.post("/api/v1/incidents", json=body, headers=h)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = stamp.client.post("/api/v1/incidents", json={**body, "narrative": "something else"}, headers=h)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]


def test_patch_needs_if_match_and_catches_stale_etag(stamp):
    created = report(stamp).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    url = f"/api/v1/incidents/{created['id']}"
    assert stamp.client.patch(url, json={"narrative": "x"}, headers=inv).status_code == 428
    ok = stamp.client.patch(url, json={"narrative": "Suspect identified on CCTV."}, headers={**inv, "If-Match": created["etag"]})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = stamp.client.patch(url, json={"narrative": "y"}, headers={**inv, "If-Match": created["etag"]})
    assert stale.status_code == 412
    assert stamp.client.get(url, headers=inv).json()["narrative"] == "Suspect identified on CCTV."


def test_history_and_revert(stamp):
    created = report(stamp).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    url = f"/api/v1/incidents/{created['id']}"
    changed = stamp.client.patch(url, json={"narrative": "Wrong narrative"}, headers={**inv, "If-Match": created["etag"]}).json()
    reverted = stamp.client.post(url + "/revert", json={"version": 1}, headers={**inv, "If-Match": changed["etag"]})
    assert reverted.status_code == 200, reverted.text
    assert reverted.json()["narrative"] == created["narrative"] and reverted.json()["version"] == 3
    history = stamp.client.get(url + "/history", headers=inv).json()["items"]
    assert [v["version"] for v in history] == [1, 2, 3]
    assert history[2]["note"] == "reverted to 1"


def test_special_category_and_unknown_fields_rejected(stamp):
    r = report(stamp, ethnicity="x")
    assert r.status_code == 422 and "special category" in r.json()["detail"]
    body = stamp.example("IncidentIn")
    body["persons"] = [{"role": "suspect", "religion": "x"}]
    r = stamp.client.post("/api/v1/incidents", json=body, headers=stamp.auth("northwind", "Retailer.Reporter"))
    assert r.status_code == 422
    r = report(stamp, colour_of_car="red")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "colour_of_car"
    with stamp.container.records.unit_of_work() as uow:
        assert uow.count("incidents", ["northwind"]) == 0


def test_minor_never_shared_with_force_through_sharing(stamp):
    r = report(
        stamp,
        persons=[{"role": "suspect", "name": "Jo Bloggs", "date_of_birth": "2011-03-04"}, {"role": "accomplice", "name": "Adult Person"}],
    )
    incident = r.json()
    assert incident["has_minor"] is True
    police = stamp.client.get(
        f"/api/v1/incidents/{incident['id']}",
        params={"purpose": "shoplifting enquiry"},
        headers=stamp.auth("devon-and-cornwall", "Police.Officer"),
    )
    assert police.status_code == 200
    assert "Jo Bloggs" not in police.text and police.json()["persons_withheld"] == 1


def test_a_force_reading_one_incident_states_its_purpose_and_it_is_audited(stamp):
    incident = report(stamp).json()
    url = f"/api/v1/incidents/{incident['id']}"
    police = stamp.auth("devon-and-cornwall", "Police.Officer")
    refused = stamp.client.get(url, headers=police)
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0]["field"] == "purpose" and incident["narrative"] not in refused.text
    assert stamp.client.get(url, params={"purpose": "shoplifting enquiry 4471"}, headers=police).status_code == 200
    # The owner reads its own incident without stating why, as before.
    assert stamp.client.get(url, headers=stamp.auth("northwind", "Retailer.Investigator")).status_code == 200
    admin = stamp.auth("northwind", "Retailer.Admin")
    trail = stamp.client.get("/api/v1/audit", params={"entity": f"incident/{incident['id']}"}, headers=admin).json()["items"]
    disclosures = [e for e in trail if e["action"] == "disclosure" and e["operation"] == "incident.read"]
    assert [(e["recipient_org"], e["purpose"]) for e in disclosures] == [("devon-and-cornwall", "shoplifting enquiry 4471")]


def test_search_filters_and_pages(stamp):
    for i in range(5):
        report(stamp, occurred_at=f"2026-11-1{i}T10:00:00+00:00", vehicles=[{"plate": f"AB{i}2 CDE"}])
    inv = stamp.auth("northwind", "Retailer.Investigator")
    first = stamp.client.get("/api/v1/incidents", params={"limit": 2}, headers=inv).json()
    assert [i["occurred_at"][:10] for i in first["items"]] == ["2026-11-14", "2026-11-13"]
    second = stamp.client.get("/api/v1/incidents", params={"limit": 2, "continuation": first["continuation"]}, headers=inv).json()
    assert [i["occurred_at"][:10] for i in second["items"]] == ["2026-11-12", "2026-11-11"]
    by_plate = stamp.client.get("/api/v1/incidents", params={"plate": "ab3-2cde"}, headers=inv).json()["items"]
    assert len(by_plate) == 1 and by_plate[0]["vehicles"][0]["plate_normalised"] == "AB32CDE"
    ranged = stamp.client.get(
        "/api/v1/incidents", params={"from": "2026-11-12T00:00:00+00:00", "to": "2026-11-14T00:00:00+00:00"}, headers=inv
    ).json()["items"]
    assert len(ranged) == 2
    assert stamp.client.get("/api/v1/incidents", params={"continuation": "garbage!"}, headers=inv).status_code == 422
    assert stamp.client.get("/api/v1/incidents", params={"limit": 1000}, headers=inv).status_code == 422


def test_find_by_reference_and_unknown_filters_refused(stamp):
    """Police know an incident by the reference in the D2P email subject; a filter the route
    does not take (`store_id`, a misspelt `store`) is refused, never ignored."""
    first, second = report(stamp).json(), report(stamp).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    found = stamp.client.get("/api/v1/incidents", params={"reference": second["reference"]}, headers=inv).json()["items"]
    assert [i["id"] for i in found] == [second["id"]] and second["reference"] == "NW-000002"
    assert stamp.client.get("/api/v1/incidents", params={"reference": "NW-999999"}, headers=inv).json()["items"] == []
    police = stamp.auth("devon-and-cornwall", "Police.Analyst")
    r = stamp.client.get("/api/v1/incidents", params={"reference": first["reference"], "purpose": "D2P report NW-000001"}, headers=police)
    assert [i["id"] for i in r.json()["items"]] == [first["id"]]
    for name in ("store_id", "reference_number"):
        r = stamp.client.get("/api/v1/incidents", params={name: "x"}, headers=inv)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
        assert r.json()["errors"] == [{"field": f"query.{name}", "message": "unknown query parameter"}]
        assert name in r.json()["detail"] and "reference" in r.json()["detail"]  # names it, and what the route takes


def test_police_search_needs_purpose(stamp):
    report(stamp)
    h = stamp.auth("devon-and-cornwall", "Police.Analyst")
    assert stamp.client.get("/api/v1/incidents", headers=h).status_code == 422
    r = stamp.client.get("/api/v1/incidents", params={"purpose": "Investigating series of thefts, op HAWK"}, headers=h)
    assert r.status_code == 200 and len(r.json()["items"]) == 1


def test_patch_null_removes_optional_lists_and_flags_as_merge_patch_says(stamp):
    """RFC 7396: null removes a member. Lists go back to empty and flags to unset; the
    required fields cannot be removed (tests/http/test_bad_input.py)."""
    h = stamp.auth("northwind", "Retailer.Investigator")
    created = stamp.client.post("/api/v1/incidents", json=stamp.example("IncidentIn"), headers=h).json()
    assert created["goods"] and created["vehicles"] and created["flags"]["violence"] is True
    r = stamp.client.patch(
        f"/api/v1/incidents/{created['id']}",
        json={"goods": None, "vehicles": None, "witnesses": None, "persons": None, "flags": None},
        headers={**h, "If-Match": created["etag"]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["goods"] == body["vehicles"] == body["witnesses"] == body["persons"] == []
    assert not any(body["flags"].values())
    # One flag cleared by null, another set, the rest kept.
    r = stamp.client.patch(
        f"/api/v1/incidents/{created['id']}",
        json={"flags": {"weapon": True, "threats": None}},
        headers={**h, "If-Match": r.json()["etag"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["flags"]["weapon"] is True and r.json()["flags"]["threats"] is False


def test_stale_if_match_answers_412_before_the_change_is_validated(stamp):
    """A client working from an old copy hears 412 (read again), even when its change
    would also be invalid against the current version, and nothing is written."""
    created = report(stamp).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    url = f"/api/v1/incidents/{created['id']}"
    current = stamp.client.patch(url, json={"narrative": "Suspect identified on CCTV."}, headers={**inv, "If-Match": created["etag"]})
    assert current.status_code == 200
    two_currencies = {
        "goods": [
            {"description": "Whisky 70cl", "quantity": 1, "unit_value": {"amount_minor": 2899, "currency": "GBP"}},
            {"description": "Gin 70cl", "quantity": 1, "unit_value": {"amount_minor": 2500, "currency": "EUR"}},
        ]
    }
    # The same invalid change with the current ETag is a 422: the stale one must not be.
    assert stamp.client.patch(url, json=two_currencies, headers={**inv, "If-Match": current.json()["etag"]}).status_code == 422
    stale = stamp.client.patch(url, json=two_currencies, headers={**inv, "If-Match": created["etag"]})
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    not_ours = stamp.client.patch(url, json={"store_id": "no-such-store"}, headers={**inv, "If-Match": created["etag"]})
    assert not_ours.status_code == 412
    revert = stamp.client.post(url + "/revert", json={"version": 99}, headers={**inv, "If-Match": created["etag"]})
    assert revert.status_code == 412
    after = stamp.client.get(url, headers=inv)
    assert after.headers["etag"] == current.headers["etag"] and after.json()["version"] == 2
    assert [v["version"] for v in stamp.client.get(url + "/history", headers=inv).json()["items"]] == [1, 2]
