"""Issue 16's done-when for rankings on the demo seed: the two northwind incidents naming
Lee Hartley and the same car, linked when northwind's investigator confirms the suggestion
and listed; devon-and-cornwall's analyst then sees him ranked with reasons and his network;
contoso (and another force) see nothing of it."""

from __future__ import annotations

from shared.services.seed import seed_demo_persons_of_interest
from tests.intel.helpers import API, DC, PURPOSE


def _confirm_and_list(stamp) -> dict:
    assert seed_demo_persons_of_interest(stamp.container) == 2
    inv = stamp.auth("northwind", "Retailer.Investigator")
    s = stamp.client.get(f"{API}/offenders/suggestions", headers=inv).json()["items"][0]
    assert stamp.client.post(f"{API}/offenders/suggestions/{s['id']}/confirm", headers=inv).status_code == 200
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
    return listed.json()


def test_the_force_analyst_sees_the_demo_person_ranked_with_reasons_contoso_sees_nothing(stamp):
    profile = _confirm_and_list(stamp)
    r = stamp.client.get(f"{API}/intel/repeat-offending", params=PURPOSE, headers=stamp.auth(DC, "Police.Analyst"))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    top = next(i for i in items if i["person"]["id"] == profile["id"])
    assert top["person"]["name"] == "Lee Hartley"  # northwind shares in full with the force
    assert top["incident_count"] == 2 and top["stores"] == 2
    reasons = {x["reason"]: x for x in top["reasons"]}
    assert reasons["count"]["points"] == 2 and {i["id"] for i in reasons["count"]["incidents"]} == set(profile["incident_ids"])
    assert reasons["spread"]["points"] > 0 and reasons["recency"]["points"] < 0
    assert abs(sum(x["points"] for x in top["reasons"]) - top["score"]) < 0.01

    net = stamp.client.get(f"{API}/offenders/{profile['id']}/network", params=PURPOSE, headers=stamp.auth(DC, "Police.Analyst"))
    assert net.status_code == 200 and "vehicle:WK19PZT" in {n["id"] for n in net.json()["nodes"]}

    for org, role in (("contoso", "Retailer.Investigator"), ("avon-and-somerset", "Police.Analyst")):
        ranked = stamp.client.get(f"{API}/intel/repeat-offending", params=PURPOSE, headers=stamp.auth(org, role))
        assert ranked.status_code == 200 and "Lee Hartley" not in ranked.text and profile["id"] not in ranked.text
        assert (
            stamp.client.get(f"{API}/offenders/{profile['id']}/network", params=PURPOSE, headers=stamp.auth(org, role)).status_code == 404
        )
