"""Records on Azure Cosmos DB (SQL API): the `RecordStore` port for the Azure backend.

- `store`: the store, one database per region, one container per collection.
- `unit_of_work`: a unit's reads and buffered writes.
- `commit` and `chain`: applying the writes and hash-chain appends at commit, with undo.
- `queries`: port queries as Cosmos SQL, continuation tokens; `overlay`: the unit's own
  writes merged into them.
- `items`: documents as Cosmos items (partition keys, adapter ETags, ttl, ids).
- `definitions`: container definitions, shared with the infrastructure generator.

Tests run it on cosmosdb-server, which differs from Cosmos in three ways the adapter
allows for: a point read of a missing item answers 500 unless a header is sent (the store
sends it when `emulator` is on), TTL is stored but never enforced (the timer sweep is the
policy anyway), and ORDER BY leaves out items without the field.
"""

from shared.adapters.azure.cosmos.definitions import PARTITION_PATH, container_definition, indexing_policy
from shared.adapters.azure.cosmos.store import EMULATOR_KEY, CosmosRecordStore
from shared.adapters.azure.cosmos.unit_of_work import CosmosUnitOfWork

__all__ = ["EMULATOR_KEY", "PARTITION_PATH", "CosmosRecordStore", "CosmosUnitOfWork", "container_definition", "indexing_policy"]
