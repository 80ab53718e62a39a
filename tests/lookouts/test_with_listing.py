"""The done-when path with a person listed through the persons-of-interest service: two
northwind incidents name the same person and vehicle, an investigator lists the person,
and a lookout for that profile reaches nw-exeter's staff, is acknowledged and lapses."""

from __future__ import annotations

from datetime import timedelta

from tests.lookouts.helpers import NW, PREFIX, RI, RR, drain, store_lookouts
from tests.offenders.test_http import list_person as list_through_poi
from tests.offenders.test_http import report


def test_a_person_listed_from_two_incidents_gets_a_lookout_that_reaches_exeter_and_lapses(stamp):
    first = report(stamp, occurred_at=(stamp.clock.now() - timedelta(days=5)).isoformat())
    second = report(stamp, occurred_at=(stamp.clock.now() - timedelta(days=2)).isoformat())
    listed = list_through_poi(stamp, [first, second], description="Slim, short ginger hair, grey hooded top.")
    assert listed.status_code == 201, listed.text
    offender_id = listed.json()["id"]

    body = {
        "offender_id": offender_id,
        "reason": "Two thefts of razor blades at Plymouth this week; do not approach.",
        "expires_at": (stamp.clock.now() + timedelta(days=3)).isoformat(),
        "near_store_id": "nw-plymouth",
        "within_km": 80,
    }
    r = stamp.client.post(f"{PREFIX}/lookouts", json=body, headers=stamp.auth(NW, RI))
    assert r.status_code == 201, r.text
    lookout = r.json()
    (seen,) = store_lookouts(stamp, "nw-exeter")
    assert seen["id"] == lookout["id"] and seen["person"]["name"] == "Jamie Doyle"
    assert "Slim, short ginger hair" in seen["person"]["description"]
    assert "email:nw-exeter" in drain(stamp)
    ack = stamp.client.post(
        f"{PREFIX}/lookouts/{lookout['id']}/acknowledgements", json={"store_id": "nw-exeter"}, headers=stamp.auth(NW, RR)
    )
    assert ack.status_code == 201
    stamp.clock.advance(days=3)
    assert store_lookouts(stamp, "nw-exeter") == []
