"""Issue 16's done-when for lookouts on the demo seed: the seeded northwind person (two
incidents naming Lee Hartley and the same car) is listed through the persons-of-interest
service; a lookout for them reaches nw-exeter's staff in the API and the console, is
acknowledged, and stops appearing once the listing is contested (through a subject
request); contoso's stores never get it; a fresh one lapses at its expiry."""

from __future__ import annotations

from datetime import timedelta

from shared.services.seed import seed_demo_persons_of_interest
from tests.console.conftest import Browser
from tests.lookouts.helpers import CT, NW, PREFIX, RI, RR, drain, store_lookouts
from tests.retention.helpers import subject_request_body


def _list_lee_hartley(stamp) -> str:
    assert seed_demo_persons_of_interest(stamp.container) == 2
    inv = stamp.auth(NW, RI)
    s = stamp.client.get(f"{PREFIX}/offenders/suggestions", headers=inv).json()["items"][0]
    assert stamp.client.post(f"{PREFIX}/offenders/suggestions/{s['id']}/confirm", headers=inv).status_code == 200
    other = next(i for r in s["reasons"] for i in r["incident_ids"] if i != s["incident_id"])
    listed = stamp.client.post(
        f"{PREFIX}/incidents/{s['incident_id']}/persons/{s['person_index']}/listing",
        json={
            "links": [{"incident_id": other, "person_index": 0}],
            "listing_reason": "Two thefts at Plymouth and Exeter within a week, same car",
        },
        headers=inv,
    )
    assert listed.status_code == 201, listed.text
    return listed.json()["id"]


def _issue(stamp, offender_id: str, days: int = 7) -> dict:
    body = {
        "offender_id": offender_id,
        "reason": "Two thefts this month, leaves in a silver Corsa; do not approach, call 999.",
        "expires_at": (stamp.clock.now() + timedelta(days=days)).isoformat(),
        "near_store_id": "nw-plymouth",
        "within_km": 80,
    }
    r = stamp.client.post(f"{PREFIX}/lookouts", json=body, headers=stamp.auth(NW, RI))
    assert r.status_code == 201, r.text
    return r.json()


def test_the_seeded_person_s_lookout_reaches_exeter_is_acknowledged_and_stops_when_contested(stamp):
    offender_id = _list_lee_hartley(stamp)
    lookout = _issue(stamp, offender_id)

    # nw-exeter's staff: in the API, by email, and in the console, where they acknowledge it.
    (seen,) = store_lookouts(stamp, "nw-exeter")
    assert seen["id"] == lookout["id"] and seen["person"]["name"] == "Lee Hartley"
    assert "email:nw-exeter" in drain(stamp)
    browser = Browser(stamp)
    browser.sign_in(NW, RR, next_path="/lookouts", stores=["nw-exeter"])
    assert "Lee Hartley" in browser.get("/lookouts").text
    assert browser.post(f"/lookouts/{lookout['id']}/acknowledge", {"store_id": "nw-exeter"}).status_code == 303
    acks = stamp.client.get(f"{PREFIX}/lookouts/{lookout['id']}", headers=stamp.auth(NW, RI)).json()["acknowledgements"]
    assert [a["store_id"] for a in acks] == ["nw-exeter"]

    # Contoso's stores never get it (no agreement lets northwind reach them).
    assert store_lookouts(stamp, "ct-bristol", org=CT) == []

    # Lee Hartley contests the listing: the lookout stops appearing until it is reviewed.
    body = subject_request_body(stamp, kind="contest_listing", name="Lee Hartley", date_of_birth="1987-09-30")
    r = stamp.client.post(f"{PREFIX}/subject-requests", json=body, headers=stamp.auth("vigil-platform", "Platform.Operator"))
    assert r.status_code == 201, r.text
    assert store_lookouts(stamp, "nw-exeter") == []
    assert "Lee Hartley" not in browser.get("/lookouts").text
    assert stamp.client.get(f"{PREFIX}/lookouts/{lookout['id']}", headers=stamp.auth(NW, RI)).json()["state"] == "suspended"


def test_the_seeded_person_s_lookout_lapses_at_its_expiry(stamp):
    lookout = _issue(stamp, _list_lee_hartley(stamp), days=2)
    assert [x["id"] for x in store_lookouts(stamp, "nw-exeter")] == [lookout["id"]]
    stamp.clock.advance(days=2)
    assert store_lookouts(stamp, "nw-exeter") == []
    assert stamp.client.get(f"{PREFIX}/lookouts/{lookout['id']}", headers=stamp.auth(NW, RI)).json()["state"] == "expired"
