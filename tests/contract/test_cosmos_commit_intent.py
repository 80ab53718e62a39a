"""Rolling back a Cosmos unit that died between its writes and its commit point: what it
replaced comes back, what it deleted comes back, its chain entries come off the chain,
and a version someone wrote since stands. The death is simulated in-process here (no
undo, no commit point); tests/contract/test_outbox_crash.py kills a real process."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from shared.adapters.azure.cosmos import unit_of_work
from shared.domain.errors import Conflict
from shared.records import AUDIT, CHAIN_HEADS, INCIDENTS, OUTBOX
from tests.fixtures_backends import drop_cosmos_store, make_cosmos_store

pytestmark = pytest.mark.azure
ORG = "northwind"


class Died(BaseException):
    """Stands for the process dying at the commit point."""


def link(prev, seq, body):
    return hashlib.sha256(f"{prev}|{seq}|{body['id']}".encode()).hexdigest()


@pytest.fixture
def store(cosmos_emulator):
    store = make_cosmos_store(cosmos_emulator)
    yield store
    drop_cosmos_store(store)


def die_at_commit_point(monkeypatch):
    def died(*args, **kwargs):
        raise Died()

    monkeypatch.setattr(unit_of_work.intents, "commit", died)
    # A dead process runs neither its undo nor the intent's removal.
    monkeypatch.setattr(unit_of_work, "undo_all", lambda undo: None)
    monkeypatch.setattr(unit_of_work.intents, "abandon", lambda store, intent: None)


def test_a_dead_unit_is_rolled_back_and_a_later_write_stands(store, monkeypatch):
    with store.unit_of_work() as uow:
        for i in "abc":
            uow.insert(INCIDENTS.name, ORG, {"id": i, "status": "reported"})
        uow.append_chained(AUDIT.name, ORG, "audit", {"at": "2026-11-30T12:00:00+00:00", "id": "e1"}, link)
    die_at_commit_point(monkeypatch)
    with pytest.raises(Died), store.unit_of_work() as uow:
        a = uow.get(INCIDENTS.name, ORG, "a")
        uow.replace(INCIDENTS.name, ORG, dict(a, status="closed"), a["_etag"])
        uow.delete(INCIDENTS.name, ORG, "b")
        c = uow.get(INCIDENTS.name, ORG, "c")
        uow.replace(INCIDENTS.name, ORG, dict(c, status="closed"), c["_etag"])
        uow.insert(INCIDENTS.name, ORG, {"id": "d", "status": "reported"})
        uow.append_chained(AUDIT.name, ORG, "audit", {"at": "2026-11-30T12:00:00+00:00", "id": "e2"}, link)
        uow.append_chained(AUDIT.name, ORG, "audit", {"at": "2026-11-30T12:00:00+00:00", "id": "e3"}, link)
    monkeypatch.undo()
    # Someone else changes c after the dead unit did: their version must stand.
    with store.unit_of_work() as uow:
        c = uow.get(INCIDENTS.name, ORG, "c")
        uow.replace(INCIDENTS.name, ORG, dict(c, status="reopened"), c["_etag"])
    # Not yet: the unit might still be committing.
    assert store.recover_commits(store.now() - timedelta(minutes=1)) == 0
    assert store.recover_commits(store.now() + timedelta(minutes=1)) == 1
    with store.read_only() as uow:
        assert uow.get(INCIDENTS.name, ORG, "a")["status"] == "reported"
        assert uow.get(INCIDENTS.name, ORG, "b")["status"] == "reported"
        assert uow.get(INCIDENTS.name, ORG, "c")["status"] == "reopened"
        assert uow.get(INCIDENTS.name, ORG, "d") is None
        assert [e["id"] for e in uow.query(AUDIT.name, [ORG], order_by="seq").items] == ["e1"]
        assert uow.get(CHAIN_HEADS.name, ORG, "audit")["seq"] == 1
        assert uow.query(OUTBOX.name, None).items == []
    # The chain goes on from where it was.
    with store.unit_of_work() as uow:
        uow.append_chained(AUDIT.name, ORG, "audit", {"at": "2026-11-30T12:00:00+00:00", "id": "e4"}, link)
    assert uow.links[0].seq == 2


def test_a_dead_first_append_removes_the_chain_head(store, monkeypatch):
    die_at_commit_point(monkeypatch)
    with pytest.raises(Died), store.unit_of_work() as uow:
        uow.insert(INCIDENTS.name, ORG, {"id": "a", "status": "reported"})
        uow.append_chained(AUDIT.name, ORG, "audit", {"at": "2026-11-30T12:00:00+00:00", "id": "e1"}, link)
    monkeypatch.undo()
    assert store.recover_commits(store.now() + timedelta(minutes=1)) == 1
    with store.read_only() as uow:
        assert uow.get(CHAIN_HEADS.name, ORG, "audit") is None
        assert uow.query(AUDIT.name, [ORG]).items == []


def test_dead_unit_entries_linked_on_by_others_stay(store, monkeypatch):
    die_at_commit_point(monkeypatch)
    with pytest.raises(Died), store.unit_of_work() as uow:
        uow.insert(INCIDENTS.name, ORG, {"id": "a", "status": "reported"})
        uow.append_chained(AUDIT.name, ORG, "audit", {"at": "2026-11-30T12:00:00+00:00", "id": "e1"}, link)
    monkeypatch.undo()
    with store.unit_of_work() as uow:
        uow.append_chained(AUDIT.name, ORG, "audit", {"at": "2026-11-30T12:00:00+00:00", "id": "e2"}, link)
    assert store.recover_commits(store.now() + timedelta(minutes=1)) == 1
    with store.read_only() as uow:
        assert [e["id"] for e in uow.query(AUDIT.name, [ORG], order_by="seq").items] == ["e1", "e2"]
        assert uow.get(INCIDENTS.name, ORG, "a") is None


def test_a_unit_that_fails_undoes_in_process_and_leaves_no_intent(store):
    import threading

    def create_z_elsewhere():
        with store.unit_of_work() as other:
            other.insert(INCIDENTS.name, ORG, {"id": "z", "status": "reported"})

    with pytest.raises(Conflict), store.unit_of_work() as uow:
        uow.insert(INCIDENTS.name, ORG, {"id": "b", "status": "reported"})
        uow.insert(INCIDENTS.name, ORG, {"id": "z", "status": "reported"})
        # Another unit creates z first: this unit's create of z fails at commit.
        t = threading.Thread(target=create_z_elsewhere)
        t.start()
        t.join()
    with store.read_only() as uow:
        assert uow.get(INCIDENTS.name, ORG, "b") is None
        assert uow.query(OUTBOX.name, None).items == []


def test_a_dead_units_sharded_entries_come_off_the_shard_they_landed_in(store, monkeypatch):
    at = "2026-11-30T12:00:00+00:00"
    with store.unit_of_work() as uow:
        uow.append_chained(AUDIT.name, ORG, "audit", {"at": at, "id": "s1"}, link, shards=8)
    die_at_commit_point(monkeypatch)
    with pytest.raises(Died), store.unit_of_work() as uow:
        uow.append_chained(AUDIT.name, ORG, "audit", {"at": at, "id": "s2"}, link, shards=8)
        uow.append_chained(AUDIT.name, ORG, "audit", {"at": at, "id": "s3"}, link, shards=8)
    monkeypatch.undo()
    with store.read_only() as uow:
        landed = {e["id"]: (e["chain"], e["seq"]) for e in uow.query(AUDIT.name, [ORG]).items}
    # The shard is only fixed at commit; the unit's two entries went to one shard together.
    shard = landed["s2"][0]
    assert landed["s3"] == (shard, landed["s2"][1] + 1)
    assert store.recover_commits(store.now() + timedelta(minutes=1)) == 1
    with store.read_only() as uow:
        assert [e["id"] for e in uow.query(AUDIT.name, [ORG]).items] == ["s1"]
        head = uow.get(CHAIN_HEADS.name, ORG, shard)
        if shard == landed["s1"][0]:
            assert head["seq"] == 1
        else:
            assert head is None
