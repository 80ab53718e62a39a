"""The audit trail: every read and change recorded, and tampering named."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from functions.jobs import load_all, run_job
from shared.domain.audit import ChainKeys, link_hash
from shared.ports import Where
from shared.services.checkpoints import checkpoint_name
from tests.fixtures_http import both_backends, make_stamp
from tests.http.test_incidents import report

load_all()

# These tamper with one chain by its seq numbers: a trail of one shard, as every trail was
# before sharding (and as shard 0 of a sharded one still is). tests/test_audit_shards.py
# tampers with the shards of a sharded trail.
pytestmark = pytest.mark.stamp_settings(audit_chain_shards=1)


def test_every_action_is_audited_and_chain_verifies(stamp):
    incident = report(stamp).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    stamp.client.get(f"/api/v1/incidents/{incident['id']}", headers=inv)
    stamp.client.get("/api/v1/incidents", headers=inv)
    police = stamp.auth("devon-and-cornwall", "Police.Officer")
    stamp.client.get(f"/api/v1/incidents/{incident['id']}", params={"purpose": "crime report follow-up"}, headers=police)
    admin = stamp.auth("northwind", "Retailer.Admin")
    r = stamp.client.get("/api/v1/audit", params={"entity": f"incident/{incident['id']}"}, headers=admin).json()
    ops = [(e["operation"], e["action"]) for e in r["items"]]
    assert ("incident.create", "collection") in ops
    assert ("incident.read", "consultation") in ops
    disclosure = [e for e in r["items"] if e["action"] == "disclosure"][0]
    assert disclosure["recipient_org"] == "devon-and-cornwall" and disclosure["purpose"] == "crime report follow-up"
    assert r["chain"]["verified"] is True


def test_hand_edited_audit_row_is_named(stamp):
    incident = report(stamp).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    for _ in range(3):
        stamp.client.get(f"/api/v1/incidents/{incident['id']}", headers=inv)
    admin = stamp.auth("northwind", "Retailer.Admin")
    # Reads journal their entries; reviewing the trail links them into the chain.
    assert stamp.client.get("/api/v1/audit", headers=admin).json()["chain"]["verified"] is True
    db = sqlite3.connect(stamp.data_dir / "uk" / "records.sqlite")
    row = db.execute("SELECT id, doc FROM c_audit WHERE tenant='northwind' AND f_seq=2").fetchone()
    doc = json.loads(row[1])
    doc["actor_user"] = "someone-else"
    db.execute("UPDATE c_audit SET doc=? WHERE tenant='northwind' AND id=?", (json.dumps(doc), row[0]))
    db.commit()
    db.close()
    chain = stamp.client.get("/api/v1/audit", headers=admin).json()["chain"]
    assert chain["verified"] is False
    assert chain["first_broken"]["seq"] == 2 and chain["first_broken"]["id"] == row[0]


def test_reads_answer_while_a_long_write_holds_the_store_and_are_audited(stamp):
    import threading
    import time

    incident = report(stamp).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    holding, release = threading.Event(), threading.Event()

    def long_write():
        with stamp.container.records.unit_of_work() as uow:
            uow.next_sequence("northwind", "held-by-test")
            holding.set()
            release.wait(20)

    writer = threading.Thread(target=long_write)
    writer.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        read = stamp.client.get(f"/api/v1/incidents/{incident['id']}", headers=inv)
        search = stamp.client.get("/api/v1/incidents", headers=inv)
        history = stamp.client.get(f"/api/v1/incidents/{incident['id']}/history", headers=inv)
        elapsed = time.monotonic() - started
        writer_still_open = writer.is_alive()
    finally:
        release.set()
        writer.join(20)
    assert (read.status_code, search.status_code, history.status_code) == (200, 200, 200)
    assert writer_still_open and elapsed < 10
    r = stamp.client.get(
        "/api/v1/audit", params={"entity": f"incident/{incident['id']}"}, headers=stamp.auth("northwind", "Retailer.Admin")
    )
    ops = [e["operation"] for e in r.json()["items"]]
    assert "incident.read" in ops and "incident.history" in ops
    assert r.json()["chain"]["verified"] is True


# ---- a keyed chain, ending at its head and at its newest write-once checkpoint ----------

ADMIN = ("northwind", "Retailer.Admin")


def _activity(stamp, reads: int = 3) -> str:
    incident = report(stamp).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    for _ in range(reads):
        stamp.client.get(f"/api/v1/incidents/{incident['id']}", headers=inv)
    return incident["id"]


def _chain(stamp) -> dict:
    r = stamp.client.get("/api/v1/audit", headers=stamp.auth(*ADMIN))
    assert r.status_code == 200, r.text
    return r.json()["chain"]


def _entries(stamp) -> list[dict]:
    with stamp.container.records.read_only() as uow:
        return uow.query("audit", ["northwind"], [Where("chain", "eq", "audit")], order_by="seq", limit=1000).items


def _truncate(stamp, keep: int, *, rewind_head: bool) -> None:
    """Delete every entry after `keep`, as someone with write access to the records would,
    optionally moving the chain head back to the last one kept."""
    entries = _entries(stamp)
    kept = entries[keep - 1]
    with stamp.container.records.unit_of_work() as uow:
        uow.delete_many("audit", [("northwind", e["id"]) for e in entries[keep:]])
        if rewind_head:
            uow.upsert("chain_heads", "northwind", {"id": "audit", "seq": kept["seq"], "hash": kept["hash"]})


# What an unkeyed link covered: anyone who can read the code can recompute it.
_UNKEYED = (
    *("id", "at", "actor_user", "actor_org", "actor_role", "action", "operation", "entity"),
    *("fields", "subjects", "purpose", "recipient_org", "chain", "seq", "prev_hash"),
)


def _plain_sha256(prev_hash: str, seq: int, entry: dict) -> str:
    """The unkeyed link a forger can compute: SHA-256 over the entry's content."""
    content = {k: entry.get(k) for k in _UNKEYED}
    content.update(seq=seq, prev_hash=prev_hash)
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _rewrite(stamp, seq: int, linker) -> None:
    """Edit entry `seq` and recompute its hash and every later one, and the head, with `linker`."""
    entries = _entries(stamp)
    prev = entries[seq - 2]["hash"] if seq > 1 else ""
    with stamp.container.records.unit_of_work() as uow:
        for e in entries[seq - 1 :]:
            doc = {k: v for k, v in e.items() if k not in ("_etag", "_tenant")}
            if doc["seq"] == seq:
                doc["actor_user"] = "someone-else"
            doc["prev_hash"] = prev
            doc["hash"] = prev = linker(prev, doc["seq"], doc)
            uow.upsert("audit", "northwind", doc)
        uow.upsert("chain_heads", "northwind", {"id": "audit", "seq": entries[-1]["seq"], "hash": prev})


