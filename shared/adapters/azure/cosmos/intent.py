"""The commit intent: what makes a unit's writes on Cosmos all-or-nothing across a crash.

Cosmos has no transaction across containers or partitions, and undoing on an exception
does nothing when the process dies (an instance recycle, an OOM kill). So a unit with
more than one write first writes an *intent* into its tenant's partition of the outbox
container, naming every item it will write with the version token it will carry and the
version it replaces. Then the writes are applied. The commit point is one transactional
batch in that same partition: delete the intent and create the unit's outbox entries.

- Dies before the batch: the intent is still there; `recover` (run by the outbox relay,
  the safety net) rolls back every item that still carries this unit's version token and
  puts back what it replaced, then drops the intent. No outbox entry exists, so nothing
  is sent for a change that did not happen.
- Dies after the batch: the change is committed and its outbox entries exist; the relay
  sends them, with the outbox id as the queue's message id so a second send is dropped.

See docs/adr/0021-transactional-outbox-on-cosmos.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.cosmos import exceptions

from shared.adapters.azure.cosmos.chain import Append
from shared.adapters.azure.cosmos.commit import Op
from shared.adapters.azure.cosmos.items import cosmos_id, new_etag, restorable
from shared.adapters.azure.cosmos.sdk import io, quiet
from shared.domain.audit import shard_index
from shared.domain.timestamps import to_iso
from shared.records import CHAIN_HEADS, OUTBOX

if TYPE_CHECKING:
    from shared.adapters.azure.cosmos.store import CosmosRecordStore

log = logging.getLogger(__name__)

INTENT_PREFIX = "intent-"
# A transactional batch holds at most 100 operations; one is the intent's delete.
BATCH_ENTRIES = 99


@dataclass
class Intent:
    tenant: str
    id: str
    etag: str  # the server `_etag` the batch's delete is conditional on
    batched: list[Op] = field(default_factory=list)  # outbox creates made by the commit batch


def is_intent(doc: dict[str, Any]) -> bool:
    """Whether an outbox document is a commit intent rather than a message."""
    return bool(doc.get("intent"))


def needed(ops: Sequence[Op], appends: Sequence[Append]) -> bool:
    """A unit needs an intent when a crash could leave part of it: more than one write, or a message."""
    return len(ops) + len(appends) > 1 or any(op.coll.name == OUTBOX.name for op in ops)


def _tenant(ops: Sequence[Op], appends: Sequence[Append]) -> str:
    for op in ops:
        if op.coll.name == OUTBOX.name:
            return op.tenant
    return ops[0].tenant if ops else appends[0].tenant


def _undo_plan(store: CosmosRecordStore, ops: Sequence[Op], appends: Sequence[Append]) -> dict[str, Any]:
    """Per item the unit writes: the version before (first op) and the token after (last op)."""
    items: dict[tuple[str, str, str], dict[str, Any]] = {}
    for op in ops:
        key = (op.coll.name, cosmos_id(op.id), op.pk)
        after = None if op.kind == "delete" else (op.body or {}).get("vigilEtag")
        if key not in items:
            items[key] = {
                "c": op.coll.name,
                "id": key[1],
                "pk": op.pk,
                # A blind upsert does not know what it replaces: rolled back only if nothing was there.
                "prior": restorable(op.prior) if op.prior else None,
                "restorable": op.prior is not None or op.prior_known,
            }
        items[key]["after"] = after
    chains: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    for a in appends:
        # The shard of a sharded chain is only fixed at commit: the entries name it.
        entry = chains.setdefault(
            (a.coll.name, a.tenant, a.chain, a.shards),
            {"c": a.coll.name, "tenant": a.tenant, "chain": a.chain, "shards": a.shards, "entries": []},
        )
        entry["entries"].append([cosmos_id(a.entry["id"]), store.partition_key(a.coll, a.tenant, a.entry)])
    return {"items": list(items.values()), "chains": list(chains.values())}


def write(store: CosmosRecordStore, ops: list[Op], appends: Sequence[Append]) -> tuple[Intent, list[Op]]:
    """Write the intent; return it and the ops still to apply one by one (the rest go in the batch)."""
    tenant = _tenant(ops, appends)
    intent_id = INTENT_PREFIX + new_etag()
    entries = [op for op in ops if op.coll.name == OUTBOX.name and op.kind == "create"]
    batched = [op for op in entries if op.tenant == tenant][:BATCH_ENTRIES] if store.transactional_batch else []
    rest = [op for op in ops if op not in batched]
    for op in entries:
        if op not in batched and op.body is not None:
            # Written before the commit point: the relay holds it while its intent exists.
            op.body["commit"] = intent_id
    coll = store.collection(OUTBOX.name)
    doc = {"id": intent_id, "intent": True, "created_at": to_iso(store.now()), **_undo_plan(store, rest, appends)}
    with io():
        result = store.container(coll.name).create_item(store.item(coll, tenant, doc, new_etag()))
    return Intent(tenant=tenant, id=intent_id, etag=result["_etag"], batched=batched), rest


def commit(store: CosmosRecordStore, intent: Intent) -> None:
    """The commit point: one transactional batch drops the intent and creates the outbox entries
    (without the batch, the delete of the intent alone: one document, so just as atomic)."""
    if not intent.batched:
        with io():
            store.container(OUTBOX.name).delete_item(
                intent.id, partition_key=intent.tenant, etag=intent.etag, match_condition=MatchConditions.IfNotModified
            )
        return
    operations: list[Any] = [("delete", (intent.id,), {"if_match_etag": intent.etag})]
    operations.extend(("create", (op.body,)) for op in intent.batched)
    with io():
        store.container(OUTBOX.name).execute_item_batch(operations, partition_key=intent.tenant)


def abandon(store: CosmosRecordStore, intent: Intent) -> None:
    """The unit failed and undid its writes in-process: the intent has nothing left to guard."""
    quiet(store.container(OUTBOX.name).delete_item, intent.id, partition_key=intent.tenant)


def recover(store: CosmosRecordStore, older_than: datetime) -> int:
    """Roll back every unit whose intent is older than `older_than` (its process died mid-commit)."""
    container = store.container(OUTBOX.name)
    sql = "SELECT * FROM c WHERE c.intent = true AND c.created_at <= @t"
    with io():
        intents = list(
            container.query_items(sql, parameters=[{"name": "@t", "value": to_iso(older_than)}], enable_cross_partition_query=True)
        )
    for doc in intents:
        with io():
            for item in reversed(doc.get("items", [])):
                _roll_back_item(store, item)
            for chain in doc.get("chains", []):
                _roll_back_chain(store, chain)
            quiet(container.delete_item, doc["id"], partition_key=doc["pk"])
        log.warning("cosmos: rolled back a unit that died mid-commit", extra={"intent": doc["id"]})
    return len(intents)


def _read(store: CosmosRecordStore, container: Any, cid: str, pk: str) -> dict[str, Any] | None:
    try:
        return dict(container.read_item(cid, partition_key=pk, **store.read_kwargs))
    except exceptions.CosmosResourceNotFoundError:
        return None


def _roll_back_item(store: CosmosRecordStore, item: dict[str, Any]) -> None:
    """Put back the version before the unit, only while the item still holds the unit's write."""
    container = store.container(item["c"])
    current = _read(store, container, item["id"], item["pk"])
    if item["after"] is None:  # the unit deleted it
        if current is None and item["prior"] is not None:
            quiet(container.create_item, item["prior"])
        return
    if current is None or current.get("vigilEtag") != item["after"]:
        return  # never landed, or someone wrote it since: theirs stands
    condition = {"etag": current["_etag"], "match_condition": MatchConditions.IfNotModified}
    try:
        if item["prior"] is not None:
            container.replace_item(item["id"], item["prior"], **condition)
        elif item["restorable"]:
            container.delete_item(item["id"], partition_key=item["pk"], **condition)
        else:
            log.error("cosmos: a blind upsert could not be rolled back", extra={"collection": item["c"]})
    except (exceptions.CosmosAccessConditionFailedError, exceptions.CosmosResourceNotFoundError):
        pass  # written or removed since: theirs stands


