"""Applying a unit's buffered writes at commit, and undoing them when one fails.

Cosmos has no transaction across containers (transactional batch is per container and
partition, and cosmosdb-server does not run it). So writes are applied one by one, each
conditional on the version the unit read, and each pushes a step that undoes it: created
items are deleted, earlier versions put back with their ETags. If a write fails part-way
the steps run in reverse, best effort; a unit that fails before commit writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.cosmos import exceptions

from shared.adapters.azure.cosmos.items import cosmos_id, restorable
from shared.adapters.azure.cosmos.sdk import quiet
from shared.domain.errors import Conflict, PreconditionFailed
from shared.records import Collection

if TYPE_CHECKING:
    from shared.adapters.azure.cosmos.store import CosmosRecordStore

log = logging.getLogger(__name__)


@dataclass
class Op:
    kind: str  # create | create_or_skip | replace | upsert | delete
    coll: Collection
    tenant: str
    id: str
    pk: str
    body: dict[str, Any] | None = None
    expect: str | None = None  # server ETag the write is conditional on
    conditional: bool = False
    prior: dict[str, Any] | None = None  # the committed item before, when known
    prior_known: bool = False


def apply_op(store: CosmosRecordStore, op: Op, etags: dict[tuple[str, str, str], str], undo: list[Callable[[], None]]) -> None:
    """Send one buffered write, conditional on the version read where the caller named one; push its undo."""
    container = store.container(op.coll.name)
    key = (op.coll.name, op.tenant, op.id)
    cid = cosmos_id(op.id)
    prior = restorable(op.prior) if op.prior else None
    condition: dict[str, Any] = {}
    if op.conditional:
        expect = etags.get(key, op.expect)
        if expect:
            condition = {"etag": expect, "match_condition": MatchConditions.IfNotModified}
    if op.kind in ("create", "create_or_skip"):
        try:
            result = container.create_item(op.body)
        except exceptions.CosmosResourceExistsError as exc:
            if op.kind == "create_or_skip":
                return
            raise Conflict(f"{op.coll.name} {op.id} already exists") from exc
        etags[key] = result["_etag"]
        undo.append(lambda: quiet(container.delete_item, cid, partition_key=op.pk))
    elif op.kind == "replace":
        try:
            result = container.replace_item(cid, op.body, **condition)
        except (exceptions.CosmosAccessConditionFailedError, exceptions.CosmosResourceNotFoundError) as exc:
            raise PreconditionFailed(f"{op.coll.name} {op.id} has changed or no longer exists") from exc
        etags[key] = result["_etag"]
        if prior is not None:
            undo.append(lambda: quiet(container.upsert_item, prior))
    elif op.kind == "upsert":
        result = container.upsert_item(op.body)
        etags[key] = result["_etag"]
        if prior is not None:
            undo.append(lambda: quiet(container.upsert_item, prior))
        elif op.prior_known:
            undo.append(lambda: quiet(container.delete_item, cid, partition_key=op.pk))
    elif op.kind == "delete":
        try:
            container.delete_item(cid, partition_key=op.pk, **condition)
        except exceptions.CosmosResourceNotFoundError:
            return
        except exceptions.CosmosAccessConditionFailedError as exc:
            raise PreconditionFailed(f"{op.coll.name} {op.id} has changed or no longer exists") from exc
        etags.pop(key, None)
        if prior is not None:
            undo.append(lambda: quiet(container.upsert_item, prior))
    else:  # pragma: no cover - internal
        raise AssertionError(op.kind)


def undo_all(undo: list[Callable[[], None]]) -> None:
    """Run the undo steps, last first; a failing step is logged, the others still run."""
    for step in reversed(undo):
        try:
            step()
        except Exception:  # noqa: BLE001 - best effort; the original error is what matters
            log.exception("cosmos: undo step failed")
