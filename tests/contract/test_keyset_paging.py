"""Keyset paging on both backends: a listing across partitions (ANPR reads bucketed by
month, incidents of several tenants) pages through every item exactly once, in order,
even when items are inserted or deleted between pages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.ports import Where


def _tenant() -> str:
    return "org-" + uuid.uuid4().hex


def _pages(record_store, collection, tenants, where=(), between=None, **kwargs):
    """Every page of a query, page size 2; `between(n)` runs after page n."""
    pages, token = [], None
    while True:
        with record_store.read_only() as uow:
            page = uow.query(collection, tenants, where, limit=2, continuation=token, **kwargs)
        pages.append([(d["_tenant"], d["id"]) for d in page.items])
        token = page.continuation
        if between is not None:
            between(len(pages))
        if token is None:
            return pages


def _reads(tenant, count, start):
    # Ten days apart so the reads span several month buckets (partitions on Cosmos); two
    # share each time so ties are broken by id.
    for i in range(count):
        at = start + timedelta(days=10 * (i // 2))
        yield {
            "id": f"read-{i:02d}",
            "plate": "AB12CDE",
            "captured_at": at,
            "store_id": "s1",
            "expires_at": datetime(2099, 1, 1, tzinfo=UTC),
        }


def test_cross_partition_order_by_pages_every_item_once_in_order(record_store):
    t = _tenant()
    reads = list(_reads(t, 9, datetime(2026, 1, 3, 12, tzinfo=UTC)))
    with record_store.unit_of_work() as uow:
        for read in reads:
            uow.insert("anpr_reads", t, read)
    for descending in (False, True):
        pages = _pages(record_store, "anpr_reads", [t], [Where("plate", "eq", "AB12CDE")], order_by="captured_at", descending=descending)
        assert len(pages) == 5 and all(len(p) == 2 for p in pages[:-1])
        expected = sorted(((r["captured_at"], r["id"]) for r in reads), reverse=descending)
        assert [id_ for page in pages for _, id_ in page] == [id_ for _, id_ in expected]


def test_listing_across_tenants_pages_every_item_once(record_store):
    tenants = [_tenant(), _tenant(), _tenant()]
    at = "2026-03-01T10:00:00.000000+00:00"
    with record_store.unit_of_work() as uow:
        for n, t in enumerate(tenants):
            for i in range(3):
                uow.insert("incidents", t, {"id": f"inc-{n}{i}", "store_id": "s", "occurred_at": at, "force_id": "met"})
    pages = _pages(record_store, "incidents", tenants, [Where("force_id", "eq", "met")], order_by="occurred_at")
    got = [key for page in pages for key in page]
    assert len(pages) == 5
    assert sorted(got) == sorted((t, f"inc-{n}{i}") for n, t in enumerate(tenants) for i in range(3))


def test_unordered_listing_pages_by_id(record_store):
    t = _tenant()
    with record_store.unit_of_work() as uow:
        for i in range(7):
            uow.insert("incidents", t, {"id": f"u-{6 - i}", "store_id": "s"})
    pages = _pages(record_store, "incidents", [t])
    assert [id_ for page in pages for _, id_ in page] == [f"u-{i}" for i in range(7)]


def test_inserts_and_deletes_between_pages_neither_repeat_nor_skip(record_store):
    t = _tenant()
    start = datetime(2026, 1, 3, 12, tzinfo=UTC)
    reads = list(_reads(t, 10, start))
    with record_store.unit_of_work() as uow:
        for read in reads:
            uow.insert("anpr_reads", t, read)
    removed = {"read-01", "read-08"}  # one already returned, one still to come

    def churn(page: int) -> None:
        if page != 2:
            return
        with record_store.unit_of_work() as uow:
            for id_ in removed:
                uow.delete("anpr_reads", t, id_)
            # New reads before and after the current position.
            uow.insert("anpr_reads", t, {**reads[0], "id": "read-00a"})
            uow.insert("anpr_reads", t, {**reads[9], "id": "read-99"})

    pages = _pages(record_store, "anpr_reads", [t], [Where("plate", "eq", "AB12CDE")], order_by="captured_at", between=churn)
    got = [id_ for page in pages for _, id_ in page]
    assert len(got) == len(set(got)), "an item was repeated"
    throughout = {r["id"] for r in reads} - removed
    assert throughout <= set(got), "an item that existed throughout was skipped"
    assert "read-08" not in got and "read-99" in got and "read-00a" not in got
