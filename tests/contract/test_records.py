"""The record-store contract: every backend behaves the same."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from shared.domain.errors import Conflict, PreconditionFailed
from shared.ports import Branch, Where


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
            uow.insert(
                "incidents",
                t,
                {
                    "id": f"i{i}",
                    "store_id": "s1" if i % 2 else "s2",
                    "category": "theft",
                    "occurred_at": f"2026-01-0{i + 1}T10:00:00.000000+00:00",
                    "plates": [f"P{i}"],
                    "offender_ids": [],
                },
            )
        uow.insert("incidents", "someone-else", {"id": "z", "store_id": "s1", "occurred_at": "2026-01-01T10:00:00.000000+00:00"})
    seen = []
    token = None
    with record_store.unit_of_work() as uow:
        while True:
            page = uow.query(
                "incidents", [t], [Where("store_id", "eq", "s1")], order_by="occurred_at", descending=True, limit=2, continuation=token
            )
            seen.extend(d["id"] for d in page.items)
            token = page.continuation
            if not token:
                break
        assert seen == ["i5", "i3", "i1"]
        hits = uow.query("incidents", [t], [Where("plates", "contains", "P4")]).items
        assert [d["id"] for d in hits] == ["i4"]
        ranged = uow.query(
            "incidents",
            [t],
            [
                Where("occurred_at", "ge", "2026-01-03T00:00:00.000000+00:00"),
                Where("occurred_at", "lt", "2026-01-05T00:00:00.000000+00:00"),
            ],
            order_by="occurred_at",
        ).items
        assert [d["id"] for d in ranged] == ["i2", "i3"]
        assert uow.count("incidents", [t], [Where("category", "eq", "theft")]) == 7


def test_hash_chain_appends_in_order(record_store):
    t = "org-" + _id()

    def linker(prev, seq, entry):
        return f"{prev}>{seq}:{entry['action']}"

    with record_store.unit_of_work() as uow:
        uow.append_chained(
            "audit", t, "audit", {"at": "2026-11-30T12:00:00+00:00", "id": "e1", "action": "create", "entity": "incident/1"}, linker
        )
        uow.append_chained(
            "audit", t, "audit", {"at": "2026-11-30T12:00:00+00:00", "id": "e2", "action": "read", "entity": "incident/1"}, linker
        )
    with record_store.unit_of_work() as uow:
        entries = uow.query("audit", [t], [Where("chain", "eq", "audit")], order_by="seq").items
    assert [(e["seq"], e["hash"]) for e in entries] == [(1, ">1:create"), (2, ">1:create>2:read")]


def test_sequences_increase(record_store):
    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        a = uow.next_sequence(t, "incident-ref")
        b = uow.next_sequence(t, "incident-ref")
    assert b > a


# ---- added with the Cosmos adapter: behaviour both backends must share ----------------


def _emulated(record_store) -> bool:
    """True on the Cosmos emulator (cosmosdb-server), for skips named after what it lacks."""
    return type(record_store).__name__ == "CosmosRecordStore"


def test_get_sees_the_units_own_writes(record_store):
    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        e1 = uow.insert("incidents", t, {"id": "w", "store_id": "s1"})
        assert uow.get("incidents", t, "w") == {"id": "w", "store_id": "s1", "_etag": e1, "_tenant": t}
        e2 = uow.replace("incidents", t, {"id": "w", "store_id": "s2"}, if_match=e1)
        assert uow.get("incidents", t, "w")["_etag"] == e2 and e2 != e1
        assert uow.delete("incidents", t, "w") is True
        assert uow.get("incidents", t, "w") is None
        assert uow.delete("incidents", t, "w") is False
        uow.insert("incidents", t, {"id": "w", "store_id": "s3"})
    with record_store.unit_of_work() as uow:
        assert uow.get("incidents", t, "w")["store_id"] == "s3"


def test_insert_twice_in_one_unit_conflicts(record_store):
    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        uow.insert("incidents", t, {"id": "d", "store_id": "s"})
        with pytest.raises(Conflict):
            uow.insert("incidents", t, {"id": "d", "store_id": "s"})


def test_rollback_restores_replaced_and_deleted(record_store):
    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        ea = uow.insert("incidents", t, {"id": "a", "store_id": "s1"})
        uow.insert("incidents", t, {"id": "b", "store_id": "s1"})
    with pytest.raises(RuntimeError):
        with record_store.unit_of_work() as uow:
            uow.replace("incidents", t, {"id": "a", "store_id": "changed"}, if_match=ea)
            uow.delete("incidents", t, "b")
            uow.upsert("incidents", t, {"id": "c", "store_id": "new"})
            raise RuntimeError("fails after writing")
    with record_store.unit_of_work() as uow:
        a = uow.get("incidents", t, "a")
        assert a["store_id"] == "s1" and a["_etag"] == ea
        assert uow.get("incidents", t, "b") is not None
        assert uow.get("incidents", t, "c") is None


def test_replace_missing_or_unconditional(record_store):
    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        with pytest.raises(PreconditionFailed):
            uow.replace("incidents", t, {"id": "nope", "store_id": "s"}, if_match=None)
        uow.insert("incidents", t, {"id": "u", "store_id": "s"})
    with record_store.unit_of_work() as uow:
        etag = uow.replace("incidents", t, {"id": "u", "store_id": "s9"}, if_match=None)
    with record_store.unit_of_work() as uow:
        assert uow.get("incidents", t, "u") == {"id": "u", "store_id": "s9", "_etag": etag, "_tenant": t}


def test_upsert_creates_then_replaces(record_store):
    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        e1 = uow.upsert("sharing", t, {"id": "p1", "partner_id": "force-a"})
    with record_store.unit_of_work() as uow:
        assert uow.get("sharing", t, "p1")["_etag"] == e1
        e2 = uow.upsert("sharing", t, {"id": "p1", "partner_id": "force-b"})
    with record_store.unit_of_work() as uow:
        got = uow.get("sharing", t, "p1")
        assert got["partner_id"] == "force-b" and got["_etag"] == e2 != e1
        assert uow.count("sharing", [t]) == 1


def test_insert_many_skips_existing(record_store):
    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        uow.insert("incidents", t, {"id": "m1", "store_id": "old", "plates": ["OLD1"]})
    with record_store.unit_of_work() as uow:
        flags = uow.insert_many(
            "incidents",
            t,
            [
                {"id": "m1", "store_id": "new", "plates": ["NEW1"]},
                {"id": "m2", "store_id": "new", "plates": ["NEW2"]},
                {"id": "m2", "store_id": "dup", "plates": ["DUP"]},
                {"id": "m3", "store_id": "new", "plates": ["NEW3", "NEW2"]},
            ],
        )
        assert flags == [False, True, False, True]
    with record_store.unit_of_work() as uow:
        assert uow.get("incidents", t, "m1")["store_id"] == "old"
        assert uow.get("incidents", t, "m2")["store_id"] == "new"
        hits = uow.query("incidents", [t], [Where("plates", "contains", "NEW2")]).items
        assert sorted(d["id"] for d in hits) == ["m2", "m3"]
        assert uow.query("incidents", [t], [Where("plates", "contains", "DUP")]).items == []


def test_delete_many_counts_what_existed(record_store):
    t, u = "org-" + _id(), "org-" + _id()
    with record_store.unit_of_work() as uow:
        uow.insert_many("incidents", t, [{"id": f"k{i}", "store_id": "s", "plates": [f"K{i}"]} for i in range(4)])
        uow.insert("incidents", u, {"id": "k0", "store_id": "s"})
    with record_store.unit_of_work() as uow:
        removed = uow.delete_many("incidents", [(t, "k0"), (t, "k1"), (t, "missing"), (u, "k0")])
        assert removed == 3
    with record_store.unit_of_work() as uow:
        assert sorted(d["id"] for d in uow.query("incidents", [t, u]).items) == ["k2", "k3"]
        assert uow.query("incidents", [t], [Where("plates", "contains", "K1")]).items == []
        assert uow.count("incidents", [u]) == 0


def test_delete_where_removes_the_earliest_due_across_tenants(record_store):
    t, u = "org-" + _id(), "org-" + _id()
    # Expiry times far in the past, so no other test's records are due at these cut-offs.
    with record_store.unit_of_work() as uow:
        for i in range(1, 6):
            uow.insert("idempotency", t if i % 2 else u, {"id": f"e{i}", "expires_at": f"1990-01-0{i}T00:00:00.000000+00:00"})
    with record_store.unit_of_work() as uow:
        first = uow.delete_where(
            "idempotency", [Where("expires_at", "le", "1990-01-03T00:00:00.000000+00:00")], order_by="expires_at", limit=2
        )
    assert sorted(first) == sorted([(t, "e1"), (u, "e2")])
    with record_store.unit_of_work() as uow:
        rest = uow.delete_where(
            "idempotency", [Where("expires_at", "le", "1990-01-03T00:00:00.000000+00:00")], order_by="expires_at", limit=10
        )
    assert rest == [(t, "e3")]
    with record_store.unit_of_work() as uow:
        assert [d["id"] for d in uow.query("idempotency", [t, u], order_by="expires_at").items] == ["e4", "e5"]


def test_delete_where_clears_list_fields(record_store):
    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        uow.insert("incidents", t, {"id": "w1", "store_id": "s", "occurred_at": "1980-01-01T00:00:00.000000+00:00", "plates": ["W1"]})
        uow.insert("incidents", t, {"id": "w2", "store_id": "s", "occurred_at": "2020-01-01T00:00:00.000000+00:00", "plates": ["W1"]})
    with record_store.unit_of_work() as uow:
        gone = uow.delete_where(
            "incidents", [Where("occurred_at", "le", "1980-12-31T00:00:00.000000+00:00")], order_by="occurred_at", limit=5
        )
    assert gone == [(t, "w1")]
    with record_store.unit_of_work() as uow:
        assert [d["id"] for d in uow.query("incidents", [t], [Where("plates", "contains", "W1")]).items] == ["w2"]


def test_in_ne_and_null_filters(record_store):
    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        uow.insert("incidents", t, {"id": "f1", "store_id": "s1", "category": "theft"})
        uow.insert("incidents", t, {"id": "f2", "store_id": "s2", "category": "damage"})
        uow.insert("incidents", t, {"id": "f3", "store_id": "s3"})
        uow.insert("incidents", t, {"id": "f4", "store_id": "s4", "category": None})
    with record_store.unit_of_work() as uow:

        def ids(*where):
            return sorted(d["id"] for d in uow.query("incidents", [t], list(where)).items)

        assert ids(Where("store_id", "in", ["s1", "s3", "zz"])) == ["f1", "f3"]
        assert ids(Where("store_id", "in", [])) == []
        assert ids(Where("id", "in", ["f2", "f4"])) == ["f2", "f4"]
        # Like SQL: a missing or null field is neither equal nor unequal to a value.
        assert ids(Where("category", "ne", "theft")) == ["f2"]
        assert ids(Where("category", "eq", None)) == ["f3", "f4"]
        assert ids(Where("category", "ne", None)) == ["f1", "f2"]
        assert uow.count("incidents", [t], [Where("store_id", "in", ["s2", "s4"])]) == 2
        assert uow.count("incidents", [t], [Where("store_id", "in", [])]) == 0
        with pytest.raises(ValueError):
            uow.query("incidents", [t], [Where("narrative", "eq", "x")])


def test_datetime_and_enum_values(record_store):
    from datetime import UTC, datetime, timedelta
    from enum import StrEnum

    from shared.domain.timestamps import from_iso

    class Category(StrEnum):
        THEFT = "theft"

    t = "org-" + _id()
    base = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with record_store.unit_of_work() as uow:
        for i in range(3):
            uow.insert("incidents", t, {"id": f"t{i}", "category": Category.THEFT, "occurred_at": base + timedelta(days=i)})
    with record_store.unit_of_work() as uow:
        hits = uow.query(
            "incidents",
            [t],
            [Where("occurred_at", "ge", base + timedelta(hours=1)), Where("category", "eq", Category.THEFT)],
            order_by="occurred_at",
            descending=True,
        ).items
        assert [d["id"] for d in hits] == ["t2", "t1"]
        assert from_iso(hits[0]["occurred_at"]) == base + timedelta(days=2)
        assert hits[0]["category"] == "theft"
        # An ISO string in the canonical format compares the same as the datetime.
        assert uow.count("incidents", [t], [Where("occurred_at", "lt", "2026-03-02T09:30:00.000000+00:00")]) == 1


def test_garbage_continuation_is_invalid(record_store):
    from shared.domain.errors import Invalid

    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        uow.insert("incidents", t, {"id": "g", "store_id": "s"})
    with record_store.unit_of_work() as uow:
        for token in ("%%%not base64%%%", "bm90LWpzb24", "e30", "WzFd", "WyJ4IiwieSIsInoiLCJ3Il0"):
            with pytest.raises(Invalid):
                uow.query("incidents", [t], [], order_by="occurred_at", continuation=token)
        # Values of the wrong shape, where a store's token has its sort value, tenant and id.
        for key in ([{"a": 1}, t, "g"], [[1, 2], t, "g"], ["x", {"t": t}, "g"], ["x", t, 5]):
            for shape in (key, {"k": key}):
                token = base64.urlsafe_b64encode(json.dumps(shape).encode()).decode().rstrip("=")
                with pytest.raises(Invalid):
                    uow.query("incidents", [t], [], order_by="occurred_at", continuation=token)


def test_continuation_of_another_query_is_invalid(record_store):
    """A token continues only the query that gave it: not another tenant's, filter's or order's."""
    from shared.domain.errors import Invalid

    t, u = "org-" + _id(), "org-" + _id()
    with record_store.unit_of_work() as uow:
        for tenant in (t, u):
            for i in range(3):
                uow.insert("incidents", tenant, {"id": f"c{i}", "store_id": "s1", "occurred_at": f"2026-02-0{1 + i}T00:00:00.000000+00:00"})
    with record_store.unit_of_work() as uow:
        token = uow.query("incidents", [t], [Where("store_id", "eq", "s1")], order_by="occurred_at", limit=1).continuation
        assert token
        others = [
            dict(tenants=[u], where=[Where("store_id", "eq", "s1")], order_by="occurred_at"),
            dict(tenants=[t], where=[Where("store_id", "eq", "s2")], order_by="occurred_at"),
            dict(tenants=[t], where=[], order_by="occurred_at"),
            dict(tenants=[t], where=[Where("store_id", "eq", "s1")], order_by="store_id"),
        ]
        for other in others:
            with pytest.raises(Invalid):
                uow.query("incidents", other["tenants"], other["where"], order_by=other["order_by"], limit=1, continuation=token)
        # The same query goes on.
        page = uow.query("incidents", [t], [Where("store_id", "eq", "s1")], order_by="occurred_at", limit=1, continuation=token)
        assert [d["id"] for d in page.items] == ["c1"]