@both_backends
def test_deleting_the_newest_entries_is_named_by_the_head(stamp):
    _activity(stamp)
    assert _chain(stamp)["verified"] is True
    total = len(_entries(stamp))
    _truncate(stamp, total - 2, rewind_head=False)
    chain = _chain(stamp)
    assert chain["verified"] is False
    assert chain["first_broken"]["seq"] == total - 1 and "missing" in chain["first_broken"]["reason"]


@both_backends
def test_a_truncated_tail_with_its_head_rewound_fails_against_the_checkpoint(stamp):
    # The seed's own chains (the directory's, the forces' D2P rules) are pinned first, so
    # what follows counts this test's chain only.
    run_job(stamp.container, "audit-checkpoint", stamp.clock.now())
    _activity(stamp)
    assert run_job(stamp.container, "audit-checkpoint", stamp.clock.now()).counts["published"] == 1
    published = len(_entries(stamp))
    _activity(stamp, reads=1)
    assert _chain(stamp)["verified"] is True
    _truncate(stamp, published - 2, rewind_head=True)
    chain = _chain(stamp)
    assert chain["verified"] is False
    assert chain["first_broken"]["seq"] == published
    assert "checkpoint 1" in chain["first_broken"]["reason"]
    # The daily walk of the whole chain says so too, and no new checkpoint blesses the cut.
    assert run_job(stamp.container, "audit-verify", stamp.clock.now()).counts["not_verified"] == 1
    assert run_job(stamp.container, "audit-checkpoint", stamp.clock.now()).counts["published"] == 0


@both_backends
@pytest.mark.stamp_settings(audit_checkpoint_every_entries=8)
def test_a_chain_grown_by_n_entries_is_checkpointed_before_the_hour(stamp):
    """The hourly checkpoint leaves up to an hour of entries that can be cut with the head
    rewound; every N entries a checkpoint pins them, so the cut is named."""
    # The seed's own chains (the directory's, the forces' D2P rules) are pinned first, so
    # what follows counts this test's chain only.
    run_job(stamp.container, "audit-checkpoint", stamp.clock.now())
    _activity(stamp, reads=2)
    first = len(_entries(stamp))
    assert first < 8
    # Fewer than N entries since the last checkpoint (none yet): nothing published.
    report_ = run_job(stamp.container, "audit-checkpoint-due", stamp.clock.now())
    assert report_.counts["published"] == 0 and report_.counts["not_due"] >= 1
    _activity(stamp, reads=8)
    report_ = run_job(stamp.container, "audit-checkpoint-due", stamp.clock.now())
    assert report_.counts["published"] == 1
    published = len(_entries(stamp))
    assert published >= 8
    # Nothing new since: due again only after N more entries.
    assert run_job(stamp.container, "audit-checkpoint-due", stamp.clock.now()).counts["published"] == 0
    # Cutting the pinned tail and rewinding the head is named by the checkpoint.
    _truncate(stamp, published - 3, rewind_head=True)
    chain = _chain(stamp)
    assert chain["verified"] is False and "checkpoint 1" in chain["first_broken"]["reason"]


