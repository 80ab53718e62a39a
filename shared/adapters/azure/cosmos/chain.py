"""Hash-chain appends, made at commit.

Each chain has a head item (`chain_heads`, id = chain name) holding the last sequence
number and hash. An append reads the head, creates the entries linked from it, then moves
the head with If-Match; if another unit moved the head meanwhile, the entries are dropped
and the group is linked again from the new head. Appends are buffered until commit so a
unit that fails never takes a place in the chain.

A sharded chain (`shards` > 1, the audit trail) has one head per shard. A unit's group
goes to one shard, first the one its first entry's id hashes to; on a lost race it is
linked again on another shard, at once rather than after a back-off, since that head is
most likely still: concurrent writers of one organisation spread over the shards instead
of queueing on one head. Same requests per append as one chain: head read, entry
creates, head replace.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.cosmos import exceptions

from shared.adapters.azure.cosmos.items import new_etag, restorable
from shared.adapters.azure.cosmos.sdk import backoff, quiet
from shared.domain.audit import first_shard, shard_chain
from shared.domain.errors import Conflict, Unavailable
from shared.ports import ChainLink, Linker
from shared.records import CHAIN_HEADS, Collection

if TYPE_CHECKING:
    from shared.adapters.azure.cosmos.store import CosmosRecordStore

log = logging.getLogger(__name__)

_CHAIN_ATTEMPTS = 25


@dataclass
class Append:
    coll: Collection
    tenant: str
    chain: str
    entry: dict[str, Any]
    linker: Linker
    shards: int = 1


def apply_appends(store: CosmosRecordStore, appends: list[Append], undo: list[Callable[[], None]]) -> list[ChainLink]:
    """Append each chain's entries (grouped per chain, in order); return their links."""
    groups: dict[tuple[str, str, str, int], list[Append]] = {}
    for a in appends:
        groups.setdefault((a.coll.name, a.tenant, a.chain, a.shards), []).append(a)
    links: list[ChainLink] = []
    for (name, tenant, chain, shards), group in groups.items():
        links.extend(_append_group(store, store.collection(name), tenant, chain, shards, group, undo))
    return links


def _other_shard(shard: int, shards: int) -> int:
    return (shard + 1 + random.randrange(shards - 1)) % shards


def _append_group(
    store: CosmosRecordStore, coll: Collection, tenant: str, base: str, shards: int, group: list[Append], undo: list[Callable[[], None]]
) -> list[ChainLink]:
    """Read the head, create the entries, move the head with If-Match; on a race, retry
    (on another shard of a sharded chain)."""
    heads_coll = store.collection(CHAIN_HEADS.name)
    heads = store.container(heads_coll.name)
    entries = store.container(coll.name)
    shard = first_shard(str(group[0].entry["id"]), shards)
    for attempt in range(_CHAIN_ATTEMPTS):
        chain = shard_chain(base, shard) if shards > 1 else base
        head = store.read_raw(heads_coll, tenant, chain)
        seq = int(head["seq"]) if head else 0
        prev = head["hash"] if head else ""
        links: list[ChainLink] = []
        created: list[tuple[str, str]] = []
        try:
            for a in group:
                seq += 1
                body = dict(a.entry, chain=chain, seq=seq, prev_hash=prev)
                digest = a.linker(prev, seq, body)
                body["hash"] = digest
                item = store.item(coll, tenant, body, new_etag())
                entries.create_item(item)
                created.append((item["id"], item["pk"]))
                links.append(ChainLink(seq=seq, prev_hash=prev, hash=digest))
                prev = digest
            new_head = store.item(heads_coll, tenant, {"id": chain, "seq": seq, "hash": prev}, new_etag())
            if head is None:
                result = heads.create_item(new_head)
            else:
                result = heads.replace_item(head["id"], new_head, etag=head["_etag"], match_condition=MatchConditions.IfNotModified)
        except (exceptions.CosmosAccessConditionFailedError, exceptions.CosmosResourceNotFoundError) as exc:
            # Another unit moved (or removed) the head since we read it: start again.
            _drop(entries, created)
            if isinstance(exc, exceptions.CosmosResourceNotFoundError) and head is None:
                raise
            shard = _retry(attempt, shard, shards)
            continue
        except exceptions.CosmosResourceExistsError as exc:
            _drop(entries, created)
            if len(created) == len(group) and head is None:
                shard = _retry(attempt, shard, shards)  # the head was created meanwhile: start again
                continue
            raise Conflict(f"{coll.name} entry already exists") from exc
        except BaseException:
            _drop(entries, created)
            raise
        undo.append(functools.partial(_undo_append, heads, entries, head, new_head, result["_etag"], created))
        return links
    raise Unavailable(f"The {coll.name} chain is too busy; try again.")


def _retry(attempt: int, shard: int, shards: int) -> int:
    """The shard to try after lost race `attempt`: one chain backs off and tries again; a
    sharded one moves to another shard, backing off only once that has lost too (every
    shard busy: more writers than shards)."""
    if shards <= 1:
        backoff(attempt)
        return shard
    if attempt > 0:
        backoff(attempt - 1)
    return _other_shard(shard, shards)


def _drop(entries: Any, created: Sequence[tuple[str, str]]) -> None:
    for cid, pk in created:
        quiet(entries.delete_item, cid, partition_key=pk)


def _undo_append(
    heads: Any, entries: Any, head: dict[str, Any] | None, new_head: dict[str, Any], moved_to: str, created: Sequence[tuple[str, str]]
) -> None:
    """Put the chain head back (only if nobody appended since), then drop the entries."""
    try:
        if head is None:
            heads.delete_item(new_head["id"], partition_key=new_head["pk"], etag=moved_to, match_condition=MatchConditions.IfNotModified)
        else:
            heads.replace_item(head["id"], restorable(head), etag=moved_to, match_condition=MatchConditions.IfNotModified)
    except exceptions.CosmosHttpResponseError:
        log.error("cosmos: a chain append could not be undone (appended to since)")
        return
    _drop(entries, created)
