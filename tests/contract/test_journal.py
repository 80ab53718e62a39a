"""The audit journal contract (`RecordStore.journal`, `UnitOfWork.link_journal` and
`journal_pending`): entries of reads, kept outside any unit, reach their chain in order,
exactly once, after what was appended before them."""

from __future__ import annotations

import threading
import uuid

import pytest

from shared.ports import Where


def linker(prev, seq, entry):
    return f"{prev}>{seq}:{entry['id']}"


def _chain(store, tenant):
    with store.read_only() as uow:
        return [(e["seq"], e["id"], e["hash"]) for e in uow.query("audit", [tenant], [Where("chain", "eq", "audit")], order_by="seq").items]


def _link(store, tenant):
    with store.unit_of_work() as uow:
        return uow.link_journal("audit", tenant, "audit", linker)


def test_journaled_entries_reach_the_chain_in_order_after_earlier_appends(record_store):
    t = "org-" + uuid.uuid4().hex
    with record_store.unit_of_work() as uow:
        uow.append_chained("audit", t, "audit", {"id": "w1", "entity": "x/1", "at": "2026-03-01T10:00:00.000000+00:00"}, linker)
    record_store.journal("audit", t, "audit", {"id": "r1", "entity": "x/1", "at": "2026-03-01T10:00:00.000000+00:00"}, linker)
    record_store.journal("audit", t, "audit", {"id": "r2", "entity": "x/1", "at": "2026-03-01T10:00:00.000000+00:00"}, linker)
    with record_store.unit_of_work() as uow:
        uow.link_journal("audit", t, "audit", linker)
        uow.append_chained("audit", t, "audit", {"id": "w2", "entity": "x/1", "at": "2026-03-01T10:00:00.000000+00:00"}, linker)
    chain = _chain(record_store, t)
    assert [(seq, id_) for seq, id_, _ in chain] == [(1, "w1"), (2, "r1"), (3, "r2"), (4, "w2")]
    assert chain[-1][2] == ">1:w1>2:r1>3:r2>4:w2"
    with record_store.read_only() as uow:
        assert uow.journal_pending("audit", t, "audit") == 0


def test_each_journaled_entry_is_linked_once(record_store):
    t = "org-" + uuid.uuid4().hex
    record_store.journal("audit", t, "audit", {"id": "r1", "entity": "x/1", "at": "2026-03-01T10:00:00.000000+00:00"}, linker)
    _link(record_store, t)
    assert _link(record_store, t) == 0
    record_store.journal("audit", t, "audit", {"id": "r2", "entity": "x/1", "at": "2026-03-01T10:00:00.000000+00:00"}, linker)
    _link(record_store, t)
    _link(record_store, t)
    assert [id_ for _, id_, _ in _chain(record_store, t)] == ["r1", "r2"]


def test_a_failed_unit_does_not_lose_journaled_entries(record_store):
    t = "org-" + uuid.uuid4().hex
    record_store.journal("audit", t, "audit", {"id": "r1", "entity": "x/1", "at": "2026-03-01T10:00:00.000000+00:00"}, linker)
    with pytest.raises(RuntimeError):
        with record_store.unit_of_work() as uow:
            uow.link_journal("audit", t, "audit", linker)
            raise RuntimeError("the change failed after linking")
    _link(record_store, t)
    assert [id_ for _, id_, _ in _chain(record_store, t)] == ["r1"]


def test_journal_is_per_tenant(record_store):
    t, u = "org-" + uuid.uuid4().hex, "org-" + uuid.uuid4().hex
    record_store.journal("audit", t, "audit", {"id": "rt", "entity": "x/1", "at": "2026-03-01T10:00:00.000000+00:00"}, linker)
    record_store.journal("audit", u, "audit", {"id": "ru", "entity": "x/1", "at": "2026-03-01T10:00:00.000000+00:00"}, linker)
    _link(record_store, t)
    _link(record_store, u)
    assert [id_ for _, id_, _ in _chain(record_store, t)] == ["rt"]
    assert [id_ for _, id_, _ in _chain(record_store, u)] == ["ru"]


def test_linking_needs_a_unit_that_writes(record_store):
    t = "org-" + uuid.uuid4().hex
    with record_store.read_only() as uow:
        with pytest.raises(RuntimeError):
            uow.link_journal("audit", t, "audit", linker)


def test_journal_does_not_wait_for_a_unit_that_writes(record_store):
    t = "org-" + uuid.uuid4().hex
    holding, release = threading.Event(), threading.Event()

    def writer():
        with record_store.unit_of_work() as uow:
            uow.insert("incidents", t, {"id": "held", "store_id": "s"})
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        done = threading.Event()
        threading.Thread(
            target=lambda: (
                record_store.journal("audit", t, "audit", {"id": "r1", "entity": "x/1", "at": "2026-03-01T10:00:00.000000+00:00"}, linker),
                done.set(),
            )
        ).start()
        assert done.wait(5), "journal waited for the open write unit"
    finally:
        release.set()
        thread.join(10)
    _link(record_store, t)
    assert [id_ for _, id_, _ in _chain(record_store, t)] == ["r1"]
