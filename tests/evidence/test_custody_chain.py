"""An item's chain of custody is keyed and ends at its stored head: cutting its newest
events, or rewriting one and recomputing every later hash without the chain key, is named."""

from __future__ import annotations

import hashlib
import json

from shared.domain.audit import ChainKeys
from shared.domain.custody import custody_link_hash
from shared.ports import Where
from tests.evidence.conftest import INVESTIGATOR, POLICE, PURPOSE, headers, new_incident, upload

# What an unkeyed custody link covered: anyone who can read the code can recompute it.
_UNKEYED = (
    *("id", "evidence_id", "event", "at", "actor_user", "actor_org", "actor_role"),
    *("purpose", "details", "chain", "seq", "prev_hash"),
)


def _item_with_history(ev) -> str:
    incident = new_incident(ev)
    item = upload(ev, incident).json()["id"]
    for _ in range(2):
        assert ev.client.get(f"/api/v1/evidence/{item}/content", headers=headers(ev, POLICE), params=PURPOSE).status_code == 200
    return item


def _custody(ev, item: str) -> dict:
    r = ev.client.get(f"/api/v1/evidence/{item}/custody", headers=headers(ev, INVESTIGATOR), params=PURPOSE)
    assert r.status_code == 200, r.text
    return r.json()


def _events(ev, item: str) -> list[dict]:
    with ev.container.records.read_only() as uow:
        return uow.query("custody", ["northwind"], [Where("chain", "eq", f"custody/{item}")], order_by="seq", limit=100).items


def _plain_sha256(prev_hash: str, seq: int, entry: dict) -> str:
    content = {k: entry.get(k) for k in _UNKEYED}
    content.update(seq=seq, prev_hash=prev_hash)
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _rewrite(ev, item: str, seq: int, linker) -> None:
    """Edit event `seq`, recompute its hash and every later one and the head with `linker`."""
    events = _events(ev, item)
    prev = events[seq - 2]["hash"] if seq > 1 else ""
    with ev.container.records.unit_of_work() as uow:
        for e in events[seq - 1 :]:
            doc = {k: v for k, v in e.items() if k not in ("_etag", "_tenant")}
            if doc["seq"] == seq:
                doc["actor_user"] = "someone-else"
            doc["prev_hash"] = prev
            doc["hash"] = prev = linker(prev, doc["seq"], doc)
            uow.upsert("custody", "northwind", doc)
        uow.upsert("chain_heads", "northwind", {"id": f"custody/{item}", "seq": events[-1]["seq"], "hash": prev})


def test_removing_the_newest_custody_events_is_named_by_the_head(ev):
    item = _item_with_history(ev)
    assert _custody(ev, item)["verified"] is True
    events = _events(ev, item)
    with ev.container.records.unit_of_work() as uow:
        uow.delete_many("custody", [("northwind", e["id"]) for e in events[-2:]])
    custody = _custody(ev, item)
    assert custody["verified"] is False
    assert custody["first_broken"]["seq"] == len(events) - 1 and "missing" in custody["first_broken"]["reason"]


def test_a_custody_chain_recomputed_without_the_key_fails(ev):
    item = _item_with_history(ev)
    _rewrite(ev, item, 2, _plain_sha256)
    custody = _custody(ev, item)
    assert custody["verified"] is False
    assert custody["first_broken"] == {"seq": 2, "id": _events(ev, item)[1]["id"], "reason": "content does not match its hash"}


def test_a_custody_chain_recomputed_with_the_wrong_key_fails(ev):
    item = _item_with_history(ev)
    current = ev.container.chain_keys.current
    wrong = ChainKeys({current: b"w" * 32}, current)
    _rewrite(ev, item, 3, lambda prev, seq, e: custody_link_hash(wrong, prev, seq, e))
    custody = _custody(ev, item)
    assert custody["verified"] is False and custody["first_broken"]["seq"] == 3