def _roll_back_chain(store: CosmosRecordStore, chain: dict[str, Any]) -> None:
    """Take the unit's entries off the chain, only while they are still its last links."""
    entries = store.container(chain["c"])
    found = [_read(store, entries, cid, pk) for cid, pk in chain["entries"]]
    if int(chain.get("shards", 1)) > 1:
        landed = [e for e in found if e is not None and shard_index(chain["chain"], str(e.get("chain"))) is not None]
    else:
        landed = [e for e in found if e is not None and e.get("chain") == chain["chain"]]
    if not landed:
        return
    # A unit's group lands in one shard (shared/adapters/azure/cosmos/chain.py).
    name = str(landed[0]["chain"])
    landed = [e for e in landed if e["chain"] == name]
    heads_coll = store.collection(CHAIN_HEADS.name)
    heads = store.container(heads_coll.name)
    head = store.read_raw(heads_coll, chain["tenant"], name)
    landed.sort(key=lambda e: int(e["seq"]))
    if head is None or head.get("hash") != landed[-1]["hash"] or len(landed) != len(chain["entries"]):
        log.error("cosmos: chain entries of a dead unit were linked on; they stay", extra={"chain": name})
        return
    first = landed[0]
    condition = {"etag": head["_etag"], "match_condition": MatchConditions.IfNotModified}
    try:
        if int(first["seq"]) == 1:
            heads.delete_item(head["id"], partition_key=head["pk"], **condition)
        else:
            body = dict(restorable(head), seq=int(first["seq"]) - 1, hash=first["prev_hash"], vigilEtag=new_etag())
            heads.replace_item(head["id"], body, **condition)
    except (exceptions.CosmosAccessConditionFailedError, exceptions.CosmosResourceNotFoundError):
        return  # appended to meanwhile: the entries are linked on and stay
    for e in landed:
        quiet(entries.delete_item, e["id"], partition_key=e["pk"])
