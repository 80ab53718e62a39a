"""What only the Cosmos adapter has: ttl, partition keys, undo at commit, races on ETags,
hierarchical buckets. Runs on cosmosdb-server; each skip names what the emulator lacks."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.errors import Conflict, Invalid, PreconditionFailed
from shared.ports import Where
from shared.records import ALL, Collection
from tests.fixtures_backends import drop_cosmos_store, make_cosmos_store

pytestmark = pytest.mark.azure


class FixedClock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(cosmos_emulator):
    s = make_cosmos_store(cosmos_emulator, clock=FixedClock(NOW))
    yield s
    drop_cosmos_store(s)


def _id() -> str:
    return uuid.uuid4().hex


def _raw(store, collection, tenant, id_):
    return store.read_raw(store.collection(collection), tenant, id_)


def _elsewhere(fn) -> None:
    """Run `fn` on another thread and wait: another unit, since a unit on this thread would join ours."""
    failed: list[BaseException] = []

    def run():
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the calling thread
            failed.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def test_items_carry_tenant_partition_and_ttl(store):
    t = "org-" + _id()
    with store.unit_of_work() as uow:
        uow.insert("idempotency", t, {"id": "soon", "expires_at": NOW + timedelta(minutes=10, seconds=0.2)})
        uow.insert("idempotency", t, {"id": "past", "expires_at": (NOW - timedelta(days=1)).isoformat()})
        uow.insert("idempotency", t, {"id": "never"})
        uow.insert("incidents", t, {"id": "i", "expires_at": "2026-05-02T00:00:00+00:00"})
    soon = _raw(store, "idempotency", t, "soon")
    assert (soon["tenantId"], soon["pk"], soon["ttl"]) == (t, t, 601)
    assert _raw(store, "idempotency", t, "past")["ttl"] == 1
    assert "ttl" not in _raw(store, "idempotency", t, "never")
    assert "ttl" not in _raw(store, "incidents", t, "i")  # not an expiring collection
    with store.unit_of_work() as uow:
        doc = uow.get("idempotency", t, "soon")
    assert set(doc) == {"id", "expires_at", "_etag", "_tenant"}
    assert doc["expires_at"] == "2026-05-01T12:10:00.200000+00:00"


def test_ttl_enforcement(store):
    t = "org-" + _id()
    with store.unit_of_work() as uow:
        uow.insert("idempotency", t, {"id": "gone", "expires_at": NOW - timedelta(days=1)})
    assert _raw(store, "idempotency", t, "gone")["ttl"] == 1
    pytest.skip(
        "TTL enforcement: cosmosdb-server stores ttl but never deletes expired items (real Cosmos does; the timer sweep covers both)"
    )


def test_containers_follow_the_catalogue(store):
    db = store.database()
    names = {c["id"]: c for c in db.list_containers()}
    assert set(names) == set(ALL)
    for name, coll in ALL.items():
        props = names[name]
        assert props["partitionKey"]["paths"] == ["/pk"]
        assert props.get("defaultTtl") == (-1 if coll.expires else None)
        composites = props.get("indexingPolicy", {}).get("compositeIndexes", [])
        # Its own orderings and each keyset ordering (`id` last), in both directions.
        assert len(composites) == 2 * (len(coll.composite) + len(coll.keyset_composites))
    assert store.ready() == (True, "ok")


def test_adapter_fields_are_reserved(store):
    with store.unit_of_work() as uow:
        for field in ("tenantId", "pk", "ttl", "vigilEtag"):
            with pytest.raises(ValueError):
                uow.insert("stores", "t", {"id": "x", field: 1})


def test_every_tenant_query_filters_on_tenant(store, monkeypatch):
    sent: list[str] = []
    container = store.container("incidents")
    original = container.query_items

    def spy(query, *args, **kwargs):
        sent.append(query)
        return original(query, *args, **kwargs)

    monkeypatch.setattr(container, "query_items", spy)
    t, u = "org-" + _id(), "org-" + _id()
    with store.unit_of_work() as uow:
        uow.insert_many("incidents", t, [{"id": "a", "store_id": "s"}])
        uow.delete_many("incidents", [(u, "a")])
        uow.query("incidents", [t], [Where("store_id", "eq", "s")], order_by="occurred_at")
        uow.query("incidents", [t, u], [Where("plates", "contains", "X")])
        uow.count("incidents", [t, u])
        uow.query("incidents", None, [Where("store_id", "eq", "s")])
    tenant_scoped, sweeps = sent[:-1], sent[-1:]
    # insert_many's and delete_many's id look-ups, two queries and a count; no look-up of
    # which of the unit's pending documents are stored: "a" was looked up and was not.
    assert len(tenant_scoped) == 5
    assert all("c.tenantId = @tenant" in q or "c.tenantId IN (" in q for q in tenant_scoped), tenant_scoped
    assert "tenantId" not in sweeps[0]


def test_continuation_of_another_query_is_invalid(store):
    t = "org-" + _id()
    with store.unit_of_work() as uow:
        uow.insert_many("incidents", t, [{"id": f"c{i}", "store_id": "s", "occurred_at": f"2026-01-0{i + 1}"} for i in range(3)])
    with store.unit_of_work() as uow:
        page = uow.query("incidents", [t], [Where("store_id", "eq", "s")], order_by="occurred_at", limit=1)
        assert page.continuation
        with pytest.raises(Invalid):
            uow.query("incidents", [t], [Where("store_id", "eq", "other")], order_by="occurred_at", limit=1, continuation=page.continuation)
        with pytest.raises(Invalid):
            uow.query(
                "incidents",
                ["someone-else"],
                [Where("store_id", "eq", "s")],
                order_by="occurred_at",
                limit=1,
                continuation=page.continuation,
            )


def test_stale_write_fails_at_commit_and_undoes_the_rest(store):
    t = "org-" + _id()
    with store.unit_of_work() as uow:
        etag = uow.insert("incidents", t, {"id": "shared", "store_id": "v1"})
        uow.insert("incidents", t, {"id": "keep", "store_id": "k1"})
    with pytest.raises(PreconditionFailed):
        with store.unit_of_work() as mine:
            mine.insert("incidents", t, {"id": "extra", "store_id": "x"})
            keep = mine.get("incidents", t, "keep")
            mine.replace("incidents", t, {"id": "keep", "store_id": "k2"}, if_match=keep["_etag"])
            mine.replace("incidents", t, {"id": "shared", "store_id": "mine"}, if_match=etag)

            def theirs():  # someone else commits first
                with store.unit_of_work() as uow:
                    uow.replace("incidents", t, {"id": "shared", "store_id": "theirs"}, if_match=etag)

            _elsewhere(theirs)
    with store.unit_of_work() as uow:
        assert uow.get("incidents", t, "shared")["store_id"] == "theirs"
        assert uow.get("incidents", t, "extra") is None  # created, then undone
        assert uow.get("incidents", t, "keep") == keep  # replaced, then put back with its ETag


def test_insert_race_is_a_conflict_at_commit(store):
    t = "org-" + _id()
    with pytest.raises(Conflict):
        with store.unit_of_work() as mine:
            mine.insert("incidents", t, {"id": "first", "store_id": "s"})
            mine.insert("incidents", t, {"id": "race", "store_id": "mine"})

            def theirs():
                with store.unit_of_work() as uow:
                    uow.insert("incidents", t, {"id": "race", "store_id": "theirs"})

            _elsewhere(theirs)
    with store.unit_of_work() as uow:
        assert uow.get("incidents", t, "race")["store_id"] == "theirs"
        assert uow.get("incidents", t, "first") is None


def test_chain_append_retries_when_the_head_moves(store):
    t = "org-" + _id()
    interfered = []

    def linker(prev, seq, entry):
        if entry["id"] == "mine" and not interfered:
            interfered.append(seq)

            def other():  # lands between our head read and head write
                with store.unit_of_work() as uow:
                    uow.append_chained(
                        "audit",
                        t,
                        "audit",
                        {"id": "theirs", "at": "2026-03-01T10:00:00.000000+00:00"},
                        lambda p, s, e: f"{p}>{s}:{e['id']}",
                    )

            _elsewhere(other)
        return f"{prev}>{seq}:{entry['id']}"

    with store.unit_of_work() as uow:
        assert uow.append_chained("audit", t, "audit", {"id": "mine", "at": "2026-03-01T10:00:00.000000+00:00"}, linker) is None
    assert [(link.seq, link.hash) for link in uow.links] == [(2, ">1:theirs>2:mine")]
    with store.unit_of_work() as uow:
        entries = uow.query("audit", [t], [Where("chain", "eq", "audit")], order_by="seq").items
    assert [(e["id"], e["seq"]) for e in entries] == [("theirs", 1), ("mine", 2)]
    assert interfered == [1]


def test_sequences_are_unique_under_concurrency(store):
    t = "org-" + _id()
    got: list[int] = []
    lock = threading.Lock()

    def worker():
        for _ in range(5):
            with store.unit_of_work() as uow:
                n = uow.next_sequence(t, "ref")
            with lock:
                got.append(n)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(got) == 20 and len(set(got)) == 20


def test_sequence_survives_rollback(store):
    t = "org-" + _id()
    with pytest.raises(RuntimeError):
        with store.unit_of_work() as uow:
            assert uow.next_sequence(t, "ref") == 1
            raise RuntimeError("request failed")
    with store.unit_of_work() as uow:
        assert uow.next_sequence(t, "ref") == 2  # a gap is allowed, a repeat is not


BUCKETED = Collection("bucketed", indexed=("at", "kind"), hierarchical_bucket="at")


def test_hierarchical_bucket_partitions(cosmos_emulator):
    store = make_cosmos_store(cosmos_emulator, collections={**ALL, BUCKETED.name: BUCKETED})
    try:
        t = "org-" + _id()
        with store.unit_of_work() as uow:
            uow.insert("bucketed", t, {"id": "b1", "at": "2026-01-15T10:00:00.000000+00:00", "kind": "x"})
            uow.insert("bucketed", t, {"id": "b2", "at": datetime(2026, 2, 1, tzinfo=UTC), "kind": "x"})
            uow.insert("bucketed", "org-other", {"id": "b1", "at": "2026-01-15T10:00:00.000000+00:00", "kind": "x"})
        assert _raw(store, "bucketed", t, "b1")["pk"] == f"{t}|2026-01"
        assert _raw(store, "bucketed", t, "b2")["pk"] == f"{t}|2026-02"
        with store.unit_of_work() as uow:
            with pytest.raises(Conflict):  # ids stay unique per tenant across buckets
                uow.insert("bucketed", t, {"id": "b1", "at": "2026-03-01T00:00:00.000000+00:00"})
            b1 = uow.get("bucketed", t, "b1")
            moved = uow.replace("bucketed", t, {"id": "b1", "at": "2026-03-01T00:00:00.000000+00:00", "kind": "y"}, if_match=b1["_etag"])
        assert _raw(store, "bucketed", t, "b1")["pk"] == f"{t}|2026-03"
        with store.unit_of_work() as uow:
            assert uow.get("bucketed", t, "b1")["_etag"] == moved
            hits = uow.query("bucketed", [t], [Where("kind", "in", ["x", "y"])], order_by="at").items
            assert [d["id"] for d in hits] == ["b2", "b1"]
            assert uow.count("bucketed", [t]) == 2
            uow.upsert("bucketed", t, {"id": "b2", "at": "2026-04-01T00:00:00.000000+00:00", "kind": "z"})
            assert uow.delete("bucketed", t, "b1") is True
        with store.unit_of_work() as uow:
            assert uow.get("bucketed", t, "b1") is None
            assert [d["at"][:7] for d in uow.query("bucketed", [t]).items] == ["2026-04"]
            assert uow.get("bucketed", "org-other", "b1") is not None
        with store.unit_of_work() as uow:
            with pytest.raises(ValueError):
                uow.insert("bucketed", t, {"id": "no-bucket"})
    finally:
        drop_cosmos_store(store)


def test_unreachable_store_is_not_ready_and_construction_does_no_io():
    from shared.adapters.azure.cosmos import EMULATOR_KEY, CosmosRecordStore
    from tests.emulators import free_port

    store = CosmosRecordStore(f"http://127.0.0.1:{free_port()}/", region="uk", key=EMULATOR_KEY, create_if_missing=False)
    ok, reason = store.ready()
    assert not ok and reason == "The record store cannot be reached."
    store.close()


def test_audit_entries_are_partitioned_by_organisation_and_month(store):
    t = "org-" + _id()
    linker = lambda prev, seq, entry: f"{prev}>{seq}:{entry['id']}"  # noqa: E731
    with store.unit_of_work() as uow:
        uow.append_chained("audit", t, "audit", {"id": "jan", "at": "2026-01-31T23:59:00.000000+00:00"}, linker)
        uow.append_chained("audit", t, "audit", {"id": "feb", "at": "2026-02-01T00:00:00.000000+00:00"}, linker)
    container = store.container("audit")
    pks = {
        r["id"]: r["pk"]
        for r in container.query_items(
            "SELECT c.id, c.pk FROM c WHERE c.tenantId = @t", parameters=[{"name": "@t", "value": t}], enable_cross_partition_query=True
        )
    }
    assert pks == {"jan": f"{t}|2026-01", "feb": f"{t}|2026-02"}
    with store.read_only() as uow:
        assert uow.get("audit", t, "feb")["at"].startswith("2026-02")
        pages = uow.query("audit", [t], [Where("chain", "eq", "audit")], order_by="seq", limit=1)
        assert [e["id"] for e in pages.items] == ["jan"] and pages.continuation
