"""A large batch of reads: written in bulk, matched in one query, and completed once by its
re-send when it was cut short."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.domain.errors import Unavailable
from shared.domain.tenancy import PLATFORM_TENANT
from shared.records import ANPR_HITS, ANPR_READS
from tests.anpr.helpers import API, drain, list_vehicle, post_reads, read
from tests.contract.test_bulk_create import RecordingTransport
from tests.fixtures_http import both_backends

PURPOSE = {"purpose": "checking a theft"}


def reads_of(stamp, n: int, *, listed_at: int) -> list[dict]:
    """`n` reads of different plates; the one at `listed_at` is WR21 XKD."""
    return [
        read(stamp, "WR21 XKD" if i == listed_at else f"BN{i:03d} X", ago=timedelta(minutes=1 + i % 50), camera=f"cam-{i % 3}")
        for i in range(n)
    ]


@both_backends
def test_a_batch_cut_short_is_completed_by_its_resend_each_read_and_hit_once(stamp, monkeypatch):
    assert list_vehicle(stamp).status_code == 201
    batch = reads_of(stamp, 250, listed_at=200)
    records = stamp.container.records
    real = records.create_all

    def first_batch_then_outage(collection, tenant, docs):
        # The store takes the first 100 reads, then cannot be reached.
        real(collection, tenant, docs[:100])
        raise Unavailable("The record store cannot be reached.")

    monkeypatch.setattr(records, "create_all", first_batch_then_outage)
    cut = post_reads(stamp, batch)
    assert cut.status_code == 503 and cut.headers["content-type"].startswith("application/problem+json")
    monkeypatch.setattr(records, "create_all", real)

    again = post_reads(stamp, batch)
    assert again.status_code == 200, again.text
    # The hit was made (and its alert owed) before the reads were written: the re-send
    # makes it again for nobody.
    assert again.json() == {"accepted": 250, "stored": 150, "duplicates": 100, "hits": []}
    with records.read_only() as uow:
        assert uow.count(ANPR_READS.name, ["northwind"]) == 250
        [hit] = uow.query(ANPR_HITS.name, ["northwind"], limit=10).items
    assert hit["plate"] == "WR21XKD"
    drain(stamp)
    listed = stamp.client.get(f"{API}/anpr/hits", params=PURPOSE, headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert [h["id"] for h in listed.json()["items"]] == [hit["id"]]


@both_backends
def test_a_read_sent_again_after_its_vehicle_was_listed_makes_the_hit_it_missed(stamp):
    """A batch whose reads were stored but whose hits never were (cut short before they
    committed) is completed by its re-send: the hit is made from the read already stored."""
    first = post_reads(stamp, [read(stamp, "WR21 XKD")])
    assert first.json()["stored"] == 1 and first.json()["hits"] == []
    assert list_vehicle(stamp).status_code == 201
    again = post_reads(stamp, [read(stamp, "WR21 XKD")])
    assert again.json()["stored"] == 0 and len(again.json()["hits"]) == 1
    # ...and once only.
    assert post_reads(stamp, [read(stamp, "WR21 XKD")]).json()["hits"] == []


@pytest.mark.azure
@pytest.mark.parametrize("stamp", ["azure"], indirect=True)
def test_on_cosmos_250_reads_are_three_batches_and_one_vehicle_query(stamp):
    records = stamp.container.records
    transport = RecordingTransport()
    records._client_options["transport"] = transport
    records._client = None
    records._database = None
    records._containers.clear()
    batch = reads_of(stamp, 250, listed_at=-1)  # all in November: one partition
    assert post_reads(stamp, batch).status_code == 200
    # Requests on items (a fresh client also reads each container's definition once).
    on_items = [request for request, _ in transport.requests if request.url.rstrip("/").endswith("/docs")]
    to_reads = [request for request in on_items if "/colls/anpr_reads/" in request.url]
    to_vehicles = [request for request in on_items if "/colls/vehicles/" in request.url]
    # No look-up of which reads exist: a batch meeting a stored one says so itself.
    assert [request.headers.get("x-ms-cosmos-is-batch-request") for request in to_reads] == ["True"] * 3
    assert [len(json.loads(request.data)) for request in to_reads] == [100, 100, 50]
    assert len(to_vehicles) == 1


@both_backends
def test_an_acceptance_withdrawn_on_another_instance_alerts_the_force_nothing_meanwhile(stamp):
    """Matching uses the directory's cached view of ANPR sharing; a withdrawal made on another
    instance reaches this one within the cache period. Meanwhile a match on the force's
    vehicle alerts nobody and shows the force nothing: the alert checks the acceptance again."""
    force = "devon-and-cornwall"
    assert list_vehicle(stamp, "GX70ABC", org=force, role="Police.Analyst").status_code == 201
    sub = stamp.client.post(
        f"{API}/alert-subscriptions",
        json={"stores": [], "force_area": force, "email": ["control-room@dc.police.example"]},
        headers=stamp.auth(force, "Police.Analyst"),
    )
    assert sub.status_code == 201, sub.text
    assert post_reads(stamp, [read(stamp, "KM19 PLY")]).status_code == 200  # this instance caches the sharing
    records = stamp.container.records
    with records.unit_of_work() as uow:  # another instance: the force withdraws its acceptance
        [doc] = [
            d for d in uow.query("sharing", [PLATFORM_TENANT], limit=100).items if d["owner_id"] == "northwind" and d["partner_id"] == force
        ]
        body = {k: v for k, v in doc.items() if not k.startswith("_") and not k.startswith("anpr_accepted")}
        uow.replace("sharing", PLATFORM_TENANT, body, if_match=doc["_etag"])
    assert post_reads(stamp, [read(stamp, "GX70ABC")]).json()["hits"] == []
    with records.read_only() as uow:  # matched on the cached view: kept with the retailer's reads
        assert [h["vehicle_owner"] for h in uow.query(ANPR_HITS.name, ["northwind"], limit=10).items] == [force]
    drain(stamp)
    sent = stamp.client.get(f"{API}/alert-subscriptions/{sub.json()['id']}/deliveries", headers=stamp.auth(force, "Police.Analyst"))
    assert sent.json()["items"] == []
    seen = stamp.client.get(f"{API}/anpr/hits", params=PURPOSE, headers=stamp.auth(force, "Police.Analyst"))
    assert seen.json()["items"] == []
