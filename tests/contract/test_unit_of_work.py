"""Unit-of-work semantics that `shared/ports.py` states, on every backend: nesting,
read-only units, rollback."""

from __future__ import annotations

import threading
import uuid

import pytest

from shared.domain.errors import Conflict
from shared.ports import ReadOnlyUnitError, Where

WAIT = 10  # seconds; a unit that blocks where it must not fails the test instead of hanging


def _tenant() -> str:
    return "org-" + uuid.uuid4().hex


class Elsewhere:
    """Runs `fn` on another thread (another unit: a unit on this thread would join ours)."""

    def __init__(self, fn):
        self.result = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn):
        try:
            self.result = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised by wait()
            self.error = exc

    def wait(self, timeout: float = WAIT):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the other thread is still blocked"
        if self.error is not None:
            raise self.error
        return self.result


def _committed(store, tenant, id_):
    """The document as another thread sees it: committed state only."""

    def read():
        with store.read_only() as ro:
            return ro.get("incidents", tenant, id_)

    return Elsewhere(read).wait()


# ---- nesting ----------------------------------------------------------------------------


def test_a_nested_unit_joins_the_outer_and_commits_with_it(record_store):
    t = _tenant()
    with record_store.unit_of_work() as outer:
        outer.insert("incidents", t, {"id": "a", "store_id": "s"})
        with record_store.unit_of_work() as inner:
            assert inner is outer
            assert inner.get("incidents", t, "a")["store_id"] == "s"
            inner.insert("incidents", t, {"id": "b", "store_id": "s"})
        assert outer.get("incidents", t, "b") is not None
        assert _committed(record_store, t, "b") is None  # leaving the inner block committed nothing
    assert _committed(record_store, t, "a") is not None
    assert _committed(record_store, t, "b") is not None


def test_a_nested_unit_rolls_back_with_the_outer(record_store):
    t = _tenant()
    with pytest.raises(RuntimeError):
        with record_store.unit_of_work() as outer:
            outer.insert("incidents", t, {"id": "a", "store_id": "s"})
            with record_store.unit_of_work() as inner:
                inner.insert("incidents", t, {"id": "b", "store_id": "s"})
            raise RuntimeError("the request fails after the inner block")
    assert _committed(record_store, t, "a") is None
    assert _committed(record_store, t, "b") is None


def test_an_exception_caught_from_a_nested_block_undoes_nothing(record_store):
    t = _tenant()
    with record_store.unit_of_work() as outer:
        outer.insert("incidents", t, {"id": "a", "store_id": "s"})
        with pytest.raises(ValueError):
            with record_store.unit_of_work() as inner:
                inner.insert("incidents", t, {"id": "b", "store_id": "s"})
                raise ValueError("caught by the outer block")
    assert _committed(record_store, t, "a") is not None
    assert _committed(record_store, t, "b") is not None


def test_read_only_inside_a_unit_sees_its_writes_and_refuses_writes(record_store):
    t = _tenant()
    with record_store.unit_of_work() as outer:
        outer.insert("incidents", t, {"id": "a", "store_id": "s"})
        with record_store.read_only() as ro:
            assert ro.get("incidents", t, "a")["store_id"] == "s"
            with pytest.raises(ReadOnlyUnitError):
                ro.insert("incidents", t, {"id": "b", "store_id": "s"})
        outer.insert("incidents", t, {"id": "c", "store_id": "s"})
    assert _committed(record_store, t, "a") is not None
    assert _committed(record_store, t, "b") is None
    assert _committed(record_store, t, "c") is not None


def test_a_unit_inside_a_read_only_unit_is_refused(record_store):
    t = _tenant()
    with record_store.read_only() as ro:
        with pytest.raises(ReadOnlyUnitError):
            with record_store.unit_of_work() as uow:
                uow.insert("incidents", t, {"id": "a", "store_id": "s"})
        with record_store.read_only() as again:  # a read-only unit inside one joins it
            assert again.get("incidents", t, "a") is None
        assert ro.get("incidents", t, "a") is None
    with record_store.unit_of_work() as uow:  # the thread is free again
        uow.insert("incidents", t, {"id": "a", "store_id": "s"})
    assert _committed(record_store, t, "a") is not None


# ---- read-only units --------------------------------------------------------------------


