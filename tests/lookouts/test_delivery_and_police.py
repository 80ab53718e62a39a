"""Lookout delivery by signed webhook (checked by the reference receiver), a force's
lookout for its vehicle of interest to the stores in its area, and a keyed retry that
issues nothing twice."""

from __future__ import annotations

import pytest

from tests.lookouts.helpers import DC, NAME, NW, PN, PO, PREFIX, RI, RR, drain, issue, list_person, lookout_body, store_lookouts
from tools.webhook_receiver import Receiver, serve

# The reference receiver listens on 127.0.0.1: these stamps let webhooks reach loopback.
pytestmark = pytest.mark.stamp_settings(webhook_allow_private_networks=True)


def test_a_store_subscription_gets_the_lookout_signed_and_only_while_it_stands(stamp):
    rec = Receiver("not-yet-known", now=lambda: stamp.clock.now().timestamp())
    server = serve(rec)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
        r = stamp.client.post(
            f"{PREFIX}/alert-subscriptions", json={"stores": ["nw-exeter"], "webhook_url": url}, headers=stamp.auth(NW, RI)
        )
        assert r.status_code == 201, r.text
        rec.secrets = [r.json()["secret"]]
        list_person(stamp)
        issued = issue(stamp)
        assert sorted(drain(stamp)) == ["email:nw-exeter", "email:nw-plymouth", "webhook:nw-exeter"]
        assert len(rec.accepted) == 1, rec.rejected
        sent = rec.accepted[0]
        assert sent["type"] == "lookout" and sent["lookout_id"] == issued["id"] and sent["store_id"] == "nw-exeter"
        assert sent["person"]["name"] == NAME and sent["console_url"].endswith("/lookouts?store=nw-exeter")
        # Withdrawn before its webhook goes: nothing is sent.
        second = issue(stamp)
        assert stamp.client.post(f"{PREFIX}/lookouts/{second['id']}/withdraw", headers=stamp.auth(NW, RI)).status_code == 200
        drain(stamp)
        assert len(rec.accepted) == 1
    finally:
        server.shutdown()


def test_a_force_warns_the_stores_in_its_area_about_its_vehicle_without_names(stamp):
    r = stamp.client.put(f"{PREFIX}/vehicles/WR21XKD", json={"reason": "Used in three thefts"}, headers=stamp.auth(DC, PN))
    assert r.status_code in (200, 201), r.text
    body = lookout_body(stamp, offender_id=None, plate="wr21 xkd", near_store_id=None, within_km=None, force_area=DC)
    r = stamp.client.post(f"{PREFIX}/lookouts", json=body, headers=stamp.auth(DC, PO))
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["plate"] == "WR21XKD" and issued["recipient_count"] == 2 and issued["person"] is None
    (seen,) = store_lookouts(stamp, "nw-plymouth")
    assert seen["issued_by_organisation"] == "Devon and Cornwall Police" and seen["level"] == "descriptions"
    # Another force's area is not the force's to warn; nor another force's vehicle.
    other = stamp.client.post(f"{PREFIX}/lookouts", json={**body, "force_area": "avon-and-somerset"}, headers=stamp.auth(DC, PO))
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "force_area"
    theirs = stamp.client.post(
        f"{PREFIX}/lookouts", json={**body, "force_area": "avon-and-somerset"}, headers=stamp.auth("avon-and-somerset", PO)
    )
    assert theirs.status_code == 422 and theirs.json()["errors"][0]["field"] == "plate"
    # Contoso's Bristol store is not in devon-and-cornwall's area: it never sees it.
    assert store_lookouts(stamp, "ct-bristol", org="contoso") == []
    # Once the force's interest in the vehicle ends, the lookout is suspended.
    assert stamp.client.delete(f"{PREFIX}/vehicles/WR21XKD", headers=stamp.auth(DC, PN)).status_code == 204
    assert store_lookouts(stamp, "nw-plymouth") == []


def test_a_keyed_retry_answers_the_first_lookout_and_sends_nothing_twice(stamp):
    list_person(stamp)
    headers = {**stamp.auth(NW, RI), "Idempotency-Key": "lookout-1"}
    first = stamp.client.post(f"{PREFIX}/lookouts", json=lookout_body(stamp), headers=headers)
    again = stamp.client.post(f"{PREFIX}/lookouts", json=lookout_body(stamp), headers=headers)
    assert first.status_code == 201 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert sorted(drain(stamp)) == ["email:nw-exeter", "email:nw-plymouth"]
    other = stamp.client.post(f"{PREFIX}/lookouts", json=lookout_body(stamp, reason="Another reason, different request"), headers=headers)
    assert other.status_code == 422
    assert len(store_lookouts(stamp, "nw-exeter", role=RR)) == 1
