"""Records on Azure Cosmos DB (SQL API): one database per region, one container per collection.

Layout
------
- Database `{prefix}-{region}`; one container per collection of `shared.records.ALL`,
  partition key path `/pk`. The adapter writes `tenantId` and `pk` on every item:
  `pk` is the tenant, or `"{tenant}|{bucket}"` for a collection with a
  `hierarchical_bucket` (see `_bucket`). Items are returned without Cosmos system fields
  and without the adapter's own fields, with `_etag` added.
- Every query names its tenants in the WHERE clause (`c.tenantId = @tenant` or
  `c.tenantId IN (...)`), never relying on the `partition_key=` argument alone: that is
  the tenant-isolation rule, and cosmosdb-server ignores the argument anyway. Only
  `tenants=None` (platform timer sweeps) queries across tenants.
- Items with `expires_at` in an expiring collection also get `ttl` = seconds until
  `expires_at` plus `ttl_grace_seconds` (at least 1), computed at write time from the
  clock given at construction; the containers have `defaultTtl = -1`. The timer sweep
  stays the policy: it deletes (and audits) at `expires_at`, queries never return an
  item past it, and the grace leaves TTL as the backstop for a sweep that is not running.

ETags
-----
A unit of work buffers its writes and applies them at commit, yet the port returns the
new ETag from `insert`/`replace`/`upsert` at once (the HTTP layer answers with it). Cosmos
only assigns its `_etag` when the write lands, so the ETag this adapter hands out is its
own version token, generated client-side and stored in the item as `vigilEtag` (as the
SQLite store does). Concurrency is still enforced by Cosmos: a conditional write checks
the caller's ETag against the version this unit read, and sends the write with
`etag=<server _etag of that read>, match_condition=IfNotModified`, so a change by anyone
in between fails with 412 -> `PreconditionFailed`. A document written by something else
than this adapter (no `vigilEtag`) shows its server `_etag`.

Unit of work
------------
- Reads (`get`) see the unit's own buffered writes; queries and counts see committed
  data only.
- `insert`, `replace` and `delete` check the current state at once (a point read,
  cached for the unit) so `Conflict`, `PreconditionFailed` and the `delete` result are
  answered where the call is made, as on SQLite; the write itself is re-checked by
  Cosmos at commit (409 / 412).
- `commit` applies the writes in order, then the hash-chain appends. Cosmos has no
  transaction across containers (transactional batch is per container and partition,
  and cosmosdb-server does not run it), so if a write fails part-way the writes already
  applied are undone best-effort (created items deleted, earlier versions put back with
  their ETags); a request that fails before commit writes nothing at all.

Hierarchical buckets
--------------------
For a collection with `hierarchical_bucket = "<field>"` the partition key is
`"{tenant}|{bucket}"`, where the bucket is the document's `<field>` value, cut to its
month (`YYYY-MM`) when it is a timestamp, so a tenant is spread over many logical
partitions and can outgrow 20 GB. Point reads then need the bucket, which `get(...,
id)` does not carry: they become a query on `tenantId` and `id` across the
tenant's partitions, and `insert` checks that query for id uniqueness across buckets
(Cosmos only enforces it per partition). Changing the bucket field moves the item.
On real Cosmos a MultiHash key `["/tenantId", "/bucket"]` would make those tenant
queries prefix-targeted; cosmosdb-server cannot run prefix queries, so the synthetic
`/pk` string is used everywhere and the Bicep must declare the same `/pk` path.

Emulator differences (cosmosdb-server 0.13.4)
---------------------------------------------
- A point read of a missing item answers 500 unless the request carries
  `x-ms-documentdb-query-enablecrosspartition: true`; with `emulator=True` point reads
  send that header (real Cosmos ignores it on point reads) and get a proper 404.
- TTL is stored but never enforced; ORDER BY leaves out items without the field.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import logging
import math
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.cosmos import CosmosClient, PartitionKey, exceptions

from shared.domain.clock import from_iso, to_iso
from shared.domain.errors import Conflict, Invalid, PreconditionFailed, Unavailable
from shared.ports import ChainLink, Clock, Linker, Page, Where
from shared.records import ALL, CHAIN_HEADS, SEQUENCES, Collection

log = logging.getLogger(__name__)

EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="

PARTITION_PATH = "/pk"
# Written by the adapter on every item; a document may not carry them itself.
RESERVED_FIELDS = ("tenantId", "pk", "ttl", "vigilEtag")
# Added by Cosmos; stripped from what the adapter returns.
SYSTEM_FIELDS = ("_rid", "_self", "_ts", "_attachments", "_etag", "_lsn")

_OPS = {"eq": "=", "ne": "!=", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
_CHAIN_ATTEMPTS = 25
_SEQUENCE_ATTEMPTS = 50
_ID_CHUNK = 100
# Cosmos ids may not contain these; such ids are stored base64-encoded behind a marker.
_ID_FORBIDDEN = re.compile(r"[/\\?#]|\s$|^\s")
_ID_MARK = "~b64~"
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_EMULATOR_READ_HEADERS = {"x-ms-documentdb-query-enablecrosspartition": "true"}


# ---- container definitions (the Bicep declares the same) ------------------------------
def indexing_policy(coll: Collection) -> dict[str, Any]:
    """Everything indexed except large free text; composite orderings in both directions."""
    composites: list[list[dict[str, str]]] = []
    for fields in coll.composite:
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


# ---- values --------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    """What JSON can carry; times as UTC ISO 8601 so that string order is time order."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, Enum):
            return value.value
        return value
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return str(value)


