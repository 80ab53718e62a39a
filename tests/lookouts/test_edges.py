"""Lookout edges: a store reporter's default store, delivery outcomes (a refused address, a
webhook the receiver does not take, a lookout gone), a centre store with no location."""

from __future__ import annotations

import pytest

from shared.ports import PermanentMailError, WebhookResult
from shared.records import ALERT_SUBSCRIPTIONS, LOOKOUTS, STORES
from shared.services.lookouts.delivery import WebhookNotDelivered
from tests.lookouts.helpers import NW, PREFIX, RI, RR, issue, list_person, lookout_body


def test_a_reporter_of_one_store_gets_its_lookouts_and_of_several_is_asked_which(stamp):
    list_person(stamp)
    issued = issue(stamp)
    one = stamp.client.get(f"{PREFIX}/lookouts", headers=stamp.auth(NW, RR, stores=["nw-exeter"]))
    assert one.status_code == 200 and [x["id"] for x in one.json()["items"]] == [issued["id"]]
    several = stamp.client.get(f"{PREFIX}/lookouts", headers=stamp.auth(NW, RR))
    assert several.status_code == 422 and "nw-exeter" in several.json()["detail"]
    # Another store's staff member reads only their own store's.
    other = stamp.client.get(f"{PREFIX}/lookouts", params={"store": "nw-exeter"}, headers=stamp.auth(NW, RR, stores=["nw-plymouth"]))
    assert other.status_code == 200 and other.json()["items"] == []
    # Store staff cannot withdraw: the role is refused before anything is looked up.
    assert stamp.client.post(f"{PREFIX}/lookouts/{issued['id']}/withdraw", headers=stamp.auth(NW, RR)).status_code == 403


def test_a_centre_store_without_a_location_is_refused_naming_it(stamp):
    list_person(stamp)
    with stamp.container.records.unit_of_work() as uow:
        doc = uow.get(STORES.name, "_platform", "nw-plymouth")
        body = {k: v for k, v in doc.items() if not k.startswith("_")}
        body.pop("latitude")
        body.pop("longitude")
        uow.replace(STORES.name, "_platform", body, if_match=doc["_etag"])
    stamp.container.directory.invalidate()
    r = stamp.client.post(f"{PREFIX}/lookouts", json=lookout_body(stamp), headers=stamp.auth(NW, RI))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "near_store_id" and "no location" in r.json()["detail"]


class RefusingMailForTest:
    def send(self, message):
        raise PermanentMailError("address refused")

    def ready(self):
        return True, "ok"


class NotTakingWebhooksForTest:
    def post(self, url, body, headers, *, timeout):
        return WebhookResult(status=503, error=None)

    def destination_problem(self, url):
        return None

    def close(self):
        pass


def test_delivery_outcomes_refused_address_webhook_not_taken_and_gone(stamp):
    list_person(stamp)
    lookouts = stamp.container.lookouts
    lookouts.deps.mail = RefusingMailForTest()
    lookouts.deps.webhooks = NotTakingWebhooksForTest()
    with stamp.container.records.unit_of_work() as uow:
        uow.insert(
            ALERT_SUBSCRIPTIONS.name,
            NW,
            {
                "id": "sub-1",
                "organisation_id": NW,
                "stores": ["nw-exeter"],
                "webhook_url": "https://x.example/h",
                "secret": "whsec_t",
                "created_at": "2026-11-23T12:00:00+00:00",
            },
        )
    issued = issue(stamp)
    message = {"tenant": NW, "lookout_id": issued["id"], "store_id": "nw-exeter", "subscriber": NW}
    assert lookouts.delivery.handle({**message, "channel": "email"}) == "undeliverable"
    with pytest.raises(WebhookNotDelivered):
        lookouts.delivery.handle({**message, "channel": "webhook", "subscription_id": "sub-1"})
    assert lookouts.delivery.handle({**message, "channel": "webhook", "subscription_id": "gone"}) == "cancelled"
    with stamp.container.records.unit_of_work() as uow:
        uow.delete(LOOKOUTS.name, NW, issued["id"])
    assert lookouts.delivery.handle({**message, "channel": "email"}) == "gone"
