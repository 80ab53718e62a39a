"""Audit entries (UK DPA 2018 s.62) and their per-organisation hash chain.

The chain makes an edited, inserted or removed entry detectable: each entry's hash
covers its content and the previous entry's hash. The hash is an HMAC-SHA256 under a
chain key the records store does not hold (`ChainKeys`), so someone who can rewrite
records but lacks the key cannot recompute a chain that verifies. Each entry names the
key it was linked with (`key_id`), so keys can be rotated and old entries still verify.

Retention prunes a chain only from its start (oldest first). Before entries go, an
anchor records the seq and hash of the last one removed; verification then starts from
the anchor as if it were the chain's beginning, so any later edit, insertion or removal
still breaks a link. The anchor itself is attested by a pruning entry written into the
chain after it (subjects `seq:<n>` and `hash:<h>`), so an anchor moved by hand to hide
removed entries does not verify either.

Shards. An organisation's trail is up to `MAX_SHARDS` independent chains, so that
concurrent writers do not all move one chain head: shard 0 is the chain `audit` itself
(every trail written before sharding is shard 0, as it was), shard k the chain `audit/k`.
Each entry's hash covers its chain's name, so an entry moved between shards no longer
verifies; each shard has its own head, anchor and sequence, and verifies on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

AUDIT_CHAIN = "audit"
# The entity of the entry that records a pruning of the chain (and attests its anchor).
ANCHOR_ENTITY = "audit/anchor"
# The most shards a trail may have (VIGIL_AUDIT_CHAIN_SHARDS is capped by it): verification
# looks at every one of them, so lowering the setting leaves no shard unchecked.
MAX_SHARDS = 64


class AuditAction(StrEnum):
    """The kinds of processing s.62 asks to log."""

    COLLECTION = "collection"
    ALTERATION = "alteration"
    CONSULTATION = "consultation"
    DISCLOSURE = "disclosure"
    COMBINATION = "combination"
    ERASURE = "erasure"


_HASHED = (
    "id",
    "at",
    "actor_user",
    "actor_org",
    "actor_role",
    "action",
    "operation",
    "entity",
    "fields",
    "subjects",
    "purpose",
    "recipient_org",
    "chain",
    "seq",
    "prev_hash",
    "key_id",
)

# Shortest chain key accepted: 256 bits, the HMAC-SHA256 block strength.
MIN_KEY_BYTES = 32


class UnknownChainKey(ValueError):
    """An entry or checkpoint names a chain key this process does not hold."""


class ChainKeys:
    """The chain keys by id: `current` links new entries; the others (retired by rotation)
    still verify the entries linked with them."""

    def __init__(self, keys: Mapping[str, bytes], current: str):
        if current not in keys:
            raise ValueError(f"the current chain key {current!r} is not among the keys")
        short = sorted(k for k, v in keys.items() if len(v) < MIN_KEY_BYTES)
        if short:
            raise ValueError(f"chain keys must be at least {MIN_KEY_BYTES} bytes: {short}")
        self._keys = dict(keys)
        self.current = current

    def mac(self, key_id: str | None, message: bytes) -> str:
        """HMAC-SHA256 of `message` under key `key_id`; UnknownChainKey when not held."""
        key = self._keys.get(key_id) if key_id is not None else None
        if key is None:
            raise UnknownChainKey(f"chain key {key_id!r} is not held")
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def holds(self, key_id: str | None) -> bool:
        """Whether this key id can be verified here."""
        return key_id is not None and key_id in self._keys


def shard_chain(chain: str, shard: int) -> str:
    """The name of shard `shard` of `chain`: shard 0 is the chain itself (so a trail made
    before sharding is its shard 0), shard k is `<chain>/<k>`."""
    if not 0 <= shard < MAX_SHARDS:
        raise ValueError(f"shard {shard} is outside 0..{MAX_SHARDS - 1}")
    return chain if shard == 0 else f"{chain}/{shard}"


def shard_index(chain: str, name: str) -> int | None:
    """Which shard of `chain` the chain `name` is, or None when it is none of them."""
    if name == chain:
        return 0
    prefix = f"{chain}/"
    if name.startswith(prefix) and name[len(prefix) :].isdigit():
        shard = int(name[len(prefix) :])
        if 0 < shard < MAX_SHARDS and name == shard_chain(chain, shard):
            return shard
    return None


def all_shard_chains(chain: str) -> list[str]:
    """Every shard name `chain` may have, whatever the shard count is now."""
    return [shard_chain(chain, k) for k in range(MAX_SHARDS)]


def first_shard(key: str, shards: int) -> int:
    """The shard a writer tries first for a unit whose first entry has id `key`: a hash of
    it, so concurrent units spread over the shards and rarely meet on one head."""
    if shards <= 1:
        return 0
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % shards


def canonical(content: dict[str, Any]) -> bytes:
    """The one byte form of a chained or checkpointed record: sorted keys, no spaces."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()


def chain_hash(keys: ChainKeys, fields: tuple[str, ...], prev_hash: str, seq: int, entry: dict[str, Any]) -> str:
    """HMAC-SHA256, under the key the entry names (`key_id`), over the previous link's
    hash, the sequence number and the entry's `fields` (canonical JSON): the one linking
    rule of every hash chain (audit, custody)."""
    content = {k: entry.get(k) for k in fields}
    content["seq"] = seq
    content["prev_hash"] = prev_hash
    content["key_id"] = entry.get("key_id")
    return keys.mac(entry.get("key_id"), canonical(content))


