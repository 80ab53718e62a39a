"""Incidents spread over partitions named by their ids: a read by id stays a point read,
a tenant's queries still see every partition, and incidents made before ids named a
bucket stay where they are."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from shared.domain.incident_ids import external_incident_id, incident_bucket, new_incident_id
from shared.ports import Where
from tests.fixtures_backends import drop_cosmos_store, make_cosmos_store


def test_a_new_incident_id_names_the_month_it_was_made_in():
    made = new_incident_id(datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC))
    assert uuid.UUID(made).version == 7 and incident_bucket(made) == "2026-11"
    assert incident_bucket(new_incident_id(datetime(2027, 1, 1, tzinfo=UTC))) == "2027-01"
    assert made != new_incident_id(datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC))


def test_an_external_reference_gives_the_same_id_every_time_and_a_hash_bucket():
    first = external_incident_id("northwind", "EPOS-2026-0001")
    assert first == external_incident_id("northwind", "EPOS-2026-0001")
    assert first != external_incident_id("contoso", "EPOS-2026-0001")
    assert uuid.UUID(first).version == 8
    bucket = incident_bucket(first)
    assert bucket is not None and bucket.startswith("h") and 0 <= int(bucket[1:]) < 32


@pytest.mark.parametrize(
    "other",
    ["0b6f8f2e-3c1d-4a57-9e2b-6d4c1f0a8e13", str(uuid.uuid5(uuid.NAMESPACE_URL, "x")), "inc-1", "", "01A22C53-8200-7EF2-A4FA-80B6308A9C36"],
)
def test_other_ids_name_no_bucket(other):
    assert incident_bucket(other) is None


@pytest.fixture
def cosmos_store(cosmos_emulator):
    store = make_cosmos_store(cosmos_emulator)
    yield store
    drop_cosmos_store(store)


def _incident(id_: str) -> dict:
    return {"id": id_, "store_id": "nw-plymouth", "category": "theft", "occurred_at": "2026-11-20T10:00:00+00:00", "reference": id_[:8]}


def test_incidents_are_partitioned_by_the_bucket_their_id_names_and_read_by_point_reads(cosmos_store):
    tenant = "org-" + uuid.uuid4().hex[:8]
    monthly = new_incident_id(datetime(2026, 11, 20, tzinfo=UTC))
    external = external_incident_id(tenant, "EPOS-1")
    legacy = str(uuid.uuid4())
    with cosmos_store.unit_of_work() as uow:
        for id_ in (monthly, external, legacy):
            uow.insert("incidents", tenant, _incident(id_))
    container = cosmos_store.container("incidents")
    pks = {
        r["id"]: r["pk"]
        for r in container.query_items(
            "SELECT c.id, c.pk FROM c WHERE c.tenantId = @t",
            parameters=[{"name": "@t", "value": tenant}],
            enable_cross_partition_query=True,
        )
    }
    assert pks == {monthly: f"{tenant}|2026-11", external: f"{tenant}|{incident_bucket(external)}", legacy: tenant}

    # A read by id never queries: the id names the partition.
    queried: list[str] = []
    real_query = container.query_items

    def spy(query, *args, **kwargs):
        queried.append(query)
        return real_query(query, *args, **kwargs)

    container.query_items = spy  # type: ignore[method-assign]
    try:
        with cosmos_store.read_only() as uow:
            assert {uow.get("incidents", tenant, i)["id"] for i in (monthly, external, legacy)} == {monthly, external, legacy}
            assert uow.get("incidents", "org-other", monthly) is None
        assert queried == []
    finally:
        del container.query_items

    # The tenant's queries and counts span its partitions; a change stays in place.
    with cosmos_store.unit_of_work() as uow:
        found = uow.query("incidents", [tenant], [Where("store_id", "eq", "nw-plymouth")], order_by="occurred_at").items
        assert {d["id"] for d in found} == {monthly, external, legacy}
        assert uow.count("incidents", [tenant]) == 3
        doc = uow.get("incidents", tenant, monthly)
        uow.replace(
            "incidents", tenant, {**{k: v for k, v in doc.items() if not k.startswith("_")}, "category": "violence"}, if_match=doc["_etag"]
        )
    assert container.read_item(monthly, partition_key=f"{tenant}|2026-11")["category"] == "violence"
    with cosmos_store.unit_of_work() as uow:
        assert uow.delete("incidents", tenant, external) is True
    with cosmos_store.read_only() as uow:
        assert uow.get("incidents", tenant, external) is None and uow.count("incidents", [tenant]) == 2