def test_paging_visits_each_item_once(record_store):
    t, u = "org-" + _id(), "org-" + _id()
    with record_store.unit_of_work() as uow:
        for i in range(9):  # three items per timestamp: ties across page boundaries
            tenant = t if i % 3 else u
            uow.insert("incidents", tenant, {"id": f"p{i}", "store_id": "s", "occurred_at": f"2026-02-0{1 + i // 3}T00:00:00.000000+00:00"})
    for descending in (False, True):
        seen, token, pages = [], None, 0
        with record_store.unit_of_work() as uow:
            while True:
                page = uow.query(
                    "incidents",
                    [t, u],
                    [Where("store_id", "eq", "s")],
                    order_by="occurred_at",
                    descending=descending,
                    limit=2,
                    continuation=token,
                )
                assert len(page.items) <= 2
                seen.extend(page.items)
                pages += 1
                token = page.continuation
                if not token:
                    break
        assert sorted(d["id"] for d in seen) == [f"p{i}" for i in range(9)]
        stamps = [d["occurred_at"] for d in seen]
        assert stamps == sorted(stamps, reverse=descending)
        assert pages >= 5


def test_tenant_scoping(record_store):
    t, u = "org-" + _id(), "org-" + _id()
    with record_store.unit_of_work() as uow:
        uow.insert("stores", t, {"id": "s1", "organisation_id": t})
        uow.insert("stores", u, {"id": "s1", "organisation_id": u})
    with record_store.unit_of_work() as uow:
        assert [d["organisation_id"] for d in uow.query("stores", [t]).items] == [t]
        assert sorted(d["organisation_id"] for d in uow.query("stores", [u, t]).items) == sorted([t, u])
        assert uow.query("stores", []).items == []
        assert uow.count("stores", []) == 0
        assert uow.count("stores", [t, u]) == 2
        assert uow.count("stores", None) == 2


