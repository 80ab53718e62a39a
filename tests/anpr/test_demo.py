"""ANPR end to end on a seeded stamp, on both record stores: a camera token
posts reads, one matches a vehicle northwind listed from an incident (promoted in one
call), the subscribed reference webhook receiver verifies one signed alert and gets it
once, and the anpr-expiry job 31 days later removes the reads and keeps the hit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions import jobs
from tests.anpr.helpers import API, drain, read
from tests.fixtures_http import both_backends
from tools.webhook_receiver import Receiver, serve

# The reference receiver listens on 127.0.0.1, as under `make run` (docs/anpr.md).
pytestmark = pytest.mark.stamp_settings(webhook_allow_private_networks=True)


@both_backends
def test_a_listed_vehicle_read_alerts_the_subscriber_once_and_expiry_keeps_the_hit(stamp):
    inv = stamp.auth("northwind", "Retailer.Investigator")
    incident = stamp.client.post(
        f"{API}/incidents", json=stamp.example("IncidentIn"), headers=stamp.auth("northwind", "Retailer.Reporter", stores=["nw-plymouth"])
    )
    assert incident.status_code == 201, incident.text
    incident = incident.json()
    [vehicle] = incident["vehicles"]

    # The investigator lists the incident's vehicle with one call.
    promoted = stamp.client.post(f"{API}/incidents/{incident['id']}/vehicles/{vehicle['plate']}/promote", headers=inv)
    assert promoted.status_code == 201, promoted.text
    assert promoted.json()["plate"] == "WR21XKD" and promoted.json()["incident_ids"] == [incident["id"]]

    # The reference receiver, listening over HTTP, checks signatures against the stamp's clock.
    receiver = Receiver("until-subscribed", now=lambda: stamp.clock.now().timestamp())
    server = serve(receiver)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
        sub = stamp.client.post(f"{API}/alert-subscriptions", json={"stores": ["nw-plymouth"], "webhook_url": url}, headers=inv)
        assert sub.status_code == 201, sub.text
        receiver.secrets = [sub.json()["secret"]]

        camera = stamp.auth("northwind", "Device.Anpr")
        batch = [
            read(stamp, "KM19 PLY", ago=timedelta(minutes=3)),
            read(stamp, "wr21 xkd", ago=timedelta(minutes=2)),
            read(stamp, "GX70 ABC"),
        ]
        posted = stamp.client.post(f"{API}/anpr/reads", json={"reads": batch}, headers=camera)
        assert posted.status_code == 200, posted.text
        assert posted.json()["stored"] == 3
        [hit] = posted.json()["hits"]
        assert hit["read_index"] == 1 and hit["plate"] == "WR21XKD"

        drain(stamp)
        assert len(receiver.accepted) == 1, receiver.rejected
        alert = receiver.accepted[0]
        assert alert["type"] == "anpr.hit" and alert["hit"]["id"] == hit["id"] and alert["hit"]["incident_ids"] == [incident["id"]]
        # The camera re-sends the batch (a lost answer): no new read, hit or alert.
        again = stamp.client.post(f"{API}/anpr/reads", json={"reads": batch}, headers=camera).json()
        assert (again["stored"], again["duplicates"], again["hits"]) == (0, 3, [])
        drain(stamp)
        assert len(receiver.accepted) == 1 and receiver.rejected == []
    finally:
        server.shutdown()
    deliveries = stamp.client.get(f"{API}/alert-subscriptions/{sub.json()['id']}/deliveries", headers=inv).json()["items"]
    assert [(d["status"], d["attempts"]) for d in deliveries] == [("delivered", 1)]

    # `make job JOB=anpr-expiry AS_OF=<31 days later>`: the reads go, the hit stays with its incident.
    jobs.load_all()
    later = stamp.clock.now() + timedelta(days=31)
    report = jobs.run_job(stamp.container, "anpr-expiry", later)
    assert report.counts["reads_deleted"] == 3
    stamp.clock.current = later
    purpose = {"purpose": "Checking the demo"}
    for plate in ("KM19PLY", "WR21XKD", "GX70ABC"):
        assert stamp.client.get(f"{API}/anpr/reads", params={"plate": plate, **purpose}, headers=inv).json()["items"] == []
    with stamp.container.records.unit_of_work() as uow:
        assert uow.count("anpr_reads", ["northwind"]) == 0
    hits = stamp.client.get(f"{API}/anpr/hits", headers=inv).json()["items"]
    assert [(h["id"], h["plate"], h["incident_ids"]) for h in hits] == [(hit["id"], "WR21XKD", [incident["id"]])]
    assert stamp.client.get(f"{API}/incidents/{incident['id']}", headers=inv).status_code == 200
