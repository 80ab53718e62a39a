"""Issue 16's done-when for persons of interest on the demo seed: the two northwind
incidents naming the same person and car are suggested as linked, northwind's investigator
confirms and lists the person with a reason; contoso sees nothing of it; a contested
listing is not in force."""

from __future__ import annotations

from shared.domain.offenders import listing_in_force
from shared.services.offenders import profiles_by_ids
from shared.services.seed import seed_demo_persons_of_interest
from tests.retention.helpers import subject_request_body

API = "/api/v1"


def test_demo_suggestion_confirmed_listed_hidden_from_contoso_and_suspended_when_contested(stamp):
    assert seed_demo_persons_of_interest(stamp.container) == 2
    assert seed_demo_persons_of_interest(stamp.container) == 0  # idempotent
    inv = stamp.auth("northwind", "Retailer.Investigator")
    suggestions = stamp.client.get(f"{API}/offenders/suggestions", headers=inv).json()["items"]
    # One pair, suggested from each side: the newer incident's person may be the older one's, and back.
    assert len(suggestions) == 2
    s = suggestions[0]
    assert {r["kind"] for r in s["reasons"]} == {"name_and_date_of_birth", "plate"}
    assert any(r["fields"] == ["plate WK19PZT"] for r in s["reasons"])
    confirmed = stamp.client.post(f"{API}/offenders/suggestions/{s['id']}/confirm", headers=inv)
    assert confirmed.status_code == 200, confirmed.text
    # Linked: nothing more to suggest, from either side.
    assert stamp.client.get(f"{API}/offenders/suggestions", headers=inv).json()["items"] == []
    other = next(i for r in s["reasons"] for i in r["incident_ids"] if i != s["incident_id"])
    listed = stamp.client.post(
        f"{API}/incidents/{s['incident_id']}/persons/{s['person_index']}/listing",
        json={
            "links": [{"incident_id": other, "person_index": 0}],
            "listing_reason": "Two thefts at Plymouth and Exeter within a week, same car",
        },
        headers=inv,
    )
    assert listed.status_code == 201, listed.text
    profile = listed.json()
    assert profile["status"] == "listed" and profile["in_force"] and profile["listing_reason"]
    assert profile["name"] == "Lee Hartley" and profile["plates"] == ["WK19PZT"] and len(profile["incident_ids"]) == 2

    contoso = stamp.auth("contoso", "Retailer.Investigator")
    assert stamp.client.get(f"{API}/offenders/{profile['id']}", headers=contoso).status_code == 404
    assert stamp.client.get(f"{API}/offenders", headers=contoso).json()["items"] == []
    assert stamp.client.get(f"{API}/offenders/suggestions", headers=contoso).json()["items"] == []

    body = subject_request_body(stamp, kind="contest_listing", name="Lee Hartley", date_of_birth="1987-09-30")
    assert (
        stamp.client.post(f"{API}/subject-requests", json=body, headers=stamp.auth("vigil-platform", "Platform.Operator")).status_code
        == 201
    )
    contested = profiles_by_ids(stamp.container.records, "northwind", [profile["id"]])[profile["id"]]
    assert contested.status == "contested" and not listing_in_force(contested, stamp.clock.now())