@both_backends
def test_a_rewritten_entry_with_every_later_hash_recomputed_without_the_key_fails(stamp):
    _activity(stamp)
    assert _chain(stamp)["verified"] is True
    _rewrite(stamp, 2, _plain_sha256)
    chain = _chain(stamp)
    assert chain["verified"] is False
    assert chain["first_broken"]["seq"] == 2 and chain["first_broken"]["reason"] == "content does not match its hash"


def test_a_chain_recomputed_with_the_wrong_key_fails(stamp):
    _activity(stamp)
    assert _chain(stamp)["verified"] is True
    wrong = ChainKeys({stamp.container.chain_keys.current: b"w" * 32}, stamp.container.chain_keys.current)
    _rewrite(stamp, 3, lambda prev, seq, e: link_hash(wrong, prev, seq, e))
    chain = _chain(stamp)
    assert chain["verified"] is False and chain["first_broken"]["seq"] == 3


def test_entries_verify_under_a_retired_key_after_rotation(tmp_path):
    first = make_stamp(tmp_path, audit_chain_keys={"2026-a": "a" * 40}, audit_chain_key_id="2026-a", audit_chain_shards=1)
    _activity(first)
    first.container.close()
    rotated = make_stamp(
        tmp_path, audit_chain_keys={"2026-a": "a" * 40, "2026-b": "b" * 40}, audit_chain_key_id="2026-b", audit_chain_shards=1
    )
    _activity(rotated)
    assert {e["key_id"] for e in _entries(rotated)} == {"2026-a", "2026-b"}
    assert _chain(rotated)["verified"] is True
    rotated.container.close()
    # A key dropped from the settings leaves its entries unverifiable, and says so.
    dropped = make_stamp(tmp_path, audit_chain_keys={"2026-b": "b" * 40}, audit_chain_key_id="2026-b", audit_chain_shards=1)
    chain = _chain(dropped)
    assert chain["verified"] is False and "unknown chain key ('2026-a')" in chain["first_broken"]["reason"]
    dropped.container.close()


def test_a_review_walks_only_the_entries_since_the_checkpoint(stamp):
    _activity(stamp, reads=5)
    run_job(stamp.container, "audit-checkpoint", stamp.clock.now())
    total = len(_entries(stamp))
    chain = _chain(stamp)
    assert chain["verified"] is True
    assert chain["checkpoint"]["number"] == 1 and chain["checkpoint"]["seq"] == total
    # The checkpointed entry itself, then the review's own entries linked since.
    assert chain["entries_checked"] < total
    assert chain["full_verification"] is None
    # An old entry edited behind the checkpoint is named by the daily whole-chain walk,
    # and from then on every review shows it.
    db = sqlite3.connect(stamp.data_dir / "uk" / "records.sqlite")
    row = db.execute("SELECT id, doc FROM c_audit WHERE tenant='northwind' AND f_seq=2").fetchone()
    doc = json.loads(row[1])
    doc["actor_user"] = "someone-else"
    db.execute("UPDATE c_audit SET doc=? WHERE tenant='northwind' AND id=?", (json.dumps(doc), row[0]))
    db.commit()
    db.close()
    assert run_job(stamp.container, "audit-verify", stamp.clock.now()).counts["not_verified"] == 1
    chain = _chain(stamp)
    assert chain["verified"] is False
    assert chain["full_verification"]["verified"] is False and chain["full_verification"]["first_broken"]["seq"] == 2


def test_a_checkpoint_not_signed_with_a_chain_key_fails_the_chain(stamp):
    # The seed's own chains (the directory's, the forces' D2P rules) are pinned first, so
    # what follows counts this test's chain only.
    run_job(stamp.container, "audit-checkpoint", stamp.clock.now())
    _activity(stamp)
    assert run_job(stamp.container, "audit-checkpoint", stamp.clock.now()).counts["published"] == 1
    forged = {
        "chain": "audit",
        "organisation": "northwind",
        "number": 2,
        "seq": 1,
        "hash": "x",
        "at": "",
        "key_id": "local-1",
        "mac": "0" * 64,
    }
    stamp.container.checkpoint_store.publish(checkpoint_name("northwind", 2), json.dumps(forged).encode())
    chain = _chain(stamp)
    assert chain["verified"] is False
    assert chain["first_broken"]["reason"] == "checkpoint 2 does not carry a valid chain key signature"