def link_hash(keys: ChainKeys, prev_hash: str, seq: int, entry: dict[str, Any]) -> str:
    """The keyed hash of an audit entry (see `chain_hash`)."""
    return chain_hash(keys, _HASHED, prev_hash, seq, entry)


def audit_linker(keys: ChainKeys) -> Callable[[str, int, dict[str, Any]], str]:
    """The linker the record store calls to fill an audit entry's hash."""
    return lambda prev_hash, seq, entry: link_hash(keys, prev_hash, seq, entry)


def link_problem(keys: ChainKeys, fields: tuple[str, ...], e: dict[str, Any], expected_prev: str, noun: str = "entry") -> str | None:
    """Why one entry does not verify after `expected_prev`, or None when it does."""
    if e.get("prev_hash") != expected_prev:
        return f"does not link to the previous {noun}"
    if not keys.holds(e.get("key_id")):
        return f"linked with an unknown chain key ({e.get('key_id')!r})"
    if not hmac.compare_digest(chain_hash(keys, fields, expected_prev, e["seq"], e), str(e.get("hash"))):
        return "content does not match its hash"
    return None


def entry_problem(keys: ChainKeys, e: dict[str, Any], expected_prev: str) -> str | None:
    """Why one audit entry does not verify after `expected_prev`, or None when it does."""
    return link_problem(keys, _HASHED, e, expected_prev)


def first_broken_link(keys: ChainKeys, entries: list[dict[str, Any]], predecessor_hash: str = "") -> dict[str, Any] | None:
    """Walk consecutive entries (ascending seq); name the first one that does not verify.

    `predecessor_hash` is the hash of the entry before the first one given ("" at the start).
    """
    expected_prev = predecessor_hash
    expected_seq = entries[0]["seq"] if entries else 1
    for e in entries:
        if e["seq"] != expected_seq:
            return {"seq": expected_seq, "id": None, "reason": f"entry {expected_seq} is missing"}
        problem = link_problem(keys, _HASHED, e, expected_prev)
        if problem:
            return {"seq": e["seq"], "id": e["id"], "reason": problem}
        expected_prev = e["hash"]
        expected_seq += 1
    return None


def head_problem(last_seq: int, last_hash: str, head: dict[str, Any] | None, noun: str = "entry") -> dict[str, Any] | None:
    """Whether a walk that ended at (`last_seq`, `last_hash`) reached the stored chain head.

    Entries after the head are not a break (a writer may have appended since the head was
    read); a walk that stops short of it is: its newest entries were removed."""
    if head is None:
        if last_seq:
            return {"seq": last_seq, "id": None, "reason": "the chain head is missing"}
        return None
    seq = int(head["seq"])
    if last_seq < seq:
        return {"seq": last_seq + 1, "id": None, "reason": f"{noun} {last_seq + 1} is missing (the chain head is at {seq})"}
    if last_seq == seq and head.get("hash") != last_hash:
        return {"seq": seq, "id": None, "reason": f"the chain head does not match the newest {noun}"}
    return None


def checkpoint_problem(last_seq: int, found: str | None, checkpoint: dict[str, Any] | None) -> dict[str, Any] | None:
    """Whether the chain still holds the state a published checkpoint recorded: it must
    reach the checkpoint's seq, with the checkpoint's hash there (`found`: the hash the
    walk met at that seq, None when retention pruned it)."""
    if checkpoint is None:
        return None
    seq, hash_ = int(checkpoint["seq"]), checkpoint["hash"]
    if last_seq < seq:
        return {
            "seq": last_seq + 1,
            "id": None,
            "reason": f"the chain ends at entry {last_seq} but checkpoint {checkpoint['number']} published entry {seq}",
        }
    if found is not None and found != hash_:
        return {"seq": seq, "id": None, "reason": f"entry {seq} differs from what checkpoint {checkpoint['number']} published"}
    return None


def anchor_subjects(seq: int, hash_: str, count: int) -> list[str]:
    """What a pruning entry records of the anchor it set: the last removed seq and hash,
    and how many entries the chain has lost to retention in all."""
    return [f"seq:{seq}", f"hash:{hash_}", f"count:{count}"]


def attests(entry: dict[str, Any] | None, anchor: dict[str, Any]) -> bool:
    """Whether a pruning entry names exactly this anchor (seq and hash)."""
    if entry is None:
        return False
    subjects = set(entry.get("subjects") or [])
    return f"seq:{anchor['seq']}" in subjects and f"hash:{anchor['hash']}" in subjects


def prunable_prefix(
    keys: ChainKeys,
    entries: list[dict[str, Any]],
    predecessor_seq: int,
    predecessor_hash: str,
    due: Callable[[dict[str, Any]], bool],
) -> list[dict[str, Any]]:
    """The leading entries of `entries` (ascending seq) that may be pruned: each `due`, each
    the next seq after its predecessor and each verifying. Stops at the first that is not
    due, a gap or a broken link, so a tampered entry is never pruned away with its proof."""
    out: list[dict[str, Any]] = []
    prev_seq, prev_hash = predecessor_seq, predecessor_hash
    for e in entries:
        if e["seq"] != prev_seq + 1 or link_problem(keys, _HASHED, e, prev_hash):
            break
        if not due(e):
            break
        out.append(e)
        prev_seq, prev_hash = e["seq"], e["hash"]
    return out
