"""Walking an organisation's audit trail: every shard's hash chain, in one pass.

The trail is up to `MAX_SHARDS` chains (shard 0 is the chain `audit`, shard k `audit/k`;
shared/domain/audit.py). Each shard is walked as a chain of its own: from its retention
anchor (or its first entry, or the entry the newest checkpoint published for it) to its
stored head, every keyed hash checked. A break in any shard fails the walk and is named
with its shard. The shard heads and anchors come in one read; the entries of every shard
come in one query ordered by seq (two when some shards start from the beginning and
others from a checkpoint), split by shard as they arrive.

A checkpoint published before sharding records one (seq, hash): it is shard 0's. One
published since records every non-empty shard's (seq, hash) (`checkpoint_shards`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.domain.audit import (
    ANCHOR_ENTITY,
    AUDIT_CHAIN,
    MAX_SHARDS,
    ChainKeys,
    attests,
    checkpoint_problem,
    entry_problem,
    head_problem,
    shard_chain,
    shard_index,
)
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import AUDIT, CHAIN_HEADS

CHAINS = [shard_chain(AUDIT_CHAIN, k) for k in range(MAX_SHARDS)]


def anchor_id(shard: int) -> str:
    """The id of shard `shard`'s retention anchor (`anchor:audit` for shard 0, as before sharding)."""
    return f"anchor:{shard_chain(AUDIT_CHAIN, shard)}"


_ANCHOR_IDS = [anchor_id(k) for k in range(MAX_SHARDS)]


def shard_docs(uow: UnitOfWork, org_id: str) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """Every shard head and every shard anchor of the organisation's trail, by shard, in one read."""
    heads: dict[int, dict[str, Any]] = {}
    anchors: dict[int, dict[str, Any]] = {}
    for doc in iterate_all(uow, CHAIN_HEADS.name, [org_id], [Where("id", "in", CHAINS + _ANCHOR_IDS)], limit=2 * MAX_SHARDS):
        name = str(doc["id"])
        if name.startswith("anchor:"):
            shard = shard_index(AUDIT_CHAIN, name[len("anchor:") :])
            if shard is not None:
                anchors[shard] = doc
        else:
            shard = shard_index(AUDIT_CHAIN, name)
            if shard is not None:
                heads[shard] = doc
    return heads, anchors


def checkpoint_shards(checkpoint: dict[str, Any] | None) -> dict[int, tuple[int, str]]:
    """The (seq, hash) a checkpoint published for each shard."""
    if checkpoint is None:
        return {}
    if checkpoint.get("shards") is None:
        return {0: (int(checkpoint["seq"]), str(checkpoint["hash"]))}
    return {int(k): (int(v[0]), str(v[1])) for k, v in checkpoint["shards"].items()}


@dataclass
class _Shard:
    shard: int
    head: dict[str, Any] | None
    prev_seq: int
    prev_hash: str
    start: int  # the first seq this walk reads
    published: tuple[int, str] | None  # what the checkpoint published for this shard
    at_checkpoint: str | None  # the hash the walk met at the published seq
    from_published: bool  # the first entry read is the published one, checked against it
    checked: int = 0


class Broken(Exception):
    """The first break a walk met."""

    def __init__(self, shard: int, seq: int | None, id_: str | None, reason: str):
        super().__init__(reason)
        self.where = {"shard": shard, "seq": seq, "id": id_, "reason": reason}
        self.checked = 0  # entries that verified before it


def walk(
    uow: UnitOfWork, keys: ChainKeys, org_id: str, checkpoint: dict[str, Any] | None, *, from_checkpoint: bool, batch: int
) -> tuple[int, dict[int, tuple[int, str]], dict[int, dict[str, Any]]]:
    """Walk every shard (see the module); returns how many entries were checked, where each
    non-empty shard ends (seq, hash) and the anchors. Raises Broken at the first break."""
    shards: dict[int, _Shard] = {}
    try:
        return _walk(uow, keys, org_id, checkpoint, shards, from_checkpoint=from_checkpoint, batch=batch)
    except Broken as broken:
        broken.checked = sum(s.checked for s in shards.values())
        raise


