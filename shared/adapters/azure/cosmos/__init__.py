"""Records on Azure Cosmos DB (SQL API): the `RecordStore` port for the Azure backend.

- `store`: the store, one database per region, one container per collection.
- `unit_of_work`: a unit's reads and buffered writes.
- `commit` and `chain`: applying the writes and hash-chain appends at commit, with undo.
- `queries`: port queries as Cosmos SQL, continuation tokens.
- `items`: documents as Cosmos items (partition keys, adapter ETags, ttl, ids).
- `definitions`: container definitions, shared with the infrastructure generator.

Runs against cosmosdb-server in tests. Where that emulator differs from Cosmos, the code
says so where it matters (point-read headers; TTL stored but not enforced; ORDER BY
leaving out items without the field).
"""

from shared.adapters.azure.cosmos.definitions import PARTITION_PATH, container_definition, indexing_policy
from shared.adapters.azure.cosmos.store import EMULATOR_KEY, CosmosRecordStore
from shared.adapters.azure.cosmos.unit_of_work import CosmosUnitOfWork

__all__ = ["EMULATOR_KEY", "PARTITION_PATH", "CosmosRecordStore", "CosmosUnitOfWork", "container_definition", "indexing_policy"]
