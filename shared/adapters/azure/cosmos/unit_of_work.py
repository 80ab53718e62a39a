"""A unit of work on Cosmos DB: reads go to the store at once, writes are buffered until commit.

Cosmos has no transaction across containers, so buffering is what keeps a unit that fails
from writing anything. Each document the unit reads is remembered with the server's
`_etag`. `get` answers from what the unit knows, its own buffered writes included;
queries and counts merge those writes into Cosmos's answer (see `overlay`). `insert`,
`replace` and `delete` answer `Conflict`, `PreconditionFailed` or their result at the
call, as on SQLite. At commit an insert is sent as a create and a `replace` with
`if_match` is made conditional on that `_etag`, so a change another unit committed in
between still fails (409 / 412).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.adapters.azure.cosmos import intent as intents
from shared.adapters.azure.cosmos import overlay, queries
from shared.adapters.azure.cosmos.chain import Append, apply_appends
from shared.adapters.azure.cosmos.commit import Op, apply_op, undo_all
from shared.adapters.azure.cosmos.items import domain_id, jsonable, new_etag, public
from shared.adapters.azure.cosmos.sdk import io
from shared.domain.errors import Conflict, PreconditionFailed
from shared.ports import Branch, ChainLink, Linker, Page, ReadOnlyUnitError, Where
from shared.records import SEQUENCES, Collection

if TYPE_CHECKING:
    from shared.adapters.azure.cosmos.store import CosmosRecordStore


@dataclass
class _State:
    """A document as this unit sees it."""

    doc: dict[str, Any] | None  # public form with `_etag`; None when absent
    raw: dict[str, Any] | None  # the committed item as read (for undo and conditions)
    pk: str | None  # partition key of the committed item
    pending: bool = False  # changed by this unit, not yet committed


class CosmosUnitOfWork:
    def __init__(self, store: CosmosRecordStore, *, read_only: bool = False):
        self._store = store
        self._read_only = read_only
        self._known: dict[tuple[str, str, str], _State] = {}
        self._ops: list[Op] = []
        self._appends: list[Append] = []
        self.links: list[ChainLink] = []  # filled at commit, in append order

    @property
    def read_only(self) -> bool:
        return self._read_only

    def reader(self) -> CosmosUnitOfWork:
        """A read-only view of this unit: it sees what this unit sees, its buffered writes included."""
        view = CosmosUnitOfWork(self._store, read_only=True)
        view._known = self._known
        return view

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
            raise ReadOnlyUnitError("write in a read-only unit of work")

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

    def _pending(self, coll: Collection, tenants: Sequence[str] | None) -> dict[tuple[str, str], dict[str, Any] | None]:
        """This unit's uncommitted documents of `coll` in `tenants`: (tenant, id) -> the document, None once deleted."""
        scope = None if tenants is None else set(tenants)
        return {
            (tenant, id_): state.doc
            for (name, tenant, id_), state in self._known.items()
            if state.pending and name == coll.name and (scope is None or tenant in scope)
        }

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
        any_of: Sequence[Branch] = (),
    ) -> Page:
        coll = self._store.collection(collection)
        if limit < 1:
            raise ValueError("limit must be at least 1")
        plan = queries.plan(coll, tenants, where, order_by, descending, any_of)
        token = queries.decode_token(continuation, plan.fingerprint) if continuation else {}
        container = self._store.container(coll.name)
        pending = self._pending(coll, tenants) if "k" not in token else {}
        if not pending and "o" not in token:
            raws, last = queries.fetch(container, plan, limit, token.get("k"))
            following = queries.encode_token({"q": plan.fingerprint, "k": last}) if last else None
            return Page(items=self._seen(coll, raws), continuation=following)
        # Merged with this unit's own writes: paged by offset, each page reading Cosmos's
        # answer up to its end (dearer than a continuation, only while writes are pending).
        offset = token.get("o", 0)
        key = overlay.sort_key(order_by)
        mine = sorted(
            (dict(doc) for doc in pending.values() if doc is not None and overlay.matches(doc, tenants, where, any_of)),
            key=key,
            reverse=descending,
        )
        raws, more = queries.fetch(container, plan, offset + limit, skip=lambda raw: (raw.get("tenantId"), domain_id(raw["id"])) in pending)
        merged = overlay.merge(self._seen(coll, raws), mine, key, descending)
        following = None
        if more or len(merged) > offset + limit:
            following = queries.encode_token({"q": plan.fingerprint, "o": offset + limit})
        return Page(items=merged[offset : offset + limit], continuation=following)

    def _seen(self, coll: Collection, raws: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Stored items as the port returns them, remembered unless this unit already knows them."""
        items = []
        for raw in raws:
            id_ = domain_id(raw["id"])
            if self._key(coll, raw.get("tenantId", ""), id_) not in self._known:
                self._remember(coll, raw.get("tenantId", ""), raw, id_)
            items.append(public(raw))
        return items

    def count(self, collection: str, tenants: Sequence[str] | None, where: Sequence[Where] = ()) -> int:
        coll = self._store.collection(collection)
        container = self._store.container(coll.name)
        stored = queries.count(container, coll, tenants, where)
        pending = self._pending(coll, tenants)
        if not pending:
            return stored
        replaced = queries.matching_keys(container, coll, tenants, where, list(pending))
        mine = sum(1 for doc in pending.values() if doc is not None and overlay.matches(doc, tenants, where))
        return stored - len(replaced) + mine

    # ---- writes (buffered) -----------------------------------------------------------
    def insert(self, collection: str, tenant: str, doc: dict[str, Any]) -> str:
        self._check_writable()
        coll = self._store.collection(collection)
        state = self._state(coll, tenant, doc["id"])
        if state.doc is not None:
            raise Conflict(f"{collection} {doc['id']} already exists")
        etag = new_etag()
        body = self._store.item(coll, tenant, doc, etag)
        self._ops.append(Op("create", coll, tenant, doc["id"], body["pk"], body, prior=None, prior_known=not state.pending))
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
            body = self._store.item(coll, tenant, doc, new_etag())
            self._ops.append(Op("create_or_skip", coll, tenant, doc["id"], body["pk"], body, prior_known=not state.pending))
            self._buffer(coll, tenant, doc["id"], body, state)
            inserted.append(True)
        return inserted

    def replace(self, collection: str, tenant: str, doc: dict[str, Any], if_match: str | None) -> str:
        self._check_writable()
        coll = self._store.collection(collection)
        state = self._state(coll, tenant, doc["id"])
        if state.doc is None or (if_match is not None and if_match != state.doc["_etag"]):
            raise PreconditionFailed(f"{collection} {doc['id']} has changed or no longer exists")
        etag = new_etag()
        body = self._store.item(coll, tenant, doc, etag)
        expect = None if state.pending else (state.raw or {}).get("_etag")
        if state.pk is not None and state.pk != body["pk"]:
            # The bucket changed: the item moves to another logical partition.
            prior = None if state.pending else state.raw
            self._ops.append(
                Op(
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
            self._ops.append(Op("create", coll, tenant, doc["id"], body["pk"], body, prior_known=True))
        else:
            self._ops.append(
                Op(
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
        etag = new_etag()
        body = self._store.item(coll, tenant, doc, etag)
        known = state is not None and not state.pending
        prior = state.raw if known and state is not None else None
        if state is not None and state.pk is not None and state.pk != body["pk"]:
            self._ops.append(Op("delete", coll, tenant, doc["id"], state.pk, prior=prior, prior_known=known))
            self._ops.append(Op("upsert", coll, tenant, doc["id"], body["pk"], body, prior_known=True))
        else:
            self._ops.append(Op("upsert", coll, tenant, doc["id"], body["pk"], body, prior=prior, prior_known=known))
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
        self._ops.append(Op("delete", coll, tenant, id, pk, prior=prior, prior_known=not state.pending))
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
        self._appends.append(Append(coll, tenant, chain, jsonable(dict(entry)), linker))
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
        # A unit a crash could leave half-written commits through an intent (see `intent`).
        intent = None
        if intents.needed(ops, appends):
            intent, ops = intents.write(self._store, ops, appends)
        try:
            with io():
                for op in ops:
                    apply_op(self._store, op, etags, undo)
                self.links.extend(apply_appends(self._store, appends, undo))
            if intent is not None:
                intents.commit(self._store, intent)
        except BaseException:
            undo_all(undo)
            if intent is not None:
                intents.abandon(self._store, intent)
            raise
