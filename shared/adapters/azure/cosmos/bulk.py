"""Storing many new items at once: one transactional batch per partition key and up to 100
items, instead of a create per item.

A batch is all-or-nothing in Cosmos DB: when one of its creates meets an id already stored
(a re-sent plate read), the whole batch answers 409 and writes nothing. The ids of that
batch already stored are then found with one query in its partition, and the batch is sent
again without them. Each item carries a version token (`vigilEtag`) made for this call, so
an item the query finds with this call's token was written by this call: that keeps the
answer right on a store that applies part of a failed batch (cosmosdb-server does).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from azure.cosmos import exceptions

from shared.adapters.azure.cosmos.items import new_etag
from shared.adapters.azure.cosmos.sdk import io
from shared.domain.errors import Unavailable
from shared.records import Collection

if TYPE_CHECKING:
    from shared.adapters.azure.cosmos.store import CosmosRecordStore

BATCH_OPERATIONS = 100  # Cosmos DB's cap on operations in one transactional batch
# A batch request carries at most 2 MB; what is left is for the operations' envelope.
BATCH_BYTES = 1_800_000
# Each round can only meet ids another writer stored since the last one: a few rounds
# settle any real race, more means something is wrong.
_CONFLICT_ROUNDS = 5
_TRANSIENT = (408, 429, 449, 500, 502, 503, 504)

_Entry = tuple[str, dict[str, Any]]  # (domain id, the Cosmos item)


def create_all(store: CosmosRecordStore, coll: Collection, tenant: str, docs: Sequence[dict[str, Any]]) -> list[bool]:
    """Create each document whose id is new, a transactional batch per partition and up to 100;
    returns which documents were new (see `RecordStore.create_all`)."""
    entries: dict[str, dict[str, Any]] = {}
    for doc in docs:
        if doc["id"] not in entries:  # a repeated id is stored once, as its first document
            entries[doc["id"]] = store.item(coll, tenant, doc, new_etag())
    by_partition: dict[str, list[_Entry]] = {}
    for id_, item in entries.items():
        by_partition.setdefault(item["pk"], []).append((id_, item))
    container = store.container(coll.name)
    created: set[str] = set()
    for pk, group in by_partition.items():
        for batch in _batches(group):
            created |= _create_batch(container, pk, batch)
    result: list[bool] = []
    for doc in docs:
        new = doc["id"] in created
        result.append(new)
        created.discard(doc["id"])  # later copies of a repeated id are not new
    return result


def _batches(group: list[_Entry]) -> Iterator[list[_Entry]]:
    """`group` cut into batches of at most BATCH_OPERATIONS items and BATCH_BYTES of JSON
    (plate patches make some reads large)."""
    batch: list[_Entry] = []
    size = 0
    for entry in group:
        length = len(json.dumps(entry[1], separators=(",", ":")))
        if batch and (len(batch) == BATCH_OPERATIONS or size + length > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += length
    if batch:
        yield batch


def _create_batch(container: Any, pk: str, batch: list[_Entry]) -> set[str]:
    """Create `batch` (one partition) in one transactional batch, leaving out ids already
    stored; returns the ids this call stored."""
    created: set[str] = set()
    pending = batch
    for _ in range(_CONFLICT_ROUNDS):
        if not pending:
            return created
        try:
            with io():
                container.execute_item_batch([("create", (item,)) for _, item in pending], partition_key=pk)
        except exceptions.CosmosBatchOperationError as exc:
            if exc.status_code in _TRANSIENT:
                raise Unavailable(f"The record store answered {exc.status_code}.") from exc
            if exc.status_code != 409:
                raise
        else:
            return created | {id_ for id_, _ in pending}
        stored = _stored_versions(container, pk, [item["id"] for _, item in pending])
        created |= {id_ for id_, item in pending if stored.get(item["id"]) == item["vigilEtag"]}
        pending = [(id_, item) for id_, item in pending if item["id"] not in stored]
    raise Unavailable("Another request is storing the same records at this moment; send them again.")


def _stored_versions(container: Any, pk: str, cosmos_ids: list[str]) -> dict[str, str]:
    """Of `cosmos_ids`, those stored in partition `pk`, with the version token each carries."""
    sql = "SELECT c.id, c.vigilEtag FROM c WHERE c.pk = @pk AND ARRAY_CONTAINS(@ids, c.id)"
    params: list[dict[str, Any]] = [{"name": "@pk", "value": pk}, {"name": "@ids", "value": cosmos_ids}]
    with io():
        return {row["id"]: row.get("vigilEtag", "") for row in container.query_items(sql, parameters=params, partition_key=pk)}