def test_read_only_refuses_every_write(record_store):
    t = _tenant()
    with record_store.unit_of_work() as uow:
        uow.insert("incidents", t, {"id": "a", "store_id": "s"})
    writes = [
        lambda ro: ro.insert("incidents", t, {"id": "b", "store_id": "s"}),
        lambda ro: ro.insert_many("incidents", t, [{"id": "b", "store_id": "s"}]),
        lambda ro: ro.replace("incidents", t, {"id": "a", "store_id": "x"}, if_match=None),
        lambda ro: ro.upsert("incidents", t, {"id": "a", "store_id": "x"}),
        lambda ro: ro.delete("incidents", t, "a"),
        lambda ro: ro.delete_many("incidents", [(t, "a")]),
        lambda ro: ro.delete_where("incidents", [Where("store_id", "eq", "s")], order_by="store_id", limit=10),
        lambda ro: ro.append_chained("audit", t, "audit", {"id": "e1"}, lambda p, s, e: "h"),
        lambda ro: ro.next_sequence(t, "ref"),
    ]
    with record_store.read_only() as ro:
        for write in writes:
            with pytest.raises(ReadOnlyUnitError):
                write(ro)
    with record_store.read_only() as ro:
        assert ro.get("incidents", t, "a")["store_id"] == "s"
        assert ro.count("incidents", [t]) == 1
        assert ro.count("audit", [t]) == 0


def test_read_only_proceeds_while_another_thread_holds_a_write_unit(record_store):
    t = _tenant()
    with record_store.unit_of_work() as uow:
        uow.insert("incidents", t, {"id": "old", "store_id": "s"})
    opened, release = threading.Event(), threading.Event()

    def writer():
        with record_store.unit_of_work() as uow:
            uow.insert("incidents", t, {"id": "new", "store_id": "s"})
            opened.set()
            assert release.wait(WAIT)

    writing = Elsewhere(writer)
    try:
        assert opened.wait(WAIT)

        def read():
            with record_store.read_only() as ro:
                return ro.get("incidents", t, "old"), ro.get("incidents", t, "new"), ro.count("incidents", [t])

        old, new, count = Elsewhere(read).wait()  # fails, rather than hangs, if it waits for the writer
        assert old is not None and new is None and count == 1
    finally:
        release.set()
    writing.wait()
    assert _committed(record_store, t, "new") is not None


def test_read_only_point_reads_repeat_while_others_commit(record_store):
    t = _tenant()
    with record_store.unit_of_work() as uow:
        first = uow.insert("incidents", t, {"id": "a", "store_id": "v1"})

    def change():
        with record_store.unit_of_work() as uow:
            return uow.replace("incidents", t, {"id": "a", "store_id": "v2"}, if_match=first)

    with record_store.read_only() as ro:
        assert ro.get("incidents", t, "a")["_etag"] == first
        second = Elsewhere(change).wait()
        again = ro.get("incidents", t, "a")
        assert (again["store_id"], again["_etag"]) == ("v1", first)
    with record_store.read_only() as ro:
        latest = ro.get("incidents", t, "a")
        assert (latest["store_id"], latest["_etag"]) == ("v2", second)


# ---- rollback -----------------------------------------------------------------------------


def test_rollback_leaves_nothing_for_queries_counts_chains_or_batches(record_store):
    t = _tenant()
    with record_store.unit_of_work() as uow:
        uow.insert_many("incidents", t, [{"id": "k1", "store_id": "s"}, {"id": "k2", "store_id": "s"}])
    with pytest.raises(RuntimeError):
        with record_store.unit_of_work() as uow:
            uow.insert_many("incidents", t, [{"id": "n1", "store_id": "s"}, {"id": "n2", "store_id": "s"}])
            uow.delete_many("incidents", [(t, "k1")])
            uow.delete_where("incidents", [Where("id", "eq", "k2")], order_by="store_id", limit=10)
            uow.append_chained("audit", t, "audit", {"id": "e1", "action": "x"}, lambda p, s, e: f"{p}>{s}")
            raise RuntimeError("fails after writing")
    with record_store.read_only() as ro:
        assert sorted(d["id"] for d in ro.query("incidents", [t]).items) == ["k1", "k2"]
        assert ro.count("incidents", [t], [Where("store_id", "eq", "s")]) == 2
        assert ro.count("audit", [t]) == 0
        assert ro.get("chain_heads", t, "audit") is None


# ---- reading the unit's own writes ---------------------------------------------------------


def _at(day: int) -> str:
    return f"2026-01-{day:02d}T10:00:00.000000+00:00"


def _pages(uow, *args, limit, **kw):
    ids, continuation = [], None
    while True:
        page = uow.query(*args, limit=limit, continuation=continuation, **kw)
        assert len(page.items) <= limit
        ids += [d["id"] for d in page.items]
        continuation = page.continuation
        if not continuation:
            return ids