def _scalar(value: Any) -> Any:
    return _jsonable(value)


def _new_etag() -> str:
    return secrets.token_hex(10)


def _cosmos_id(id_: str) -> str:
    if not isinstance(id_, str) or not id_:
        raise ValueError("a document id must be a non-empty string")
    if _ID_FORBIDDEN.search(id_) or id_.startswith(_ID_MARK):
        return _ID_MARK + base64.urlsafe_b64encode(id_.encode()).decode().rstrip("=")
    return id_


def _domain_id(cosmos_id: str) -> str:
    if cosmos_id.startswith(_ID_MARK):
        raw = cosmos_id[len(_ID_MARK) :]
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    return cosmos_id


def _bucket(value: Any) -> str:
    if isinstance(value, datetime):
        return to_iso(value)[:7]
    text = str(_jsonable(value))
    if _ISO_TIME.match(text):
        return text[:7]
    return text


def ttl_seconds(expires_at: Any, now: datetime) -> int | None:
    """Seconds from `now` until `expires_at`, at least 1; None when it is not a time."""
    if isinstance(expires_at, datetime):
        moment = expires_at.astimezone(UTC)
    elif isinstance(expires_at, str):
        try:
            moment = from_iso(expires_at)
        except ValueError:
            return None
    else:
        return None
    seconds = math.ceil((moment - now).total_seconds())
    return max(1, min(seconds, 2**31 - 1))


