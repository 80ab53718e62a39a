"""Provider events recorded once, on both record stores: the seen event ids live in their
own expiring collection (`delivery_events`), written in the unit of the dispatch update."""

from __future__ import annotations

import json
from datetime import timedelta

from shared.records import DELIVERY_EVENTS, DISPATCHES
from shared.services.d2p.delivery_events import SEEN_FOR, EventCounts
from shared.services.expiry import sweep_expired
from shared.services.repository import dump
from tests.d2p.test_dispatch_domain import sent
from tests.retention.helpers import container_on


class AcceptingVerifierFake:
    """Stands in for the SendGrid signature check: the signature is tested on its own in
    tests/d2p/test_sendgrid_events.py, the store here."""

    def verify(self, payload, signature, timestamp, *, public_key, now, max_age_seconds) -> None:
        return None


def test_each_provider_event_is_recorded_once_and_its_id_expires(record_store, tmp_path):
    c = container_on(record_store, tmp_path)
    c.d2p.deps.delivery_events = AcceptingVerifierFake()
    dispatch = sent()
    with c.records.unit_of_work() as uow:
        uow.insert(DISPATCHES.name, "northwind", dump(dispatch))
    now = int(c.clock.now().timestamp())
    event = {"event": "delivered", "timestamp": now, "sg_event_id": "ZGVsaXZlcmVk", "dispatch_id": dispatch.id, "owner_org": "northwind"}
    payload = json.dumps([event]).encode()
    assert c.d2p.delivery_events.record(payload, "signed", str(now)) == EventCounts(recorded=1)
    assert c.d2p.delivery_events.record(payload, "signed", str(now)) == EventCounts(duplicates=1)
    with c.records.read_only() as uow:
        stored = uow.get(DISPATCHES.name, "northwind", dispatch.id)
    assert [d["state"] for d in stored["deliveries"]] == ["delivered"] and stored["history"] == dump(dispatch)["history"]
    assert sweep_expired(c.records, c.clock.now() + SEEN_FOR - timedelta(seconds=1)).counts[DELIVERY_EVENTS.name] == 0
    assert sweep_expired(c.records, c.clock.now() + SEEN_FOR).counts[DELIVERY_EVENTS.name] == 1
