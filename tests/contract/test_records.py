"""The record-store contract: every backend behaves the same."""

from __future__ import annotations

import uuid

import pytest

from shared.domain.errors import Conflict, PreconditionFailed
from shared.ports import Where


def _id() -> str:
    return uuid.uuid4().hex


def test_insert_get_and_conflict(record_store):
    t = "org-" + _id()
    doc = {"id": "a1", "store_id": "s1", "category": "theft", "occurred_at": "2026-01-01T10:00:00.000000+00:00", "plates": ["AB12CDE"]}
    with record_store.unit_of_work() as uow:
        etag = uow.insert("incidents", t, doc)
    with record_store.unit_of_work() as uow:
        got = uow.get("incidents", t, "a1")
        assert got["store_id"] == "s1" and got["_etag"] == etag
        assert uow.get("incidents", "other-tenant", "a1") is None
        with pytest.raises(Conflict):
            uow.insert("incidents", t, doc)


def test_rollback_leaves_nothing(record_store):
    t = "org-" + _id()
    with pytest.raises(RuntimeError):
        with record_store.unit_of_work() as uow:
            uow.insert("incidents", t, {"id": "x", "store_id": "s"})
            raise RuntimeError("bad input after first write")
    with record_store.unit_of_work() as uow:
        assert uow.get("incidents", t, "x") is None


def test_replace_with_stale_etag_fails(record_store):
    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        etag = uow.insert("incidents", t, {"id": "r", "store_id": "s"})
    with record_store.unit_of_work() as uow:
        new = uow.replace("incidents", t, {"id": "r", "store_id": "s2"}, if_match=etag)
        assert new != etag
    with pytest.raises(PreconditionFailed):
        with record_store.unit_of_work() as uow:
            uow.replace("incidents", t, {"id": "r", "store_id": "s3"}, if_match=etag)
    with record_store.unit_of_work() as uow:
        assert uow.get("incidents", t, "r")["store_id"] == "s2"


def test_query_filters_orders_and_pages(record_store):
    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        for i in range(7):
            uow.insert("incidents", t, {"id": f"i{i}", "store_id": "s1" if i % 2 else "s2", "category": "theft",
                                        "occurred_at": f"2026-01-0{i + 1}T10:00:00.000000+00:00", "plates": [f"P{i}"], "offender_ids": []})
        uow.insert("incidents", "someone-else", {"id": "z", "store_id": "s1", "occurred_at": "2026-01-01T10:00:00.000000+00:00"})
    seen = []
    token = None
    with record_store.unit_of_work() as uow:
        while True:
            page = uow.query("incidents", [t], [Where("store_id", "eq", "s1")], order_by="occurred_at", descending=True, limit=2, continuation=token)
            seen.extend(d["id"] for d in page.items)
            token = page.continuation
            if not token:
                break
        assert seen == ["i5", "i3", "i1"]
        hits = uow.query("incidents", [t], [Where("plates", "contains", "P4")]).items
        assert [d["id"] for d in hits] == ["i4"]
        ranged = uow.query("incidents", [t], [Where("occurred_at", "ge", "2026-01-03T00:00:00.000000+00:00"), Where("occurred_at", "lt", "2026-01-05T00:00:00.000000+00:00")], order_by="occurred_at").items
        assert [d["id"] for d in ranged] == ["i2", "i3"]
        assert uow.count("incidents", [t], [Where("category", "eq", "theft")]) == 7


def test_hash_chain_appends_in_order(record_store):
    t = "org-" + _id()

    def linker(prev, seq, entry):
        return f"{prev}>{seq}:{entry['action']}"

    with record_store.unit_of_work() as uow:
        uow.append_chained("audit", t, "audit", {"id": "e1", "action": "create", "entity": "incident/1"}, linker)
        uow.append_chained("audit", t, "audit", {"id": "e2", "action": "read", "entity": "incident/1"}, linker)
    with record_store.unit_of_work() as uow:
        entries = uow.query("audit", [t], [Where("chain", "eq", "audit")], order_by="seq").items
    assert [(e["seq"], e["hash"]) for e in entries] == [(1, ">1:create"), (2, ">1:create>2:read")]


def test_sequences_increase(record_store):
    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        a = uow.next_sequence(t, "incident-ref")
        b = uow.next_sequence(t, "incident-ref")
    assert b > a
