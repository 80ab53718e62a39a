"""Audit entries (UK DPA 2018 s.62) and their per-organisation hash chain.

The chain makes an edited, inserted or removed entry detectable: each entry's hash
covers its content and the previous entry's hash.

Retention prunes a chain only from its start (oldest first). Before entries go, an
anchor records the seq and hash of the last one removed; verification then starts from
the anchor as if it were the chain's beginning, so any later edit, insertion or removal
still breaks a link. The anchor itself is attested by a pruning entry written into the
chain after it (subjects `seq:<n>` and `hash:<h>`), so an anchor moved by hand to hide
removed entries does not verify either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from enum import StrEnum
from typing import Any

AUDIT_CHAIN = "audit"
# The entity of the entry that records a pruning of the chain (and attests its anchor).
ANCHOR_ENTITY = "audit/anchor"


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
)


def chain_hash(fields: tuple[str, ...], prev_hash: str, seq: int, entry: dict[str, Any]) -> str:
    """SHA-256 over the previous link's hash, the sequence number and the entry's `fields`
    (canonical JSON), the one linking rule of every hash chain (audit, custody)."""
    content = {k: entry.get(k) for k in fields}
    content["seq"] = seq
    content["prev_hash"] = prev_hash
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def link_hash(prev_hash: str, seq: int, entry: dict[str, Any]) -> str:
    """SHA-256 over the previous hash, the sequence number and the entry's content."""
    return chain_hash(_HASHED, prev_hash, seq, entry)


def first_broken_link(entries: list[dict[str, Any]], predecessor_hash: str = "") -> dict[str, Any] | None:
    """Walk consecutive entries (ascending seq); name the first one that does not verify.

    `predecessor_hash` is the hash of the entry before the first one given ("" at the start).
    """
    expected_prev = predecessor_hash
    expected_seq = entries[0]["seq"] if entries else 1
    for e in entries:
        if e["seq"] != expected_seq:
            return {"seq": expected_seq, "id": None, "reason": f"entry {expected_seq} is missing"}
        if e.get("prev_hash") != expected_prev:
            return {"seq": e["seq"], "id": e["id"], "reason": "does not link to the previous entry"}
        if link_hash(expected_prev, e["seq"], e) != e.get("hash"):
            return {"seq": e["seq"], "id": e["id"], "reason": "content does not match its hash"}
        expected_prev = e["hash"]
        expected_seq += 1
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
    entries: list[dict[str, Any]], predecessor_seq: int, predecessor_hash: str, due: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """The leading entries of `entries` (ascending seq) that may be pruned: each `due`, each
    the next seq after its predecessor and each verifying. Stops at the first that is not
    due, a gap or a broken link, so a tampered entry is never pruned away with its proof."""
    out: list[dict[str, Any]] = []
    prev_seq, prev_hash = predecessor_seq, predecessor_hash
    for e in entries:
        if e["seq"] != prev_seq + 1 or e.get("prev_hash") != prev_hash or link_hash(prev_hash, e["seq"], e) != e.get("hash"):
            break
        if not due(e):
            break
        out.append(e)
        prev_seq, prev_hash = e["seq"], e["hash"]
    return out