def _walk(
    uow: UnitOfWork,
    keys: ChainKeys,
    org_id: str,
    checkpoint: dict[str, Any] | None,
    shards: dict[int, _Shard],
    *,
    from_checkpoint: bool,
    batch: int,
) -> tuple[int, dict[int, tuple[int, str]], dict[int, dict[str, Any]]]:
    heads, anchors = shard_docs(uow, org_id)
    published = checkpoint_shards(checkpoint)
    number = checkpoint["number"] if checkpoint else None
    for k in range(MAX_SHARDS):
        anchor = anchors.get(k)
        if anchor is not None:
            _check_attested(uow, org_id, k, anchor)
        prev_seq = int(anchor["seq"]) if anchor else 0
        prev_hash = str(anchor["hash"]) if anchor else ""
        pub = published.get(k)
        at_cp = prev_hash if pub is not None and pub[0] == prev_seq else None
        from_pub = from_checkpoint and pub is not None and pub[0] > prev_seq
        start = pub[0] if from_pub and pub is not None else prev_seq + 1
        shards[k] = _Shard(k, heads.get(k), prev_seq, prev_hash, start, pub, at_cp, from_pub)
    # Shards read from their beginning in one query, those read from further on in another,
    # so a walk from a checkpoint does not re-read every shard from seq 1.
    fresh = [s for s in shards.values() if s.start == 1]
    later = [s for s in shards.values() if s.start > 1]
    for group in (fresh, later):
        if group:
            _walk_group(uow, keys, org_id, group, number, batch)
    for s in shards.values():
        if s.from_published and s.published is not None:
            reason = f"entry {s.published[0]} is missing (checkpoint {number} published it)"
            raise Broken(s.shard, s.published[0], None, reason)
        cp = None if s.published is None else {"seq": s.published[0], "hash": s.published[1], "number": number}
        broken = head_problem(s.prev_seq, s.prev_hash, s.head) or checkpoint_problem(s.prev_seq, s.at_checkpoint, cp)
        if broken:
            raise Broken(s.shard, broken["seq"], broken["id"], broken["reason"])
    checked = sum(s.checked for s in shards.values())
    reached = {k: (s.prev_seq, s.prev_hash) for k, s in shards.items() if s.prev_seq}
    return checked, reached, anchors


def _check_attested(uow: UnitOfWork, org_id: str, shard: int, anchor: dict[str, Any]) -> None:
    """The shard's newest pruning entry must name its anchor; one moved by hand does not."""
    page = uow.query(
        AUDIT.name,
        [org_id],
        [Where("chain", "eq", shard_chain(AUDIT_CHAIN, shard)), Where("entity", "eq", ANCHOR_ENTITY)],
        order_by="seq",
        descending=True,
        limit=1,
    )
    if not attests(page.items[0] if page.items else None, anchor):
        reason = f"the chain anchor (entries up to {anchor['seq']} pruned) is not attested by a pruning entry"
        raise Broken(shard, int(anchor["seq"]), None, reason)


def _walk_group(uow: UnitOfWork, keys: ChainKeys, org_id: str, group: Sequence[_Shard], number: int | None, batch: int) -> None:
    by_chain = {shard_chain(AUDIT_CHAIN, s.shard): s for s in group}
    where = [Where("chain", "in", sorted(by_chain)), Where("seq", "ge", min(s.start for s in group))]
    for e in iterate_all(uow, AUDIT.name, [org_id], where, order_by="seq", limit=batch):
        s = by_chain[e["chain"]]
        seq = int(e["seq"])
        if seq < s.start:
            continue  # below where this shard's walk starts (the query serves several shards)
        if s.from_published and s.published is not None:
            # Start at the published entry: it must still be there, as published.
            if seq != s.published[0]:
                raise Broken(s.shard, s.published[0], None, f"entry {s.published[0]} is missing (checkpoint {number} published it)")
            problem = entry_problem(keys, e, str(e.get("prev_hash")))
            if problem is None and e["hash"] != s.published[1]:
                problem = f"differs from what checkpoint {number} published"
            if problem:
                raise Broken(s.shard, seq, e["id"], problem)
            s.from_published = False
            s.at_checkpoint = e["hash"]
        else:
            if seq != s.prev_seq + 1:
                raise Broken(s.shard, s.prev_seq + 1, None, f"entry {s.prev_seq + 1} is missing")
            problem = entry_problem(keys, e, s.prev_hash)
            if problem:
                raise Broken(s.shard, seq, e["id"], problem)
            if s.published is not None and seq == s.published[0]:
                s.at_checkpoint = e["hash"]
        s.prev_seq, s.prev_hash = seq, e["hash"]
        s.checked += 1