def test_expiring_items_are_found_by_sweep_across_tenants(record_store):
    t, u = "org-" + _id(), "org-" + _id()
    with record_store.unit_of_work() as uow:
        uow.insert("idempotency", t, {"id": "k1", "expires_at": "2026-01-01T00:00:00.000000+00:00"})
        uow.insert("idempotency", u, {"id": "k2", "expires_at": "2026-01-03T00:00:00.000000+00:00"})
        uow.insert("idempotency", u, {"id": "k3", "expires_at": "2027-01-01T00:00:00.000000+00:00"})
    with record_store.unit_of_work() as uow:
        due = uow.query("idempotency", None, [Where("expires_at", "lt", "2026-06-01T00:00:00.000000+00:00")], order_by="expires_at").items
        assert [d["id"] for d in due] == ["k1", "k2"]
        assert all(set(d) == {"id", "expires_at", "_etag", "_tenant"} for d in due)
        assert [d["_tenant"] for d in due] == [t, u]
        assert uow.delete_many("idempotency", [(t, "k1"), (u, "k2")]) == 2
    with record_store.unit_of_work() as uow:
        assert [d["id"] for d in uow.query("idempotency", None).items] == ["k3"]


def _month(m: int) -> str:
    return f"2026-{m:02d}-01T00:00:00.000000+00:00"


