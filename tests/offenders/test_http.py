"""Persons of interest over HTTP: listing criteria, suggestions confirmed or rejected,
changes under If-Match, reviews, revert, and nothing of it for another organisation."""

from __future__ import annotations

from datetime import timedelta

API = "/api/v1"
INV = ("northwind", "Retailer.Investigator")


def report(
    stamp,
    *,
    occurred_at: str = "2026-11-20T14:32:00+00:00",
    violence: bool = False,
    person: dict | None = None,
    plate: str = "WR21 XKD",
    amount: int = 499,
) -> dict:
    body = {
        **stamp.example("IncidentIn"),
        "occurred_at": occurred_at,
        "flags": {"violence": violence},
        "goods": [{"description": "Razor blades", "quantity": 1, "unit_value": {"amount_minor": amount, "currency": "GBP"}}],
        "persons": [person or {"role": "suspect", "name": "Jamie Doyle", "date_of_birth": "1990-04-12"}],
        "vehicles": [{"plate": plate}],
    }
    r = stamp.client.post(f"{API}/incidents", json=body, headers=stamp.auth(*INV))
    assert r.status_code == 201, r.text
    return r.json()


def list_person(stamp, incidents: list[dict], **extra):
    """List the first person of the first incident, with the others' first persons as links."""
    body = {
        "links": [{"incident_id": i["id"], "person_index": 0} for i in incidents[1:]],
        "listing_reason": "Repeat thefts from Plymouth this month",
        **extra,
    }
    return stamp.client.post(f"{API}/incidents/{incidents[0]['id']}/persons/0/listing", json=body, headers=stamp.auth(*INV))


def test_single_low_value_incident_is_refused_naming_the_criterion_and_nothing_is_written(stamp):
    one = report(stamp)
    h = stamp.auth(*INV)
    r = list_person(stamp, [one])
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "Listing criteria not met" in r.json()["detail"]
    assert r.json()["errors"][0]["criterion"] == "repeat_or_serious"
    assert stamp.client.get(f"{API}/offenders", headers=h).json()["items"] == []
    # The incident was not touched either.
    assert stamp.client.get(f"{API}/incidents/{one['id']}", headers=h).json()["version"] == 1


def test_one_violent_incident_meets_the_criteria_and_bad_dates_are_refused(stamp):
    violent = report(stamp, violence=True)
    far = (stamp.clock.now() + timedelta(days=400)).isoformat()
    r = list_person(stamp, [violent], review_at=far)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "review_at"
    r = list_person(stamp, [violent], expires_at=(stamp.clock.now() + timedelta(days=800)).isoformat())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "expires_at"
    r = list_person(stamp, [violent])
    assert r.status_code == 201, r.text
    assert r.json()["in_force"] and r.json()["plates"] == ["WR21XKD"]


def test_suggestion_confirmed_then_listed_and_contoso_sees_nothing(stamp):
    """The issue's done-when for persons of interest, through the API."""
    first = report(stamp, occurred_at="2026-11-10T10:00:00+00:00")
    second = report(stamp)
    h = stamp.auth(*INV)
    found = stamp.client.get(f"{API}/offenders/suggestions", headers=h)
    assert found.status_code == 200, found.text
    mine = [s for s in found.json()["items"] if s["incident_id"] == second["id"]]
    assert len(mine) == 1
    suggestion = mine[0]
    assert suggestion["offender_id"] == first["persons"][0]["offender_id"] and not suggestion["profile"]
    kinds = {r["kind"] for r in suggestion["reasons"]}
    assert kinds == {"name_and_date_of_birth", "plate"}
    assert all(sorted([first["id"], second["id"]]) == r["incident_ids"] for r in suggestion["reasons"])
    # Contoso's investigator sees no suggestion of northwind's, and cannot confirm one.
    ct = stamp.auth("contoso", "Retailer.Investigator")
    assert stamp.client.get(f"{API}/offenders/suggestions", headers=ct).json()["items"] == []
    assert stamp.client.post(f"{API}/offenders/suggestions/{suggestion['id']}/confirm", headers=ct).status_code == 404

    r = stamp.client.post(f"{API}/offenders/suggestions/{suggestion['id']}/confirm", headers=h)
    assert r.status_code == 200, r.text
    linked = stamp.client.get(f"{API}/incidents/{second['id']}", headers=h).json()
    assert linked["persons"][0]["offender_id"] == suggestion["offender_id"] and linked["version"] == 2
    # Confirmed: no longer suggested.
    assert stamp.client.get(f"{API}/offenders/suggestions", params={"incident_id": second["id"]}, headers=h).json()["items"] == []

    r = list_person(stamp, [first, second])
    assert r.status_code == 201, r.text
    profile = r.json()
    assert profile["id"] == suggestion["offender_id"] and profile["status"] == "listed" and profile["listing_reason"]
    assert r.headers["Location"].endswith(profile["id"])
    assert stamp.client.get(f"{API}/offenders/{profile['id']}", headers=h).json()["name"] == "Jamie Doyle"
    assert stamp.client.get(f"{API}/offenders/{profile['id']}", headers=ct).status_code == 404
    assert stamp.client.get(f"{API}/offenders", headers=ct).json()["items"] == []
    listed = stamp.client.get(f"{API}/offenders", params={"plate": "wr21 xkd"}, headers=h).json()["items"]
    assert [p["id"] for p in listed] == [profile["id"]]


