"""Checkpoints of the audit chains, published write-once outside the records store.

A checkpoint is {chain, organisation, number, seq, hash, at, key_id} with an HMAC under a
chain key. Numbers run 1, 2, 3... per organisation without gaps, so the newest is found by
probing the write-once store itself: a hint kept in the records store (CHAIN_HEADS,
`checkpoint:audit`) only says where to start looking, and rewinding it hides nothing.
Once published, a checkpoint pins the chain: removing entries up to its seq, or rewriting
any entry at or before it, no longer verifies, whatever the records store then says.

A trail of several shards (docs/audit.md) is pinned shard by shard: the checkpoint then
also signs `shards`, each non-empty shard's [seq, hash]; its `seq` is their sum (the
entries the trail had) and its `hash` a digest of them. A trail with only shard 0 gets a
checkpoint of the form it had before sharding.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from shared.domain.audit import AUDIT_CHAIN, ChainKeys, canonical
from shared.domain.errors import Conflict
from shared.domain.timestamps import to_iso
from shared.evidence_ports import CheckpointStore
from shared.ports import Clock, RecordStore
from shared.records import CHAIN_HEADS

HINT_ID = f"checkpoint:{AUDIT_CHAIN}"
_SIGNED = ("chain", "organisation", "number", "seq", "hash", "at", "key_id")


class CheckpointInvalid(Exception):
    """A published checkpoint that no chain key vouches for (or for another chain)."""

    def __init__(self, number: int, reason: str):
        super().__init__(reason)
        self.number = number
        self.reason = reason


def checkpoint_name(org_id: str, number: int) -> str:
    """The write-once name of checkpoint `number` of an organisation's chain: a digest of
    the chain (organisation ids are not all valid blob names) and the number."""
    chain = hashlib.sha256(f"{AUDIT_CHAIN}/{org_id}".encode()).hexdigest()[:32]
    return f"{chain}-{number:012d}"


class ChainCheckpoints:
    """Publishes and finds the checkpoints of the audit chains."""

    def __init__(self, store: CheckpointStore, records: RecordStore, keys: ChainKeys, clock: Clock):
        self._store = store
        self._records = records
        self._keys = keys
        self._clock = clock

    def _read(self, org_id: str, number: int) -> dict[str, Any] | None:
        raw = self._store.read(checkpoint_name(org_id, number))
        if raw is None:
            return None
        try:
            body = json.loads(raw)
            content = {k: body[k] for k in _SIGNED}
            if "shards" in body:
                content["shards"] = {str(k): [int(v[0]), str(v[1])] for k, v in body["shards"].items()}
            mac = str(body["mac"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointInvalid(number, f"checkpoint {number} is not readable") from exc
        if content["chain"] != AUDIT_CHAIN or content["organisation"] != org_id or content["number"] != number:
            raise CheckpointInvalid(number, f"checkpoint {number} belongs to another chain")
        if not self._keys.holds(content["key_id"]):
            raise CheckpointInvalid(number, f"checkpoint {number} names an unknown chain key ({content['key_id']!r})")
        if not hmac.compare_digest(self._keys.mac(content["key_id"], canonical(content)), mac):
            raise CheckpointInvalid(number, f"checkpoint {number} does not carry a valid chain key signature")
        return content

    def latest(self, org_id: str) -> dict[str, Any] | None:
        """The newest checkpoint of the organisation's chain, its signature checked (raises
        CheckpointInvalid when it does not verify), or None before the first."""
        with self._records.read_only() as uow:
            hint = uow.get(CHAIN_HEADS.name, org_id, HINT_ID)
        start = int(hint["number"]) if hint else 0
        found = self._read(org_id, start) if start else None
        if start and found is None:
            start = 0  # a hint past the newest (moved by hand): search from the start
        # Gallop forward from the last one known to exist, then bisect the gap.
        low, step = start, 1
        while self._store.read(checkpoint_name(org_id, low + step)) is not None:
            low, step = low + step, step * 2
        high = low + step  # missing
        while high - low > 1:
            mid = (low + high) // 2
            if self._store.read(checkpoint_name(org_id, mid)) is not None:
                low = mid
            else:
                high = mid
        if low == 0:
            return None
        return found if found is not None and low == start else self._read(org_id, low)

    def publish(
        self,
        org_id: str,
        *,
        after: dict[str, Any] | None,
        seq: int = 0,
        hash_: str = "",
        shards: dict[int, tuple[int, str]] | None = None,
    ) -> dict[str, Any] | None:
        """Publish the next checkpoint (after `after`, the newest) for a verified chain
        state: (`seq`, `hash_`) of one chain, or `shards`, each shard's (seq, hash); None
        when another process published that number first."""
        number = (after["number"] if after else 0) + 1
        signed_shards = None
        if shards is not None and set(shards) == {0}:
            seq, hash_ = shards[0]
        elif shards is not None:
            signed_shards = {str(k): [int(v[0]), str(v[1])] for k, v in sorted(shards.items())}
            seq = sum(v[0] for v in shards.values())
            hash_ = hashlib.sha256(canonical(signed_shards)).hexdigest()
        content: dict[str, Any] = {
            "chain": AUDIT_CHAIN,
            "organisation": org_id,
            "number": number,
            "seq": seq,
            "hash": hash_,
            "at": to_iso(self._clock.now()),
            "key_id": self._keys.current,
        }
        if signed_shards is not None:
            content["shards"] = signed_shards
        body = dict(content, mac=self._keys.mac(self._keys.current, canonical(content)))
        try:
            self._store.publish(checkpoint_name(org_id, number), json.dumps(body, sort_keys=True).encode())
        except Conflict:
            return None
        with self._records.unit_of_work() as uow:
            uow.upsert(CHAIN_HEADS.name, org_id, {"id": HINT_ID, "number": number})
        return content
