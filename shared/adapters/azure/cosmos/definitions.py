"""Container definitions, shared by the adapter (which creates containers on the emulator)
and the infrastructure generator (which writes the same definitions into the Bicep).

Every container is partitioned on the synthetic `/pk` path (see `items.partition_key`):
on real Cosmos a MultiHash key would make bucketed tenant queries prefix-targeted, but
cosmosdb-server cannot run prefix queries, so one string key is used everywhere.
"""

from __future__ import annotations

from typing import Any

from shared.records import Collection

PARTITION_PATH = "/pk"


def indexing_policy(coll: Collection) -> dict[str, Any]:
    """Everything indexed except large free text; composite orderings (with the `id` tie-break
    of keyset paging) in both directions."""
    composites: list[list[dict[str, str]]] = []
    for fields in (*coll.composite, *coll.keyset_composites):
        for order in ("ascending", "descending"):
            composites.append([{"path": f"/{f}", "order": order} for f in fields])
    policy: dict[str, Any] = {
        "indexingMode": "consistent",
        "automatic": True,
        "includedPaths": [{"path": "/*"}],
        "excludedPaths": [{"path": f"/{f}/*"} for f in coll.unindexed] + [{"path": '/"_etag"/?'}],
    }
    if composites:
        policy["compositeIndexes"] = composites
    return policy


def container_definition(coll: Collection) -> dict[str, Any]:
    """What a container needs: partition key path, indexing policy, default TTL."""
    return {
        "id": coll.name,
        "partitionKey": {"paths": [PARTITION_PATH], "kind": "Hash"},
        "indexingPolicy": indexing_policy(coll),
        "defaultTtl": -1 if coll.expires else None,
    }