def test_rejected_suggestion_is_not_made_again(stamp):
    report(stamp, occurred_at="2026-11-10T10:00:00+00:00")
    second = report(stamp)
    h = stamp.auth(*INV)
    [suggestion] = stamp.client.get(f"{API}/offenders/suggestions", params={"incident_id": second["id"]}, headers=h).json()["items"]
    assert stamp.client.post(f"{API}/offenders/suggestions/{suggestion['id']}/reject", headers=h).status_code == 200
    assert stamp.client.get(f"{API}/offenders/suggestions", params={"incident_id": second["id"]}, headers=h).json()["items"] == []
    assert stamp.client.post(f"{API}/offenders/suggestions/{suggestion['id']}/confirm", headers=h).status_code == 404
    assert stamp.client.get(f"{API}/incidents/{second['id']}", headers=h).json()["version"] == 1


def test_close_description_at_the_same_store_is_suggested_with_the_words(stamp):
    look = {
        "role": "suspect",
        "description": {"hair": "ginger ponytail", "clothing": "camouflage jacket", "distinguishing_marks": "spider tattoo neck"},
    }
    first = report(stamp, occurred_at="2026-11-10T10:00:00+00:00", person=look, plate="AB12 CDE")
    second = report(stamp, person=look, plate="XY34 ZZZ")
    h = stamp.auth(*INV)
    [s] = stamp.client.get(f"{API}/offenders/suggestions", params={"incident_id": second["id"]}, headers=h).json()["items"]
    assert s["offender_id"] == first["persons"][0]["offender_id"]
    [reason] = s["reasons"]
    assert reason["kind"] == "description" and {"ginger", "ponytail", "camouflage", "spider", "tattoo"} <= set(reason["fields"])


def test_change_needs_the_current_etag_and_revert_restores_details(stamp):
    first = report(stamp, violence=True)
    h = stamp.auth(*INV)
    created = list_person(stamp, [first], description="Grey hoodie")
    pid, etag = created.json()["id"], created.headers["ETag"]
    url = f"{API}/offenders/{pid}"
    assert stamp.client.patch(url, json={"description": "Black coat"}, headers=h).status_code == 428
    assert stamp.client.patch(url, json={"description": "Black coat"}, headers={**h, "If-Match": '"stale"'}).status_code == 412
    changed = stamp.client.patch(url, json={"description": "Black coat", "aliases": ["JD"]}, headers={**h, "If-Match": etag})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    reverted = stamp.client.post(f"{url}/revert", json={"version": 1}, headers={**h, "If-Match": changed.headers["ETag"]})
    assert reverted.status_code == 200, reverted.text
    assert reverted.json()["description"] == "Grey hoodie" and reverted.json()["aliases"] == [] and reverted.json()["version"] == 3
    notes = [v["note"] for v in stamp.client.get(f"{url}/versions", headers=h).json()["items"]]
    assert notes[0].startswith("listed (serious") and notes[1:] == ["changed", "reverted to 1"]


def test_listing_lapses_at_its_review_date_until_reviewed(stamp):
    first = report(stamp, violence=True)
    h = stamp.auth(*INV)
    created = list_person(stamp, [first]).json()
    stamp.clock.current = stamp.clock.current + timedelta(days=200)  # past the default six-month review
    got = stamp.client.get(f"{API}/offenders/{created['id']}", headers=h)
    assert not got.json()["in_force"] and got.json()["review_overdue"]
    due = stamp.client.get(f"{API}/offenders", params={"due_for_review": "true"}, headers=h).json()["items"]
    assert [p["id"] for p in due] == [created["id"]]
    # The one incident is now over 6 months old but within 12: upheld with a new review date.
    reviewed = stamp.client.post(
        f"{API}/offenders/{created['id']}/review",
        json={"outcome": "upheld", "note": "Still active"},
        headers={**h, "If-Match": got.headers["ETag"]},
    )
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["in_force"] and not reviewed.json()["review_overdue"]
