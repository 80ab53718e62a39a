"""Chain of custody: the events an evidence item's custody log records, their keyed hash
links (one chain per item, within its owner organisation), verification up to the stored
head, and the public form of an event.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from shared.domain.audit import ChainKeys, chain_hash, head_problem, link_problem


class CustodyEvent(StrEnum):
    RECEIVED = "received"
    STORED = "stored"
    VIEWED = "viewed"
    DOWNLOADED = "downloaded"
    EXPORTED = "exported"
    REDACTED = "redacted"
    # A copy was made from the item (playable video, poster, thumbnails, still, clip).
    DERIVED = "derived"
    VERIFIED = "verified"
    HELD = "held"
    RELEASED = "released"
    DELETED = "deleted"
    # Given to a force in answer to its footage request (details name the request and crime reference).
    SUPPLIED = "supplied"


def custody_chain(evidence_id: str) -> str:
    """The hash chain (per owner organisation) that holds one item's custody events."""
    return f"custody/{evidence_id}"


_CUSTODY_HASHED = (
    "id",
    "evidence_id",
    "event",
    "at",
    "actor_user",
    "actor_org",
    "actor_role",
    "purpose",
    "details",
    "chain",
    "seq",
    "prev_hash",
    "key_id",
)


def custody_link_hash(keys: ChainKeys, prev_hash: str, seq: int, entry: dict[str, Any]) -> str:
    """The keyed hash (HMAC-SHA256) over the previous event's hash, the sequence number and this event's content."""
    return chain_hash(keys, _CUSTODY_HASHED, prev_hash, seq, entry)


def custody_linker(keys: ChainKeys) -> Callable[[str, int, dict[str, Any]], str]:
    """The linker the record store calls to fill a custody event's hash."""
    return lambda prev_hash, seq, entry: custody_link_hash(keys, prev_hash, seq, entry)


def verify_custody(
    events: list[dict[str, Any]], head: dict[str, Any] | None, keys: ChainKeys | None, *, require_head: bool = True
) -> dict[str, Any]:
    """Check a whole custody chain (ascending seq from 1) up to its stored head (the item's
    CHAIN_HEADS record, or the head a package manifest names): the first break, if any.
    A chain cut short of its head has lost its newest events.

    Without `keys` (someone outside the platform checking a court package) only the links
    are checked: each event names its predecessor's hash and no seq is missing; the keyed
    hashes themselves need the platform's chain key. `require_head=False` skips the head
    check when there is none to compare with (a package made before manifests named heads)."""
    prev = ""
    last = 0
    for expected_seq, e in enumerate(events, start=1):
        if e.get("seq") != expected_seq:
            return {"verified": False, "first_broken": {"seq": expected_seq, "id": None, "reason": f"event {expected_seq} is missing"}}
        if keys is None:
            problem = None if e.get("prev_hash") == prev else "does not link to the previous event"
        else:
            problem = link_problem(keys, _CUSTODY_HASHED, e, prev, "event")
        if problem:
            return {"verified": False, "first_broken": {"seq": e["seq"], "id": e.get("id"), "reason": problem}}
        prev = e["hash"]
        last = expected_seq
    short = head_problem(last, prev, head, "event") if head is not None or require_head else None
    if short:
        return {"verified": False, "first_broken": short}
    return {"verified": True, "first_broken": None}


def public_custody(e: dict[str, Any]) -> dict[str, Any]:
    return {k: e.get(k) for k in (*_CUSTODY_HASHED, "hash")}


# ---- the stored item ----------------------------------------------------------------
