"""An organisation's audit trail as several hash chains (shards), on both record stores:
concurrent writers all land, every shard verifies on its own, tampering in any shard is
named, checkpoints pin every shard, and a trail written as one chain still verifies."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from shared.adapters.checkpoints import BlobCheckpointStore
from shared.adapters.local.file_evidence import FileEvidenceStore
from shared.domain.audit import AUDIT_CHAIN, AuditAction, ChainKeys, shard_chain, shard_index
from shared.domain.tenancy import OrgKind, Principal, Role
from shared.ports import Where, iterate_all
from shared.records import AUDIT, CHAIN_HEADS
from shared.services.audit import AuditTrail
from shared.services.audit_walk import CHAINS
from shared.services.checkpoints import ChainCheckpoints
from tests.fakes import FakeClock

pytestmark = pytest.mark.xdist_group("audit-shards-cosmos")

KEYS = ChainKeys({"k1": b"1" * 32}, "k1")
ORG = "northwind"
ADMIN = Principal(user_id="nw-admin", organisation_id=ORG, organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_ADMIN}))


def make_trail(records, tmp_path, shards: int) -> AuditTrail:
    clock = FakeClock()
    blobs = FileEvidenceStore(tmp_path / "checkpoints", clock=clock)
    checkpoints = ChainCheckpoints(BlobCheckpointStore(blobs, clock, keep=timedelta(days=3650)), records, KEYS, clock)
    return AuditTrail(records, clock, KEYS, checkpoints, shards=shards)


def write(trail: AuditTrail, records, units: int, *, per_unit: int = 1, tag: str = "") -> None:
    for i in range(units):
        with records.unit_of_work() as uow:
            for j in range(per_unit):
                trail.record(
                    uow,
                    owner_org=ORG,
                    principal=ADMIN,
                    action=AuditAction.CONSULTATION,
                    operation="incident.read",
                    entity=f"incident/{tag}{i}-{j}",
                )


def by_shard(records) -> dict[int, list[dict]]:
    with records.read_only() as uow:
        found = list(iterate_all(uow, AUDIT.name, [ORG], [Where("chain", "in", CHAINS)], order_by="seq", limit=500))
    shards: dict[int, list[dict]] = {}
    for e in found:
        shards.setdefault(shard_index(AUDIT_CHAIN, e["chain"]), []).append(e)
    return {k: sorted(v, key=lambda e: e["seq"]) for k, v in shards.items()}


def plain(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def replace(records, doc: dict, **changes) -> None:
    with records.unit_of_work() as uow:
        current = uow.get(AUDIT.name, ORG, doc["id"])
        uow.replace(AUDIT.name, ORG, {**plain(doc), **changes}, if_match=current["_etag"])


def test_concurrent_appends_from_eight_threads_all_land_and_every_shard_verifies(record_store, tmp_path):
    trail = make_trail(record_store, tmp_path, shards=16)
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            write(trail, record_store, 5, per_unit=2, tag=f"w{n}-")
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    shards = by_shard(record_store)
    entries = [e for v in shards.values() for e in v]
    assert len(entries) == 80 and len({e["id"] for e in entries}) == 80
    assert len(shards) > 1  # writers spread over the shards
    # A unit's two entries sit in one shard, one after the other.
    for v in shards.values():
        units: dict[str, list[int]] = {}
        for e in v:
            units.setdefault(e["entity"].rsplit("-", 1)[0], []).append(e["seq"])
        assert all(sorted(seqs) == list(range(min(seqs), min(seqs) + len(seqs))) for seqs in units.values())
    result = trail.verify_chain(ORG)
    assert result["verified"] is True and result["entries_checked"] == 80
    with record_store.read_only() as uow:
        for k, v in shards.items():
            head = uow.get(CHAIN_HEADS.name, ORG, shard_chain(AUDIT_CHAIN, k))
            assert (head["seq"], head["hash"]) == (v[-1]["seq"], v[-1]["hash"])


def test_tampering_in_a_shard_other_than_0_is_named(record_store, tmp_path):
    trail = make_trail(record_store, tmp_path, shards=3)
    write(trail, record_store, 30)
    shards = by_shard(record_store)
    k = max((s for s in shards if s != 0), key=lambda s: len(shards[s]))
    victims = shards[k]
    assert len(victims) >= 4
    second, third = victims[1], victims[2]
    assert trail.verify_chain(ORG)["verified"] is True

    # An edited entry.
    replace(record_store, second, purpose="Nothing to see here")
    broken = trail.verify_chain(ORG)["first_broken"]
    assert (broken["shard"], broken["seq"], broken["id"], broken["reason"]) == (k, 2, second["id"], "content does not match its hash")
    replace(record_store, second)
    assert trail.verify_chain(ORG)["verified"] is True

    # Two entries swapped in order.
    replace(record_store, second, seq=3)
    replace(record_store, third, seq=2)
    broken = trail.verify_chain(ORG)["first_broken"]
    assert broken["shard"] == k and broken["seq"] == 2 and broken["reason"] == "does not link to the previous entry"
    replace(record_store, second)
    replace(record_store, third)
    assert trail.verify_chain(ORG)["verified"] is True

    # An entry moved into another shard, linked on from that shard's head.
    other = next(s for s in range(3) if s != k)
    last = shards[other][-1]
    with record_store.unit_of_work() as uow:
        moved = {**plain(victims[-1]), "chain": shard_chain(AUDIT_CHAIN, other), "seq": last["seq"] + 1, "prev_hash": last["hash"]}
        uow.delete(AUDIT.name, ORG, victims[-1]["id"])
        uow.insert(AUDIT.name, ORG, moved)
        uow.upsert(CHAIN_HEADS.name, ORG, {"id": shard_chain(AUDIT_CHAIN, other), "seq": moved["seq"], "hash": moved["hash"]})
    broken = trail.verify_chain(ORG)["first_broken"]
    assert broken["shard"] in (k, other) and not trail.verify_chain(ORG)["verified"]
    with record_store.unit_of_work() as uow:
        uow.delete(AUDIT.name, ORG, moved["id"])
        uow.insert(AUDIT.name, ORG, plain(victims[-1]))
        uow.upsert(CHAIN_HEADS.name, ORG, {"id": shard_chain(AUDIT_CHAIN, other), "seq": last["seq"], "hash": last["hash"]})
    assert trail.verify_chain(ORG)["verified"] is True

    # A deleted entry in the middle, then the newest (its head left in place).
    with record_store.unit_of_work() as uow:
        uow.delete(AUDIT.name, ORG, second["id"])
    assert trail.verify_chain(ORG)["first_broken"] == {"shard": k, "seq": 2, "id": None, "reason": "entry 2 is missing"}
    with record_store.unit_of_work() as uow:
        uow.insert(AUDIT.name, ORG, plain(second))
        uow.delete(AUDIT.name, ORG, victims[-1]["id"])
    broken = trail.verify_chain(ORG)["first_broken"]
    assert broken["shard"] == k and broken["seq"] == len(victims) and "missing" in broken["reason"]


def test_a_checkpoint_pins_every_shard(record_store, tmp_path):
    trail = make_trail(record_store, tmp_path, shards=4)
    write(trail, record_store, 24)
    outcome, published = trail.publish_checkpoint(ORG)
    assert outcome == "published"
    shards = by_shard(record_store)
    assert {int(s) for s in published["shards"]} == set(shards)
    assert published["seq"] == sum(len(v) for v in shards.values())
    write(trail, record_store, 4, tag="after-")
    assert trail.check(ORG)["verified"] is True
    # Cut the newest entries of a shard other than 0 and rewind its head: the checkpoint says.
    k = max(s for s in shards if s != 0)
    cut = by_shard(record_store)[k]
    keep = len(shards[k]) - 1
    with record_store.unit_of_work() as uow:
        uow.delete_many(AUDIT.name, [(ORG, e["id"]) for e in cut[keep:]])
        uow.upsert(CHAIN_HEADS.name, ORG, {"id": shard_chain(AUDIT_CHAIN, k), "seq": cut[keep - 1]["seq"], "hash": cut[keep - 1]["hash"]})
    for result in (trail.check(ORG), trail.verify_chain(ORG)):
        assert result["verified"] is False
        assert result["first_broken"]["shard"] == k and "checkpoint 1" in result["first_broken"]["reason"]
    assert trail.publish_checkpoint(ORG)[0] == "not_verified"
    # A whole shard removed, head and all, is named too.
    with record_store.unit_of_work() as uow:
        uow.delete_many(AUDIT.name, [(ORG, e["id"]) for e in cut[:keep]])
        uow.delete(CHAIN_HEADS.name, ORG, shard_chain(AUDIT_CHAIN, k))
    result = trail.check(ORG)
    assert result["verified"] is False and result["first_broken"]["shard"] == k


def test_an_old_single_chain_trail_still_verifies_and_grows_sharded(record_store, tmp_path):
    before = make_trail(record_store, tmp_path, shards=1)
    write(before, record_store, 6)
    outcome, published = before.publish_checkpoint(ORG)
    assert outcome == "published" and "shards" not in published  # the form it had before sharding
    assert set(by_shard(record_store)) == {0}

    after = make_trail(record_store, tmp_path, shards=8)
    assert after.verify_chain(ORG)["verified"] is True
    write(after, record_store, 16, tag="sharded-")
    shards = by_shard(record_store)
    assert len(shards[0]) >= 6 and len(shards) > 1
    checked = after.check(ORG)
    assert checked["verified"] is True and checked["checkpoint"]["number"] == 1
    assert after.verify_chain(ORG)["entries_checked"] == 22
    outcome, published = after.publish_checkpoint(ORG)
    assert outcome == "published" and published["seq"] == 22
    assert after.check(ORG)["verified"] is True
    # An entry of the old chain edited behind both checkpoints is still named.
    replace(record_store, shards[0][2], actor_user="someone-else")
    broken = after.verify_chain(ORG)["first_broken"]
    assert (broken["shard"], broken["seq"]) == (0, 3)


def test_the_trail_lists_newest_first_across_shards_page_by_page(record_store, tmp_path):
    trail = make_trail(record_store, tmp_path, shards=8)
    write(trail, record_store, 6, tag="a")  # one instant: the clock does not move
    trail._clock.advance(minutes=1)
    write(trail, record_store, 6, tag="b")
    assert len(by_shard(record_store)) > 1
    listed, token = [], None
    while True:
        items, token = trail.entries(ORG, entity=None, limit=5, continuation=token)
        listed += [e["entity"] for e in items]
        if not token:
            break
    made = [f"incident/{tag}{i}-0" for tag in "ab" for i in range(6)]
    assert listed == made[::-1]


def test_shard_names_and_the_first_shard_tried():
    from shared.domain.audit import MAX_SHARDS, first_shard

    assert shard_chain(AUDIT_CHAIN, 0) == "audit" and shard_chain(AUDIT_CHAIN, 3) == "audit/3"
    assert [shard_index(AUDIT_CHAIN, n) for n in ("audit", "audit/3", "audit/03", "audit/0", "audit/64", "custody/x")] == [
        0,
        3,
        None,
        None,
        None,
        None,
    ]
    with pytest.raises(ValueError):
        shard_chain(AUDIT_CHAIN, MAX_SHARDS)
    assert first_shard("anything", 1) == 0
    picks = {first_shard(f"entry-{i}", 16) for i in range(200)}
    assert picks == set(range(16))  # ids spread over every shard


def test_a_lost_race_moves_to_another_shard_and_backs_off_only_when_that_loses_too(monkeypatch):
    from shared.adapters.azure.cosmos import chain

    slept: list[int] = []
    monkeypatch.setattr(chain, "backoff", slept.append)
    assert chain._retry(0, 0, 1) == 0 and slept == [0]  # one chain: back off, same head
    slept.clear()
    moved = chain._retry(0, 5, 16)
    assert moved != 5 and 0 <= moved < 16 and slept == []  # first loss: at once, elsewhere
    assert chain._retry(1, moved, 16) != moved and slept == [0]


def test_retention_prunes_each_shard_behind_its_own_attested_anchor(record_store, tmp_path):
    from datetime import UTC, datetime

    from shared.records import TOMBSTONES
    from tests.retention.helpers import container_on

    org = "contoso"
    admin = Principal(user_id="ct-admin", organisation_id=org, organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_ADMIN}))
    c = container_on(record_store, tmp_path, audit_chain_shards=4)
    first, later = datetime(2026, 11, 23, 12, 0, tzinfo=UTC), datetime(2027, 6, 1, 9, 0, tzinfo=UTC)
    for at, n in ((first, 12), (later, 12)):
        c.clock.current = at
        for i in range(n):
            with c.records.unit_of_work() as uow:
                c.audit.record(
                    uow, owner_org=org, principal=admin, action=AuditAction.CONSULTATION, operation="incident.read", entity=f"incident/{i}"
                )
    c.clock.current = first.replace(year=2036)  # the 120-month audit period of the first 12 is over
    assert c.retention.sweep.run(c.clock.current, organisations=[org]).counts["audit_entries_pruned"] == 12
    chain = c.audit.verify_chain(org)
    assert chain["verified"] is True and chain["pruned"]["count"] == 12
    anchored = {int(k) for k in chain["pruned"].get("shards", {"0": 0})}
    with c.records.read_only() as uow:
        left = list(iterate_all(uow, AUDIT.name, [org], [Where("chain", "in", CHAINS)], order_by="seq", limit=100))
        tombs = uow.query(TOMBSTONES.name, [org], limit=20).items
    # Each pruned shard has its own pruning entry, in that shard, and its own tombstone.
    pruning = [e for e in left if e["entity"] == "audit/anchor"]
    assert {shard_index(AUDIT_CHAIN, e["chain"]) for e in pruning} == anchored and len(pruning) == len(anchored)
    assert sum(t["count"] for t in tombs) == 12 and len(tombs) == len(anchored)
    # An anchor moved by hand in a shard other than 0 is named in that shard.
    kept = {k: [e for e in left if shard_index(AUDIT_CHAIN, e["chain"]) == k and e["entity"] != "audit/anchor"] for k in anchored}
    k = max(k for k in anchored if k != 0 and kept[k])
    hidden = kept[k][0]
    with c.records.unit_of_work() as uow:
        anchor = uow.get(CHAIN_HEADS.name, org, f"anchor:{shard_chain(AUDIT_CHAIN, k)}")
        uow.delete(AUDIT.name, org, hidden["id"])
        uow.upsert(CHAIN_HEADS.name, org, {**plain(anchor), "seq": hidden["seq"], "hash": hidden["hash"]})
    broken = c.audit.verify_chain(org)["first_broken"]
    assert broken["shard"] == k and "not attested" in broken["reason"]


def test_a_sharded_trail_is_checkpointed_once_all_its_shards_have_grown_by_n(record_store, tmp_path):
    from datetime import UTC, datetime

    trail = make_trail(record_store, tmp_path, shards=4)
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    write(trail, record_store, 6)
    assert trail.organisations() == [ORG]
    assert trail.checkpoint_due(now, every=8).counts["not_due"] == 1  # 6 entries over the shards: not yet
    write(trail, record_store, 3, tag="more-")
    assert len(by_shard(record_store)) > 1
    assert trail.checkpoint_due(now, every=8).counts["published"] == 1  # 9, counted over every shard
    assert trail.checkpoints.latest(ORG)["seq"] == 9
    assert trail.checkpoint_due(now, every=8).counts["not_due"] == 1


def test_the_sweep_finds_what_is_due_in_any_shard_not_only_shard_0(record_store, tmp_path):
    from datetime import UTC, datetime

    from tests.retention.helpers import container_on

    org = "contoso"
    c = container_on(record_store, tmp_path, audit_chain_shards=4)
    c.clock.current = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    # Old entries that all went to shard 2; shard 0 holds nothing at all.
    with c.records.unit_of_work() as uow:
        for i in range(3):
            entry = c.audit._entry(None, AuditAction.CONSULTATION, "incident.read", f"incident/{i}", (), (), None, None, "system")
            uow.append_chained(AUDIT.name, org, shard_chain(AUDIT_CHAIN, 2), entry, c.audit._link)
    c.clock.current = c.clock.current.replace(year=2036)
    assert c.retention.sweep.run(c.clock.current, organisations=[org]).counts["audit_entries_pruned"] == 3
    chain = c.audit.verify_chain(org)
    assert chain["verified"] is True and chain["pruned"]["shards"] == {"2": 3}