def public(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A stored item as the port returns it: no system or adapter fields, `_etag` added."""
    doc = {k: v for k, v in raw.items() if k not in SYSTEM_FIELDS and k not in RESERVED_FIELDS}
    doc["id"] = _domain_id(raw["id"])
    doc["_etag"] = raw.get("vigilEtag") or raw.get("_etag")
    doc["_tenant"] = raw.get("tenantId")
    return doc


def _restorable(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A stored item as it can be written back (keeps tenantId, pk, ttl and vigilEtag)."""
    return {k: v for k, v in raw.items() if k not in SYSTEM_FIELDS}


def _encode_token(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _bad_token(exc: BaseException | None = None) -> Invalid:
    err = Invalid("The continuation token is not valid.", errors=[{"field": "continuation"}])
    if exc is not None:
        err.__cause__ = exc
    return err


def _decode_token(token: str, fingerprint: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (ValueError, binascii.Error, TypeError) as exc:
        raise _bad_token(exc) from exc
    if not isinstance(data, dict) or data.get("q") != fingerprint or not isinstance(data.get("c"), str) or not data["c"]:
        raise _bad_token()
    return data["c"]


@contextmanager
def _io() -> Iterator[None]:
    """Transport failures and Cosmos outages become `Unavailable`; 4xx stay with the caller."""
    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise Unavailable("The record store cannot be reached.") from exc
    except exceptions.CosmosHttpResponseError as exc:
        if exc.status_code in (429, 500, 502, 503, 504) and not isinstance(
            exc, (exceptions.CosmosResourceNotFoundError, exceptions.CosmosResourceExistsError, exceptions.CosmosAccessConditionFailedError)
        ):
            raise Unavailable(f"The record store answered {exc.status_code}.") from exc
        raise


# ---- the store -----------------------------------------------------------------------
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
    ):
        """`key` is for the emulator (or a dev account); without it the client signs in with
        `DefaultAzureCredential(managed_identity_client_id=client_id)`.

        `emulator` (default: a key is given) turns off endpoint discovery and sends the
        header cosmosdb-server needs for clean 404s on point reads. `create_if_missing`
        (default: a key is given) creates the database and containers at construction; in
        Azure the Bicep creates them and the data-plane role cannot, so it stays off.
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
        self._database: Any = None
        self._containers: dict[str, Any] = {}
        self._read_kwargs: dict[str, Any] = {"headers": dict(_EMULATOR_READ_HEADERS)} if self._emulator else {}
        if self._create:
            with _io():
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
                    with _io():
                        self._client = CosmosClient(self.endpoint, credential=self._credential, **self._client_options)
        return self._client

    def database(self) -> Any:
        if self._database is None:
            with self._lock:
                if self._database is None:
                    client = self.client()
                    with _io():
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
                    with _io():
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
        if not coll.hierarchical_bucket:
            return tenant
        value = body.get(coll.hierarchical_bucket)
        if value is None:
            raise ValueError(f"{coll.name} items need {coll.hierarchical_bucket!r} (their partition bucket)")
        return f"{tenant}|{_bucket(value)}"

    def item(self, coll: Collection, tenant: str, doc: Mapping[str, Any], etag: str) -> dict[str, Any]:
        """The Cosmos item for a document: JSON values, adapter fields, ttl where it expires."""
        clash = [k for k in RESERVED_FIELDS if k in doc]
        if clash:
            raise ValueError(f"{coll.name} documents may not carry the adapter's fields {clash}")
        if not tenant:
            raise ValueError("a tenant is required")
        body = {k: _jsonable(v) for k, v in doc.items() if k not in ("_etag", "_tenant")}
        if "id" not in body:
            raise ValueError(f"{coll.name} documents need an id")
        body["id"] = _cosmos_id(body["id"])
        body["tenantId"] = tenant
        body["pk"] = self.partition_key(coll, tenant, body)
        body["vigilEtag"] = etag
        if coll.expires and doc.get("expires_at") is not None:
            ttl = ttl_seconds(doc["expires_at"], self.now() - timedelta(seconds=self._ttl_grace_seconds))
            if ttl is not None:
                body["ttl"] = ttl
        return body

    def read_raw(self, coll: Collection, tenant: str, id_: str) -> dict[str, Any] | None:
        """The stored item (with system fields), or None."""
        container = self.container(coll.name)
        cid = _cosmos_id(id_)
        with _io():
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
                return container.read_item(cid, partition_key=tenant, **self._read_kwargs)
            except exceptions.CosmosResourceNotFoundError:
                return None

    def read_raw_many(self, coll: Collection, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored items of one tenant by id (domain id -> raw item), a query per 100 ids."""
        found: dict[str, dict[str, Any]] = {}
        container = self.container(coll.name)
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _ID_CHUNK):
            chunk = [_cosmos_id(i) for i in unique[start : start + _ID_CHUNK]]
            params = [{"name": "@tenant", "value": tenant}, {"name": "@ids", "value": chunk}]
            sql = "SELECT * FROM c WHERE c.tenantId = @tenant AND ARRAY_CONTAINS(@ids, c.id)"
            kwargs: dict[str, Any] = {"enable_cross_partition_query": True}
            if not coll.hierarchical_bucket:
                sql += " AND c.pk = @tenant"
                kwargs = {"partition_key": tenant}
            with _io():
                for raw in container.query_items(sql, parameters=params, **kwargs):
                    found[_domain_id(raw["id"])] = raw
        return found

    @contextmanager
    def unit_of_work(self) -> Iterator[CosmosUnitOfWork]:
        uow = CosmosUnitOfWork(self)
        try:
            yield uow
        except BaseException:
            uow.discard()
            raise
        else:
            uow.commit()

    @contextmanager
    def read_only(self) -> Iterator[CosmosUnitOfWork]:
        """A unit for jobs that only read (writes raise)."""
        uow = CosmosUnitOfWork(self, read_only=True)
        try:
            yield uow
        finally:
            uow.discard()

    def next_sequence(self, tenant: str, name: str) -> int:
        """Increment the `sequences` item now (not at commit), ETag-checked; gaps are allowed."""
        coll = self.collection(SEQUENCES.name)
        container = self.container(coll.name)
        for attempt in range(_SEQUENCE_ATTEMPTS):
            raw = self.read_raw(coll, tenant, name)
            try:
                with _io():
                    if raw is None:
                        container.create_item(self.item(coll, tenant, {"id": name, "value": 1}, _new_etag()))
                        return 1
                    value = int(raw["value"]) + 1
                    body = self.item(coll, tenant, {"id": name, "value": value}, _new_etag())
                    container.replace_item(raw["id"], body, etag=raw["_etag"], match_condition=MatchConditions.IfNotModified)
                    return value
            except (
                exceptions.CosmosResourceExistsError,
                exceptions.CosmosAccessConditionFailedError,
                exceptions.CosmosResourceNotFoundError,
            ):
                _backoff(attempt)
        raise Unavailable(f"The sequence {name} is too busy; try again.")

    def journal(self, collection: str, tenant: str, chain: str, entry: dict[str, Any], linker: Linker) -> None:
        """Appended to the chain at once, in a unit of its own: a chain append here is an
        optimistic move of the chain head, not a store-wide lock, so a read never queues
        behind writes and nothing is left to link later."""
        with self.unit_of_work() as uow:
            uow.append_chained(collection, tenant, chain, entry, linker)

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


def _backoff(attempt: int) -> None:
    time.sleep(min(0.2, 0.005 * (2 ** min(attempt, 6))) * random.random())


# ---- the unit of work ----------------------------------------------------------------
@dataclass
class _State:
    """A document as this unit sees it."""

    doc: dict[str, Any] | None  # public form with `_etag`; None when absent
    raw: dict[str, Any] | None  # the committed item as read (for undo and conditions)
    pk: str | None  # partition key of the committed item
    pending: bool = False  # changed by this unit, not yet committed


@dataclass
class _Op:
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


@dataclass
class _Append:
    coll: Collection
    tenant: str
    chain: str
    entry: dict[str, Any]
    linker: Linker


class CosmosUnitOfWork:
    def __init__(self, store: CosmosRecordStore, *, read_only: bool = False):
        self._store = store
        self._read_only = read_only
        self._known: dict[tuple[str, str, str], _State] = {}
        self._ops: list[_Op] = []
        self._appends: list[_Append] = []
        self.links: list[ChainLink] = []  # filled at commit, in append order

    # ---- state -----------------------------------------------------------------------
    def _key(self, coll: Collection, tenant: str, id_: str) -> tuple[str, str, str]:
        return (coll.name, tenant, id_)

    def _remember(self, coll: Collection, tenant: str, raw: dict[str, Any] | None, id_: str) -> _State:
        state = _State(doc=public(raw) if raw else None, raw=raw, pk=raw.get("pk") if raw else None)
        self._known[self._key(coll, tenant, id_)] = state
        return state

    def _state(self, coll: Collection, tenant: str, id_: str) -> _State:
        state = self._known.get(self._key(coll, tenant, id_))
        if state is None:
            state = self._remember(coll, tenant, self._store.read_raw(coll, tenant, id_), id_)
        return state

    def _load(self, coll: Collection, tenant: str, ids: Sequence[str]) -> None:
        missing = [i for i in ids if self._key(coll, tenant, i) not in self._known]
        if not missing:
            return
        found = self._store.read_raw_many(coll, tenant, missing)
        for id_ in missing:
            self._remember(coll, tenant, found.get(id_), id_)

    def _check_writable(self) -> None:
        if self._read_only:
            raise RuntimeError("write in a read-only unit of work")

    def _buffer(self, coll: Collection, tenant: str, id_: str, body: dict[str, Any] | None, state: _State) -> None:
        """Record the state after a buffered write (`body` is the new item, None once deleted)."""
        state.doc = public(body) if body is not None else None
        state.pk = body["pk"] if body is not None else None
        state.pending = True
        self._known[self._key(coll, tenant, id_)] = state

    # ---- reads -----------------------------------------------------------------------
    def get(self, collection: str, tenant: str, id: str) -> dict[str, Any] | None:
        coll = self._store.collection(collection)
        state = self._state(coll, tenant, id)
        return dict(state.doc) if state.doc is not None else None

    def _where(self, coll: Collection, where: Sequence[Where], params: list[dict[str, Any]]) -> list[str] | None:
        """SQL conditions for `where`; None when they can match nothing."""
        clauses: list[str] = []

        def param(value: Any) -> str:
            name = f"@p{len(params)}"
            params.append({"name": name, "value": value})
            return name

        for w in where:
            if w.field == "id":
                path = "c.id"
            elif w.field in coll.all_indexed:
                path = f"c[{json.dumps(w.field)}]"
            elif w.field in coll.indexed_lists and w.op == "contains":
                path = f"c[{json.dumps(w.field)}]"
            else:
                raise ValueError(f"{coll.name}.{w.field} is not indexed for {w.op}")
            convert = _cosmos_id if w.field == "id" else _scalar
            if w.op == "contains":
                clauses.append(f"ARRAY_CONTAINS({path}, {param(_scalar(w.value))})")
            elif w.op == "in":
                values = [convert(v) for v in w.value]
                if not values:
                    return None
                clauses.append(f"{path} IN ({', '.join(param(v) for v in values)})")
            elif w.value is None and w.op in ("eq", "ne"):
                if w.op == "eq":
                    clauses.append(f"(NOT IS_DEFINED({path}) OR IS_NULL({path}))")
                else:
                    clauses.append(f"(IS_DEFINED({path}) AND NOT IS_NULL({path}))")
            elif w.op == "ne":
                # As in SQL: a missing or null field is not "different from" a value.
                clauses.append(f"({path} != {param(convert(w.value))} AND NOT IS_NULL({path}))")
            elif w.op in _OPS:
                clauses.append(f"{path} {_OPS[w.op]} {param(convert(w.value))}")
            else:
                raise ValueError(f"unknown operator {w.op!r}")
        return clauses

    def _scope(
        self, coll: Collection, tenants: Sequence[str] | None, where: Sequence[Where]
    ) -> tuple[str, list[dict[str, Any]], dict[str, Any]] | None:
        """(WHERE text, parameters, query kwargs); None when nothing can match."""
        params: list[dict[str, Any]] = []
        clauses: list[str] = []
        kwargs: dict[str, Any] = {"enable_cross_partition_query": True}
        if tenants is not None:
            tenants = list(dict.fromkeys(tenants))
            if not tenants:
                return None
            if len(tenants) == 1:
                params.append({"name": "@tenant", "value": tenants[0]})
                clauses.append("c.tenantId = @tenant")
                if not coll.hierarchical_bucket:
                    clauses.append("c.pk = @tenant")
                    kwargs = {"partition_key": tenants[0]}
            else:
                names = []
                for i, t in enumerate(tenants):
                    names.append(f"@t{i}")
                    params.append({"name": f"@t{i}", "value": t})
                clauses.append(f"c.tenantId IN ({', '.join(names)})")
        conditions = self._where(coll, where, params)
        if conditions is None:
            return None
        clauses.extend(conditions)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params, kwargs

    def _order(self, coll: Collection, where: Sequence[Where], order_by: str | None, descending: bool) -> str:
        if order_by is None:
            return ""
        if order_by not in coll.all_indexed:
            raise ValueError(f"{coll.name}.{order_by} is not indexed for ordering")
        direction = "DESC" if descending else "ASC"
        fields = [order_by]
        # With an equality filter on the first field of a composite index ending in the order
        # field, order by both (same result) so Cosmos can serve it from that composite index.
        fixed = {w.field for w in where if w.op == "eq" and w.value is not None}
        for composite in coll.composite:
            if len(composite) == 2 and composite[1] == order_by and composite[0] in fixed:
                fields = list(composite)
                break
        return " ORDER BY " + ", ".join(f"c[{json.dumps(f)}] {direction}" for f in fields)

    def query(
        self,
        collection: str,
        tenants: Sequence[str] | None,
        where: Sequence[Where] = (),
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = 100,
        continuation: str | None = None,
    ) -> Page:
        coll = self._store.collection(collection)
        if limit < 1:
            raise ValueError("limit must be at least 1")
        order = self._order(coll, where, order_by, descending)
        scope = self._scope(coll, tenants, where)
        sql = "SELECT * FROM c" + (scope[0] if scope else "") + order
        fingerprint = hashlib.sha256(
            json.dumps([coll.name, sql, scope[1] if scope else None], sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        sdk_token = _decode_token(continuation, fingerprint) if continuation else None
        if scope is None:
            return Page(items=[])
        _, params, kwargs = scope
        container = self._store.container(coll.name)
        raws: list[dict[str, Any]] = []
        while len(raws) < limit:
            try:
                with _io():
                    pager = container.query_items(sql, parameters=params, max_item_count=limit - len(raws), **kwargs).by_page(sdk_token)
                    try:
                        page = list(next(pager))
                    except StopIteration:
                        sdk_token = None
                        break
            except exceptions.CosmosHttpResponseError as exc:
                if sdk_token and exc.status_code == 400:
                    raise _bad_token(exc) from exc
                raise
            raws.extend(page)
            sdk_token = pager.continuation_token
            if not sdk_token:
                break
        items = []
        for raw in raws:
            id_ = _domain_id(raw["id"])
            key = self._key(coll, raw.get("tenantId", ""), id_)
            if key not in self._known:
                self._remember(coll, raw.get("tenantId", ""), raw, id_)
            items.append(public(raw))
        token = _encode_token({"q": fingerprint, "c": sdk_token}) if sdk_token else None
        return Page(items=items, continuation=token)

    def count(self, collection: str, tenants: Sequence[str] | None, where: Sequence[Where] = ()) -> int:
        coll = self._store.collection(collection)
        scope = self._scope(coll, tenants, where)
        if scope is None:
            return 0
        text, params, kwargs = scope
        with _io():
            values = list(self._store.container(coll.name).query_items("SELECT VALUE COUNT(1) FROM c" + text, parameters=params, **kwargs))
        return int(sum(v for v in values if isinstance(v, (int, float))))

    # ---- writes (buffered) -----------------------------------------------------------
    def insert(self, collection: str, tenant: str, doc: dict[str, Any]) -> str:
        self._check_writable()
        coll = self._store.collection(collection)
        state = self._state(coll, tenant, doc["id"])
        if state.doc is not None:
            raise Conflict(f"{collection} {doc['id']} already exists")
        etag = _new_etag()
        body = self._store.item(coll, tenant, doc, etag)
        self._ops.append(_Op("create", coll, tenant, doc["id"], body["pk"], body, prior=None, prior_known=not state.pending))
        self._buffer(coll, tenant, doc["id"], body, state)
        return etag

    def insert_many(self, collection: str, tenant: str, docs: Sequence[dict[str, Any]]) -> list[bool]:
        """Insert each new document, skip ids already present; returns which were new."""
        self._check_writable()
        coll = self._store.collection(collection)
        self._load(coll, tenant, [d["id"] for d in docs])
        inserted: list[bool] = []
        for doc in docs:
            state = self._state(coll, tenant, doc["id"])
            if state.doc is not None:
                inserted.append(False)
                continue
            body = self._store.item(coll, tenant, doc, _new_etag())
            self._ops.append(_Op("create_or_skip", coll, tenant, doc["id"], body["pk"], body, prior_known=not state.pending))
            self._buffer(coll, tenant, doc["id"], body, state)
            inserted.append(True)
        return inserted

    def replace(self, collection: str, tenant: str, doc: dict[str, Any], if_match: str | None) -> str:
        self._check_writable()
        coll = self._store.collection(collection)
        state = self._state(coll, tenant, doc["id"])
        if state.doc is None or (if_match is not None and if_match != state.doc["_etag"]):
            raise PreconditionFailed(f"{collection} {doc['id']} has changed or no longer exists")
        etag = _new_etag()
        body = self._store.item(coll, tenant, doc, etag)
        expect = None if state.pending else (state.raw or {}).get("_etag")
        if state.pk is not None and state.pk != body["pk"]:
            # The bucket changed: the item moves to another logical partition.
            prior = None if state.pending else state.raw
            self._ops.append(
                _Op(
                    "delete",
                    coll,
                    tenant,
                    doc["id"],
                    state.pk,
                    expect=expect,
                    conditional=if_match is not None,
                    prior=prior,
                    prior_known=not state.pending,
                )
            )
            self._ops.append(_Op("create", coll, tenant, doc["id"], body["pk"], body, prior_known=True))
        else:
            self._ops.append(
                _Op(
                    "replace",
                    coll,
                    tenant,
                    doc["id"],
                    body["pk"],
                    body,
                    expect=expect,
                    conditional=if_match is not None,
                    prior=None if state.pending else state.raw,
                    prior_known=not state.pending,
                )
            )
        self._buffer(coll, tenant, doc["id"], body, state)
        return etag

    def upsert(self, collection: str, tenant: str, doc: dict[str, Any]) -> str:
        self._check_writable()
        coll = self._store.collection(collection)
        key = self._key(coll, tenant, doc["id"])
        # Bucketed items are looked up first: a changed bucket means a move, not a second copy.
        state = self._state(coll, tenant, doc["id"]) if coll.hierarchical_bucket else self._known.get(key)
        etag = _new_etag()
        body = self._store.item(coll, tenant, doc, etag)
        known = state is not None and not state.pending
        prior = state.raw if known and state is not None else None
        if state is not None and state.pk is not None and state.pk != body["pk"]:
            self._ops.append(_Op("delete", coll, tenant, doc["id"], state.pk, prior=prior, prior_known=known))
            self._ops.append(_Op("upsert", coll, tenant, doc["id"], body["pk"], body, prior_known=True))
        else:
            self._ops.append(_Op("upsert", coll, tenant, doc["id"], body["pk"], body, prior=prior, prior_known=known))
        if state is None:
            state = _State(doc=None, raw=None, pk=None)
        self._buffer(coll, tenant, doc["id"], body, state)
        return etag

    def delete(self, collection: str, tenant: str, id: str) -> bool:
        self._check_writable()
        coll = self._store.collection(collection)
        state = self._state(coll, tenant, id)
        if state.doc is None:
            return False
        pk = state.pk or self._store.partition_key(coll, tenant, state.doc)
        prior = None if state.pending else state.raw
        self._ops.append(_Op("delete", coll, tenant, id, pk, prior=prior, prior_known=not state.pending))
        self._buffer(coll, tenant, id, None, state)
        return True

    def delete_many(self, collection: str, keys: Sequence[tuple[str, str]]) -> int:
        """Delete (tenant, id) pairs; returns how many existed."""
        self._check_writable()
        coll = self._store.collection(collection)
        by_tenant: dict[str, list[str]] = {}
        for tenant, id_ in keys:
            by_tenant.setdefault(tenant, []).append(id_)
        for tenant, ids in by_tenant.items():
            self._load(coll, tenant, ids)
        return sum(1 for tenant, id_ in keys if self.delete(collection, tenant, id_))

    def delete_where(self, collection: str, where: Sequence[Where], *, order_by: str, limit: int) -> list[tuple[str, str]]:
        """Delete up to `limit` matching documents of any tenant, first by `order_by` (a sweep:
        in Azure TTL removes expiring items itself, so this only meets the stragglers)."""
        self._check_writable()
        keys = [(d["_tenant"], d["id"]) for d in self.query(collection, None, where, order_by=order_by, limit=limit).items]
        self.delete_many(collection, keys)
        return keys

    def append_chained(self, collection: str, tenant: str, chain: str, entry: dict[str, Any], linker: Linker) -> ChainLink | None:
        """Buffered: the link (seq, prev_hash, hash) is fixed at commit, so this returns None.

        After commit, `links` holds the links in append order.
        """
        self._check_writable()
        coll = self._store.collection(collection)
        if "id" not in entry:
            raise ValueError("a chained entry needs an id")
        self._appends.append(_Append(coll, tenant, chain, _jsonable(dict(entry)), linker))
        return None

    def link_journal(self, collection: str, tenant: str, chain: str, linker: Linker) -> int:
        """Nothing waits: `CosmosRecordStore.journal` appends at once."""
        self._check_writable()
        return 0

    def journal_pending(self, collection: str, tenant: str, chain: str) -> int:
        return 0

    def next_sequence(self, tenant: str, name: str) -> int:
        self._check_writable()
        self._known.pop(self._key(self._store.collection(SEQUENCES.name), tenant, name), None)
        return self._store.next_sequence(tenant, name)

    # ---- commit ----------------------------------------------------------------------
    def discard(self) -> None:
        self._ops.clear()
        self._appends.clear()
        self._known.clear()

    def commit(self) -> None:
        """Apply the buffered writes, then the chain appends; undo what landed if one fails."""
        ops, appends = self._ops, self._appends
        self._ops, self._appends = [], []
        self._known.clear()
        if not ops and not appends:
            return
        undo: list[Callable[[], None]] = []
        etags: dict[tuple[str, str, str], str] = {}
        try:
            with _io():
                for op in ops:
                    self._apply(op, etags, undo)
                self.links.extend(self._apply_appends(appends, undo))
        except BaseException:
            self._undo(undo)
            raise

    def _apply(self, op: _Op, etags: dict[tuple[str, str, str], str], undo: list[Callable[[], None]]) -> None:
        container = self._store.container(op.coll.name)
        key = self._key(op.coll, op.tenant, op.id)
        cid = _cosmos_id(op.id)
        prior = _restorable(op.prior) if op.prior else None
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
            undo.append(lambda: _quiet(container.delete_item, cid, partition_key=op.pk))
        elif op.kind == "replace":
            try:
                result = container.replace_item(cid, op.body, **condition)
            except (exceptions.CosmosAccessConditionFailedError, exceptions.CosmosResourceNotFoundError) as exc:
                raise PreconditionFailed(f"{op.coll.name} {op.id} has changed or no longer exists") from exc
            etags[key] = result["_etag"]
            if prior is not None:
                undo.append(lambda: _quiet(container.upsert_item, prior))
        elif op.kind == "upsert":
            result = container.upsert_item(op.body)
            etags[key] = result["_etag"]
            if prior is not None:
                undo.append(lambda: _quiet(container.upsert_item, prior))
            elif op.prior_known:
                undo.append(lambda: _quiet(container.delete_item, cid, partition_key=op.pk))
        elif op.kind == "delete":
            try:
                container.delete_item(cid, partition_key=op.pk, **condition)
            except exceptions.CosmosResourceNotFoundError:
                return
            except exceptions.CosmosAccessConditionFailedError as exc:
                raise PreconditionFailed(f"{op.coll.name} {op.id} has changed or no longer exists") from exc
            etags.pop(key, None)
            if prior is not None:
                undo.append(lambda: _quiet(container.upsert_item, prior))
        else:  # pragma: no cover - internal
            raise AssertionError(op.kind)

    def _apply_appends(self, appends: list[_Append], undo: list[Callable[[], None]]) -> list[ChainLink]:
        groups: dict[tuple[str, str, str], list[_Append]] = {}
        for a in appends:
            groups.setdefault((a.coll.name, a.tenant, a.chain), []).append(a)
        links: list[ChainLink] = []
        for (name, tenant, chain), group in groups.items():
            links.extend(self._append_group(self._store.collection(name), tenant, chain, group, undo))
        return links

    def _append_group(
        self, coll: Collection, tenant: str, chain: str, group: list[_Append], undo: list[Callable[[], None]]
    ) -> list[ChainLink]:
        """Read the head, create the entries, move the head with If-Match; on a race, retry."""
        store = self._store
        heads_coll = store.collection(CHAIN_HEADS.name)
        heads = store.container(heads_coll.name)
        entries = store.container(coll.name)
        for attempt in range(_CHAIN_ATTEMPTS):
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
                    item = store.item(coll, tenant, body, _new_etag())
                    entries.create_item(item)
                    created.append((item["id"], item["pk"]))
                    links.append(ChainLink(seq=seq, prev_hash=prev, hash=digest))
                    prev = digest
                new_head = store.item(heads_coll, tenant, {"id": chain, "seq": seq, "hash": prev}, _new_etag())
                if head is None:
                    result = heads.create_item(new_head)
                else:
                    result = heads.replace_item(head["id"], new_head, etag=head["_etag"], match_condition=MatchConditions.IfNotModified)
            except (exceptions.CosmosAccessConditionFailedError, exceptions.CosmosResourceNotFoundError) as exc:
                # Another unit moved (or removed) the head since we read it: start again.
                _drop(entries, created)
                if isinstance(exc, exceptions.CosmosResourceNotFoundError) and head is None:
                    raise
                _backoff(attempt)
                continue
            except exceptions.CosmosResourceExistsError as exc:
                _drop(entries, created)
                if len(created) == len(group) and head is None:
                    _backoff(attempt)  # the head was created meanwhile: start again
                    continue
                raise Conflict(f"{coll.name} entry already exists") from exc
            except BaseException:
                _drop(entries, created)
                raise
            undo.append(functools.partial(_undo_append, heads, entries, head, new_head, result["_etag"], created))
            return links
        raise Unavailable(f"The {coll.name} chain is too busy; try again.")

    def _undo(self, undo: list[Callable[[], None]]) -> None:
        for step in reversed(undo):
            try:
                step()
            except Exception:  # noqa: BLE001 - best effort; the original error is what matters
                log.exception("cosmos: undo step failed")


def _drop(entries: Any, created: Sequence[tuple[str, str]]) -> None:
    for cid, pk in created:
        _quiet(entries.delete_item, cid, partition_key=pk)


def _undo_append(
    heads: Any, entries: Any, head: dict[str, Any] | None, new_head: dict[str, Any], moved_to: str, created: Sequence[tuple[str, str]]
) -> None:
    """Put the chain head back (only if nobody appended since), then drop the entries."""
    try:
        if head is None:
            heads.delete_item(new_head["id"], partition_key=new_head["pk"], etag=moved_to, match_condition=MatchConditions.IfNotModified)
        else:
            heads.replace_item(head["id"], _restorable(head), etag=moved_to, match_condition=MatchConditions.IfNotModified)
    except exceptions.CosmosHttpResponseError:
        log.error("cosmos: a chain append could not be undone (appended to since)")
        return
    _drop(entries, created)


def _quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run an undo call; a missing item is already what undo wants."""
    try:
        fn(*args, **kwargs)
    except exceptions.CosmosResourceNotFoundError:
        pass