def test_branches_apply_one_condition_to_named_tenants_and_another_to_the_rest(record_store):
    """The retention sweep asks once across tenants, each with its own cutoff."""
    t, u, v = ("org-" + _id() for _ in range(3))
    entries = [(t, "t-old", "incident", 1), (t, "t-new", "incident", 3), (u, "u-old", "incident", 3), (u, "u-new", "incident", 5)]
    entries += [(v, "v-old", "incident", 2), (v, "v-new", "incident", 4), (v, "v-held", "held", 1)]
    with record_store.unit_of_work() as uow:
        for tenant, id_, lane, month in entries:
            uow.insert("retention_index", tenant, {"id": id_, "lane": lane, "basis_at": _month(month)})

    def due(cutoff: int) -> tuple[Where, ...]:
        return (Where("lane", "eq", "incident"), Where("basis_at", "le", _month(cutoff)))

    any_of = (Branch(due(2), (t,)), Branch(due(4), (u,)), Branch(due(3)))
    with record_store.read_only() as uow:
        first = uow.query("retention_index", None, order_by="basis_at", limit=2, any_of=any_of)
        assert [d["id"] for d in first.items] == ["t-old", "v-old"] and first.continuation
        rest = uow.query("retention_index", None, order_by="basis_at", limit=2, any_of=any_of, continuation=first.continuation)
        assert [d["id"] for d in rest.items] == ["u-old"] and rest.continuation is None
        # The query's own tenants still bound it; a branch naming no tenant matches nothing.
        assert [d["id"] for d in uow.query("retention_index", [u, v], order_by="basis_at", any_of=any_of).items] == ["v-old", "u-old"]
        assert uow.query("retention_index", None, any_of=(Branch(due(12), ()),)).items == []
    with record_store.unit_of_work() as uow:
        # A unit's own writes are judged by the same branches.
        uow.insert("retention_index", v, {"id": "v-mine", "lane": "incident", "basis_at": _month(1)})
        uow.delete("retention_index", t, "t-old")
        mine = uow.query("retention_index", None, order_by="basis_at", any_of=any_of)
        assert [d["id"] for d in mine.items] == ["v-mine", "v-old", "u-old"]


