"""The record store on Azure Cosmos DB (SQL API): one database per region (`{prefix}-{region}`),
one container per collection of `shared.records.ALL`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.cosmos import CosmosClient, PartitionKey, exceptions

from shared.adapters.azure.cosmos import bulk, intent
from shared.adapters.azure.cosmos.definitions import PARTITION_PATH, indexing_policy
from shared.adapters.azure.cosmos.items import cosmos_id, domain_id, new_etag, partition_key, to_item
from shared.adapters.azure.cosmos.sdk import backoff, io
from shared.adapters.azure.cosmos.unit_of_work import CosmosUnitOfWork
from shared.domain.errors import Unavailable
from shared.ports import Clock, Linker, ReadOnlyUnitError
from shared.records import ALL, SEQUENCES, Collection

log = logging.getLogger(__name__)

EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="

_SEQUENCE_ATTEMPTS = 50
_ID_CHUNK = 100
# cosmosdb-server answers a point read of a missing item with 500 unless this header is
# sent (real Cosmos ignores it on point reads); with it the answer is a proper 404.
_EMULATOR_READ_HEADERS = {"x-ms-documentdb-query-enablecrosspartition": "true"}


class CosmosRecordStore:
    """A region's records in one Cosmos DB database. Thread-safe; a unit of work is not."""

    def __init__(
        self,
        endpoint: str,
        *,
        region: str,
        database_prefix: str = "vigil",
        key: str | None = None,
        client_id: str | None = None,
        verify_tls: bool = True,
        clock: Clock | None = None,
        emulator: bool | None = None,
        create_if_missing: bool | None = None,
        collections: Mapping[str, Collection] = ALL,
        credential: Any = None,
        ttl_grace_seconds: int = 0,
        transactional_batch: bool | None = None,
    ):
        """`key` is for the emulator (or a dev account); without it the client signs in with
        `DefaultAzureCredential(managed_identity_client_id=client_id)`.

        `emulator` (default: a key is given) turns off endpoint discovery and sends the
        header cosmosdb-server needs for clean 404s on point reads. `create_if_missing`
        (default: a key is given) creates the database and containers at construction; in
        Azure the Bicep creates them and the data-plane role cannot, so it stays off.
        `transactional_batch` (default: not the emulator) commits a unit's outbox entries
        in one transactional batch with its commit point; cosmosdb-server cannot run the
        Python SDK's batch (it wants a partition key per operation and is not atomic), so
        there the entries are written first and the commit point is the intent's delete.
        """
        if not endpoint:
            raise ValueError("a Cosmos DB endpoint is required")
        self.endpoint = endpoint
        self.database_name = f"{database_prefix}-{region}"
        self._collections = dict(collections)
        self._clock = clock
        self._ttl_grace_seconds = ttl_grace_seconds
        self._emulator = bool(key) if emulator is None else emulator
        self._create = bool(key) if create_if_missing is None else create_if_missing
        self.transactional_batch = not self._emulator if transactional_batch is None else transactional_batch
        if credential is None:
            if key:
                credential = key
            else:
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential(managed_identity_client_id=client_id or None)
        self._credential = credential
        self._client_options: dict[str, Any] = {"connection_verify": verify_tls}
        if self._emulator:
            self._client_options["enable_endpoint_discovery"] = False
        self._client: CosmosClient | None = None
        self._lock = threading.RLock()
        self._local = threading.local()  # the unit open on each thread
        self._database: Any = None
        self._containers: dict[str, Any] = {}
        self._read_kwargs: dict[str, Any] = {"headers": dict(_EMULATOR_READ_HEADERS)} if self._emulator else {}
        if self._create:
            with io():
                for name in self._collections:
                    self.container(name)

    @classmethod
    def from_settings(cls, settings: Any, *, clock: Clock | None = None) -> CosmosRecordStore:
        return cls(
            settings.cosmos_endpoint,
            region=settings.region,
            database_prefix=settings.cosmos_database_prefix,
            key=settings.cosmos_key or None,
            client_id=settings.azure_client_id or None,
            verify_tls=settings.cosmos_verify_tls,
            clock=clock,
            ttl_grace_seconds=settings.cosmos_ttl_grace_seconds,
        )

    # ---- plumbing --------------------------------------------------------------------
    def now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    def collection(self, name: str) -> Collection:
        try:
            return self._collections[name]
        except KeyError:
            raise ValueError(f"unknown collection {name!r}") from None

    def client(self) -> CosmosClient:
        """The SDK client, made on first use (making it already calls the account)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    with io():
                        self._client = CosmosClient(self.endpoint, credential=self._credential, **self._client_options)
        return self._client

    def database(self) -> Any:
        if self._database is None:
            with self._lock:
                if self._database is None:
                    client = self.client()
                    with io():
                        if self._create:
                            self._database = client.create_database_if_not_exists(self.database_name)
                        else:
                            self._database = client.get_database_client(self.database_name)
        return self._database

    def container(self, name: str) -> Any:
        proxy = self._containers.get(name)
        if proxy is not None:
            return proxy
        coll = self.collection(name)
        db = self.database()
        with self._lock:
            proxy = self._containers.get(name)
            if proxy is None:
                if self._create:
                    with io():
                        proxy = db.create_container_if_not_exists(
                            id=coll.name,
                            partition_key=PartitionKey(path=PARTITION_PATH),
                            indexing_policy=indexing_policy(coll),
                            default_ttl=-1 if coll.expires else None,
                        )
                else:
                    proxy = db.get_container_client(coll.name)
                self._containers[name] = proxy
        return proxy

    def partition_key(self, coll: Collection, tenant: str, body: Mapping[str, Any]) -> str:
        return partition_key(coll, tenant, body)

    def item(self, coll: Collection, tenant: str, doc: Mapping[str, Any], etag: str) -> dict[str, Any]:
        """The Cosmos item for a document (see `items.to_item`), `ttl` counted from now less the grace."""
        return to_item(coll, tenant, doc, etag, self.now() - timedelta(seconds=self._ttl_grace_seconds))

    def read_raw(self, coll: Collection, tenant: str, id_: str) -> dict[str, Any] | None:
        """The stored item (with system fields), or None.

        Where the id names its partition (`id_bucket`, or none) the read is a point read. In
        a collection bucketed by a field the id alone does not name the partition, so it is a
        query on tenant and id across the tenant's buckets; `insert` relies on it to keep
        ids unique per tenant across buckets (Cosmos enforces uniqueness per partition only).
        """
        container = self.container(coll.name)
        cid = cosmos_id(id_)
        with io():
            if coll.hierarchical_bucket:
                rows = list(
                    container.query_items(
                        "SELECT * FROM c WHERE c.tenantId = @tenant AND c.id = @id",
                        parameters=[{"name": "@tenant", "value": tenant}, {"name": "@id", "value": cid}],
                        enable_cross_partition_query=True,
                    )
                )
                if len(rows) > 1:
                    log.warning("cosmos: %d items share one id in %s", len(rows), coll.name)
                    rows.sort(key=lambda r: r.get("_ts", 0), reverse=True)
                return rows[0] if rows else None
            try:
                pk = partition_key(coll, tenant, {"id": id_})
                return container.read_item(cid, partition_key=pk, **self._read_kwargs)
            except exceptions.CosmosResourceNotFoundError:
                return None

    def read_raw_many(self, coll: Collection, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored items of one tenant by id (domain id -> raw item), a query per 100 ids."""
        found: dict[str, dict[str, Any]] = {}
        container = self.container(coll.name)
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _ID_CHUNK):
            chunk = [cosmos_id(i) for i in unique[start : start + _ID_CHUNK]]
            params = [{"name": "@tenant", "value": tenant}, {"name": "@ids", "value": chunk}]
            sql = "SELECT * FROM c WHERE c.tenantId = @tenant AND ARRAY_CONTAINS(@ids, c.id)"
            kwargs: dict[str, Any] = {"enable_cross_partition_query": True}
            if not coll.bucketed:
                sql += " AND c.pk = @tenant"
                kwargs = {"partition_key": tenant}
            with io():
                for raw in container.query_items(sql, parameters=params, **kwargs):
                    found[domain_id(raw["id"])] = raw
        return found

    @contextmanager
    def unit_of_work(self) -> Iterator[CosmosUnitOfWork]:
        current: CosmosUnitOfWork | None = getattr(self._local, "uow", None)
        if current is not None:  # join this thread's open unit (see RecordStore)
            if current.read_only:
                raise ReadOnlyUnitError("a unit of work cannot be opened inside a read-only unit")
            yield current
            return
        uow = CosmosUnitOfWork(self)
        self._local.uow = uow
        try:
            yield uow
        except BaseException:
            self._local.uow = None
            uow.discard()
            raise
        self._local.uow = None  # committing: nothing joins it any more
        uow.commit()

    @contextmanager
    def read_only(self) -> Iterator[CosmosUnitOfWork]:
        """A unit that only reads; nothing to lock, nothing to commit."""
        current: CosmosUnitOfWork | None = getattr(self._local, "uow", None)
        if current is not None:  # join this thread's open unit, read-only
            yield current if current.read_only else current.reader()
            return
        uow = CosmosUnitOfWork(self, read_only=True)
        self._local.uow = uow
        try:
            yield uow
        finally:
            self._local.uow = None
            uow.discard()

    def create_all(self, collection: str, tenant: str, docs: Sequence[dict[str, Any]]) -> list[bool]:
        """Store each new document in transactional batches, one per partition key and up to
        100 documents (see `bulk` and `RecordStore.create_all`); returns which were new."""
        if getattr(self._local, "uow", None) is not None:
            raise RuntimeError("create_all writes on its own: call it outside a unit of work")
        return bulk.create_all(self, self.collection(collection), tenant, docs)

    def journal(self, collection: str, tenant: str, chain: str, entry: dict[str, Any], linker: Linker) -> None:
        """Appended to the chain at once, in a unit of its own (never this thread's open one):
        a chain append here is an optimistic move of the chain head, not a store-wide lock,
        so a read never queues behind writes and nothing is left to link later."""
        uow = CosmosUnitOfWork(self)
        uow.append_chained(collection, tenant, chain, entry, linker)
        uow.commit()

    def next_sequence(self, tenant: str, name: str) -> int:
        """Increment the `sequences` item now (not at commit), ETag-checked; gaps are allowed."""
        coll = self.collection(SEQUENCES.name)
        container = self.container(coll.name)
        for attempt in range(_SEQUENCE_ATTEMPTS):
            raw = self.read_raw(coll, tenant, name)
            try:
                with io():
                    if raw is None:
                        container.create_item(self.item(coll, tenant, {"id": name, "value": 1}, new_etag()))
                        return 1
                    value = int(raw["value"]) + 1
                    body = self.item(coll, tenant, {"id": name, "value": value}, new_etag())
                    container.replace_item(raw["id"], body, etag=raw["_etag"], match_condition=MatchConditions.IfNotModified)
                    return value
            except (
                exceptions.CosmosResourceExistsError,
                exceptions.CosmosAccessConditionFailedError,
                exceptions.CosmosResourceNotFoundError,
            ):
                backoff(attempt)
        raise Unavailable(f"The sequence {name} is too busy; try again.")

    @property
    def read_kwargs(self) -> dict[str, Any]:
        """What a point read sends (the emulator needs a header to answer a missing item with 404)."""
        return self._read_kwargs

    def recover_commits(self, older_than: datetime) -> int:
        """Roll back the units whose commit intent is older than `older_than` (see `intent`)."""
        return intent.recover(self, older_than)

    def ready(self) -> tuple[bool, str]:
        try:
            self.database().read()
            return True, "ok"
        except Unavailable as exc:
            return False, exc.detail
        except exceptions.CosmosHttpResponseError as exc:
            return False, f"cosmos answered {exc.status_code}"
        except Exception as exc:  # noqa: BLE001 - a readiness probe reports, never raises
            return False, type(exc).__name__

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            self._database = None
            self._containers.clear()
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