def test_queries_and_counts_see_the_units_own_writes(record_store):
    t, other = _tenant(), _tenant()
    with record_store.unit_of_work() as uow:
        ea = uow.insert("incidents", t, {"id": "a", "store_id": "s1", "occurred_at": _at(1), "offender_ids": ["o1"]})
        uow.insert("incidents", t, {"id": "b", "store_id": "s1", "occurred_at": _at(3)})
        uow.insert("incidents", t, {"id": "c", "store_id": "s1", "occurred_at": _at(5), "offender_ids": ["o1"]})
        uow.insert("incidents", other, {"id": "x", "store_id": "s1", "occurred_at": _at(2)})
    s1 = [Where("store_id", "eq", "s1")]
    with record_store.unit_of_work() as uow:
        uow.insert("incidents", t, {"id": "d", "store_id": "s1", "occurred_at": _at(2), "offender_ids": ["o1"]})
        b = uow.get("incidents", t, "b")
        uow.replace("incidents", t, {**b, "store_id": "s2"}, if_match=b["_etag"])  # leaves the filter
        assert uow.delete("incidents", t, "c") is True
        uow.upsert("incidents", t, {"id": "e", "store_id": "s1", "occurred_at": _at(4)})
        new_a = uow.replace("incidents", t, {"id": "a", "store_id": "s1", "occurred_at": _at(6), "offender_ids": ["o1"]}, if_match=ea)

        page = uow.query("incidents", [t], s1, order_by="occurred_at")
        assert [d["id"] for d in page.items] == ["d", "e", "a"] and page.continuation is None
        assert page.items[2]["_etag"] == new_a and page.items[2]["occurred_at"] == _at(6)
        assert [d["id"] for d in uow.query("incidents", [t], s1, order_by="occurred_at", descending=True).items] == ["a", "e", "d"]
        assert _pages(uow, "incidents", [t], s1, order_by="occurred_at", limit=2) == ["d", "e", "a"]
        assert sorted(_pages(uow, "incidents", [t], limit=1)) == ["a", "b", "d", "e"]
        assert sorted(d["id"] for d in uow.query("incidents", [t, other], s1).items) == ["a", "d", "e", "x"]
        assert uow.count("incidents", [t], s1) == 3
        assert uow.count("incidents", [t]) == 4
        assert uow.count("incidents", [t], [Where("offender_ids", "contains", "o1")]) == 2  # a and d; c is deleted
        assert uow.count("incidents", [t], [Where("store_id", "in", ["s2"])]) == 1
        assert [d["id"] for d in uow.query("incidents", [t], [Where("id", "eq", "d")]).items] == ["d"]
        assert [d["id"] for d in uow.query("incidents", [t], [Where("occurred_at", "ge", _at(4))], order_by="occurred_at").items] == [
            "e",
            "a",
        ]
    with record_store.read_only() as ro:  # committed as the unit saw it
        assert [d["id"] for d in ro.query("incidents", [t], s1, order_by="occurred_at").items] == ["d", "e", "a"]
        assert ro.count("incidents", [t]) == 4


def test_delete_where_sees_the_units_own_inserts(record_store):
    t = _tenant()
    with record_store.unit_of_work() as uow:
        uow.insert("incidents", t, {"id": "kept", "store_id": "keep"})
        uow.insert("incidents", t, {"id": "gone", "store_id": "sweep"})
        assert uow.delete_where("incidents", [Where("store_id", "eq", "sweep")], order_by="store_id", limit=10) == [(t, "gone")]
        assert uow.get("incidents", t, "gone") is None
        assert uow.count("incidents", [t]) == 1
    with record_store.read_only() as ro:
        assert [d["id"] for d in ro.query("incidents", [t]).items] == ["kept"]


def test_a_fresh_insert_that_clashes_is_a_conflict_at_commit_and_writes_nothing(record_store):
    t = _tenant()
    with record_store.unit_of_work() as uow:
        uow.insert("incidents", t, {"id": "taken", "store_id": "first"})
    with pytest.raises(Conflict):
        with record_store.unit_of_work() as uow:
            uow.insert("incident_versions", t, {"id": "taken:1", "incident_id": "taken", "version": 1}, fresh=True)
            uow.insert("incidents", t, {"id": "taken", "store_id": "second"}, fresh=True)
    with record_store.read_only() as ro:
        assert ro.get("incidents", t, "taken")["store_id"] == "first"
        assert ro.get("incident_versions", t, "taken:1") is None


def test_a_fresh_insert_is_seen_by_the_units_own_reads_and_counts(record_store):
    t = _tenant()
    with record_store.unit_of_work() as uow:
        uow.insert("incidents", t, {"id": "old", "store_id": "s", "offender_ids": ["o1"]})
    with record_store.unit_of_work() as uow:
        uow.insert("incidents", t, {"id": "new", "store_id": "s", "offender_ids": ["o1"]}, fresh=True)
        assert uow.get("incidents", t, "new")["store_id"] == "s"
        assert uow.count("incidents", [t], [Where("offender_ids", "contains", "o1")]) == 2
        uow.replace("incidents", t, {"id": "old", "store_id": "s", "offender_ids": ["o2"]}, if_match=None)
        assert uow.count("incidents", [t], [Where("offender_ids", "contains", "o1")]) == 1
    with record_store.read_only() as ro:
        assert ro.count("incidents", [t], [Where("offender_ids", "contains", "o1")]) == 1