def test_ids_with_awkward_characters(record_store):
    t = "org-" + _id()
    odd = ["a/b", "q?x#y", "back\\slash", "~b64~lookalike"]
    with record_store.unit_of_work() as uow:
        for i in odd:
            uow.insert("stores", t, {"id": i, "organisation_id": t})
    with record_store.unit_of_work() as uow:
        assert all(uow.get("stores", t, i)["id"] == i for i in odd)
        assert sorted(d["id"] for d in uow.query("stores", [t], [Where("id", "in", odd)]).items) == sorted(odd)
        assert uow.query("stores", [t], [Where("id", "eq", "a/b")]).items[0]["id"] == "a/b"
        assert uow.delete("stores", t, "a/b") is True
    with record_store.unit_of_work() as uow:
        assert uow.get("stores", t, "a/b") is None


def test_order_includes_items_without_the_field(record_store):
    if _emulated(record_store):
        pytest.skip("cosmosdb-server leaves items without the ORDER BY field out; real Cosmos returns them (undefined sorts lowest)")
    t = "org-" + _id()
    with record_store.unit_of_work() as uow:
        uow.insert("incidents", t, {"id": "with", "occurred_at": "2026-01-01T00:00:00.000000+00:00"})
        uow.insert("incidents", t, {"id": "without"})
    with record_store.unit_of_work() as uow:
        assert [d["id"] for d in uow.query("incidents", [t], order_by="occurred_at").items] == ["without", "with"]


def test_hash_chain_continues_across_units_and_ignores_rollbacks(record_store):
    t = "org-" + _id()

    def linker(prev, seq, entry):
        return f"{prev}>{seq}:{entry['id']}"

    with record_store.unit_of_work() as uow:
        uow.append_chained("audit", t, "audit", {"at": "2026-11-30T12:00:00+00:00", "id": "c1", "entity": "x/1"}, linker)
    with pytest.raises(RuntimeError):
        with record_store.unit_of_work() as uow:
            uow.append_chained("audit", t, "audit", {"at": "2026-11-30T12:00:00+00:00", "id": "lost", "entity": "x/1"}, linker)
            raise RuntimeError("request failed")
    with record_store.unit_of_work() as uow:
        uow.append_chained("audit", t, "audit", {"at": "2026-11-30T12:00:00+00:00", "id": "c2", "entity": "x/2"}, linker)
        uow.append_chained("audit", t, "other", {"at": "2026-11-30T12:00:00+00:00", "id": "o1", "entity": "x/2"}, linker)
    with record_store.unit_of_work() as uow:
        entries = uow.query("audit", [t], [Where("chain", "eq", "audit")], order_by="seq", descending=True).items
        assert [(e["id"], e["seq"], e["prev_hash"], e["hash"]) for e in entries] == [
            ("c2", 2, ">1:c1", ">1:c1>2:c2"),
            ("c1", 1, "", ">1:c1"),
        ]
        assert uow.query("audit", [t], [Where("chain", "eq", "other")]).items[0]["seq"] == 1
        assert uow.get("chain_heads", t, "audit")["seq"] == 2
        assert uow.get("audit", t, "lost") is None
