"""A unit of work on the SQLite records store (`sqlite_records`): reads, queries with
continuation tokens bound to their query, writes and chained appends inside one SAVEPOINT
on the store's writer connection (read-only units on the thread's own connection)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from shared.adapters.local.sqlite_schema import col, list_table, table
from shared.domain.errors import Conflict, Invalid, PreconditionFailed
from shared.domain.timestamps import to_iso
from shared.ports import Branch, ChainLink, Linker, Page, ReadOnlyUnitError, Where, named_tenants
from shared.records import ALL, CHAIN_HEADS, SEQUENCES, Collection

_OPS = {"eq": "=", "ne": "!=", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


_PLAIN = frozenset({str, int, float, type(None)})


def _scalar(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, bool):
        return int(value)
    if hasattr(value, "value") and not isinstance(value, (str, int, float)):
        return value.value
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_iso(value)
    return str(value)


def dump_document(body: dict[str, Any]) -> str:
    # orjson: documents are encoded on every write, several times per request. Datetimes
    # go through to_iso so stored times keep the one sortable format.
    return orjson.dumps(body, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()


def _etag() -> str:
    return secrets.token_hex(10)


def _encode_token(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_token(token: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return json.loads(raw)
    except Exception as exc:  # noqa: BLE001 - any garbage token is the caller's error
        raise Invalid("The continuation token is not valid.", errors=[{"field": "continuation"}]) from exc


def _fingerprint(collection: str, where_sql: str, params: list[Any], order_by: str | None, descending: bool) -> str:
    """The query a token belongs to: its collection, tenants, filters and order."""
    text = json.dumps([collection, where_sql, params, order_by, descending], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _position(token: Any, fingerprint: str) -> tuple[Any, str, str]:
    """(last sort value, tenant, id) from a token of this very query; Invalid otherwise. A
    token replayed against another query (another filter, another tenant) would continue
    something else, and values of the wrong type would reach SQLite as parameters."""
    bad = Invalid("The continuation token is not valid.", errors=[{"field": "continuation"}])
    if not isinstance(token, dict) or token.get("q") != fingerprint:
        raise bad
    key = token.get("k")
    if not isinstance(key, list) or len(key) != 3:
        raise bad
    value, tenant, id_ = key
    if not isinstance(tenant, str) or not isinstance(id_, str):
        raise bad
    if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
        raise bad
    return value, tenant, id_


class SqliteUnitOfWork:
    """One transaction on this thread's connection: reads see its own writes, queries included."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        read_only: bool = False,
        journal: Callable[[], sqlite3.Connection] | None = None,
        after_commit: list[Callable[[], None]] | None = None,
    ):
        self._conn = conn
        self._read_only = read_only
        self._journal = journal
        self._after_commit = after_commit

    @property
    def conn(self) -> sqlite3.Connection:
        return self._conn

    @property
    def read_only(self) -> bool:
        return self._read_only

    # ---- reads -------------------------------------------------------------
    def get(self, collection: str, tenant: str, id: str) -> dict[str, Any] | None:
        coll = ALL[collection]
        row = self._conn.execute(f"SELECT doc, etag FROM {table(coll)} WHERE tenant=? AND id=?", (tenant, id)).fetchone()
        if row is None:
            return None
        doc = orjson.loads(row[0])
        doc["_etag"] = row[1]
        doc["_tenant"] = tenant
        return doc

    def _where_sql(self, coll: Collection, tenants: Sequence[str] | None, where: Sequence[Where]) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if tenants is not None:
            tenants = list(tenants)
            if not tenants:
                clauses.append("0")
            else:
                clauses.append(f"t.tenant IN ({','.join('?' * len(tenants))})")
                params.extend(tenants)
        # A `contains` value matches a few records: SQLite must start from the list table.
        # A unary + keeps the other filters' indexes (a store's every incident) out of the plan.
        driven_by_list = any(w.op == "contains" for w in where)
        for w in where:
            if w.field == "id":
                column = "t.id"
            elif w.field in coll.all_indexed:
                column = f"{'+' if driven_by_list else ''}t.{col(w.field)}"
            elif w.field in coll.indexed_lists and w.op == "contains":
                column = None
            else:
                raise ValueError(f"{coll.name}.{w.field} is not indexed for {w.op}")
            if w.op == "contains":
                # The list table's key is (tenant, value, id): naming the tenants makes the
                # look-up a key search instead of a scan of every tenant's values.
                lt = list_table(coll, w.field)
                if tenants:
                    clauses.append(
                        f"(t.tenant, t.id) IN (SELECT tenant, id FROM {lt} WHERE tenant IN ({','.join('?' * len(tenants))}) AND value = ?)"
                    )
                    params.extend(tenants)
                else:
                    clauses.append(f"(t.tenant, t.id) IN (SELECT tenant, id FROM {lt} WHERE value = ?)")
                params.append(_scalar(w.value))
            elif w.op == "in":
                values = [_scalar(v) for v in w.value]
                if not values:
                    clauses.append("0")
                else:
                    clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                    params.extend(values)
            elif w.value is None and w.op in ("eq", "ne"):
                clauses.append(f"{column} IS {'NOT ' if w.op == 'ne' else ''}NULL")
            else:
                clauses.append(f"{column} {_OPS[w.op]} ?")
                params.append(_scalar(w.value))
        return clauses, params

    def _branches_sql(self, coll: Collection, any_of: Sequence[Branch]) -> tuple[str, list[Any]]:
        """SQL for "matches one of the branches" and its parameters."""
        named = sorted(named_tenants(any_of))
        alternatives: list[str] = []
        params: list[Any] = []
        for branch in any_of:
            clauses, branch_params = self._where_sql(coll, branch.tenants, branch.where)
            if branch.tenants is None and named:
                clauses.insert(0, f"t.tenant NOT IN ({','.join('?' * len(named))})")
                branch_params = [*named, *branch_params]
            alternatives.append("(" + (" AND ".join(clauses) or "1") + ")")
            params.extend(branch_params)
        return "(" + (" OR ".join(alternatives) or "0") + ")", params

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
        coll = ALL[collection]
        clauses, params = self._where_sql(coll, tenants, where)
        if any_of:
            either, either_params = self._branches_sql(coll, any_of)
            clauses.append(either)
            params.extend(either_params)
        if order_by is not None and order_by not in coll.all_indexed:
            raise ValueError(f"{coll.name}.{order_by} is not indexed for ordering")
        key = f"t.{col(order_by)}" if order_by else None
        cmp = "<" if descending else ">"
        fingerprint = _fingerprint(coll.name, " AND ".join(clauses), params, order_by, descending)
        # With a `contains` filter, a value matches a few records: SQLite must start from
        # the list table and sort them, not walk the ordering index over every record of
        # the tenant testing each (which grew with the store: ~20 ms at 20,000
        # incidents for an offender's latest incident). A unary + keeps the ordering
        # column's index out of the plan.
        sort_key = f"+{key}" if key and any(w.op == "contains" for w in where) else key
        if continuation:
            last_value, last_tenant, last_id = _position(_decode_token(continuation), fingerprint)
            if key:
                clauses.append(f"({sort_key} {cmp} ? OR ({sort_key} = ? AND (t.tenant, t.id) {cmp} (?, ?)))")
                params.extend([last_value, last_value, last_tenant, last_id])
            else:
                clauses.append(f"(t.tenant, t.id) {cmp} (?, ?)")
                params.extend([last_tenant, last_id])
        direction = "DESC" if descending else "ASC"
        order = f"{sort_key} {direction}, t.tenant {direction}, t.id {direction}" if key else f"t.tenant {direction}, t.id {direction}"
        sql_where = " AND ".join(clauses) if clauses else "1"
        order_col = key if key else "NULL"
        rows = self._conn.execute(
            f"SELECT t.doc, t.etag, {order_col}, t.tenant, t.id FROM {table(coll)} t WHERE {sql_where} ORDER BY {order} LIMIT ?",
            (*params, limit + 1),
        ).fetchall()
        items = []
        for doc_text, etag, _, tenant, _ in rows[:limit]:
            doc = orjson.loads(doc_text)
            doc["_etag"] = etag
            doc["_tenant"] = tenant
            items.append(doc)
        next_token = None
        if len(rows) > limit:
            _, _, value, tenant, id_ = rows[limit - 1]
            next_token = _encode_token({"q": fingerprint, "k": [value, tenant, id_]})
        return Page(items=items, continuation=next_token)

    def count(self, collection: str, tenants: Sequence[str] | None, where: Sequence[Where] = ()) -> int:
        coll = ALL[collection]
        clauses, params = self._where_sql(coll, tenants, where)
        sql_where = " AND ".join(clauses) if clauses else "1"
        return self._conn.execute(f"SELECT COUNT(*) FROM {table(coll)} t WHERE {sql_where}", params).fetchone()[0]

    # ---- writes ------------------------------------------------------------
    def _row(self, coll: Collection, tenant: str, doc: dict[str, Any], etag: str) -> tuple[Any, ...]:
        body = {k: v for k, v in doc.items() if k not in ("_etag", "_tenant")} if ("_etag" in doc or "_tenant" in doc) else doc
        return (tenant, body["id"], etag, dump_document(body), *[_scalar(body.get(f)) for f in coll.all_indexed])

    def _write_lists(self, coll: Collection, tenant: str, doc: dict[str, Any], *, replace: bool) -> None:
        for f in coll.indexed_lists:
            lt = list_table(coll, f)
            if replace:
                self._conn.execute(f"DELETE FROM {lt} WHERE tenant=? AND id IN (?) ", (tenant, doc["id"]))
            values = {str(_scalar(v)) for v in (doc.get(f) or [])}
            if values:
                self._conn.executemany(
                    f"INSERT OR IGNORE INTO {lt} (tenant, value, id) VALUES (?,?,?)", [(tenant, v, doc["id"]) for v in values]
                )

    def _check_writable(self) -> None:
        if self._read_only:
            raise ReadOnlyUnitError("write in a read-only unit of work")

    def insert(self, collection: str, tenant: str, doc: dict[str, Any]) -> str:
        self._check_writable()
        coll = ALL[collection]
        etag = _etag()
        cols = "".join(f", {col(f)}" for f in coll.all_indexed)
        marks = ",?" * len(coll.all_indexed)
        try:
            self._conn.execute(
                f"INSERT INTO {table(coll)} (tenant, id, etag, doc{cols}) VALUES (?,?,?,?{marks})", self._row(coll, tenant, doc, etag)
            )
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"{collection} {doc['id']} already exists") from exc
        self._write_lists(coll, tenant, doc, replace=False)
        return etag

    def insert_many(self, collection: str, tenant: str, docs: Sequence[dict[str, Any]]) -> list[bool]:
        """Insert each new document, skip ids already present; returns which were new."""
        self._check_writable()
        coll = ALL[collection]
        cols = "".join(f", {col(f)}" for f in coll.all_indexed)
        marks = ",?" * len(coll.all_indexed)
        sql = f"INSERT OR IGNORE INTO {table(coll)} (tenant, id, etag, doc{cols}) VALUES (?,?,?,?{marks})"
        # One executemany that skips ids already stored, without a look-up first: the rows
        # this call wrote carry its etag base, so only when some were skipped is one query
        # needed to tell which. Per-row round trips from Python cost more than SQLite's work.
        seen: set[str] = set()
        unique: list[dict[str, Any]] = []
        for doc in docs:
            if doc["id"] not in seen:  # a repeated id within the batch is stored once
                seen.add(doc["id"])
                unique.append(doc)
        # One random etag base per call, numbered per row: unique per write like _etag(),
        # without a urandom call for each of hundreds of rows.
        base = secrets.token_hex(7)
        before = self._conn.total_changes
        self._conn.executemany(sql, [self._row(coll, tenant, doc, f"{base}{i:06x}") for i, doc in enumerate(unique)])
        if self._conn.total_changes - before == len(unique):
            fresh_ids = seen
        else:
            fresh_ids = set()
            ids = [d["id"] for d in unique]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows = self._conn.execute(
                    f"SELECT id, etag FROM {table(coll)} WHERE tenant=? AND id IN ({','.join('?' * len(chunk))})", (tenant, *chunk)
                )
                fresh_ids.update(i for i, etag in rows if etag.startswith(base))
        inserted: list[bool] = []
        fresh: list[dict[str, Any]] = []
        for doc in docs:
            new = doc["id"] in fresh_ids
            inserted.append(new)
            if new:
                fresh_ids.discard(doc["id"])  # the first of repeated ids is the one stored
                fresh.append(doc)
        if coll.indexed_lists:
            for doc in fresh:
                self._write_lists(coll, tenant, doc, replace=False)
        return inserted

    def replace(self, collection: str, tenant: str, doc: dict[str, Any], if_match: str | None) -> str:
        self._check_writable()
        coll = ALL[collection]
        etag = _etag()
        sets = "".join(f", {col(f)}=?" for f in coll.all_indexed)
        row = self._row(coll, tenant, doc, etag)
        params = (row[2], row[3], *row[4:], tenant, doc["id"])
        sql = f"UPDATE {table(coll)} SET etag=?, doc=?{sets} WHERE tenant=? AND id=?"
        if if_match is not None:
            sql += " AND etag=?"
            params = (*params, if_match)
        cur = self._conn.execute(sql, params)
        if cur.rowcount == 0:
            raise PreconditionFailed(f"{collection} {doc['id']} has changed or no longer exists")
        self._write_lists(coll, tenant, doc, replace=True)
        return etag

    def upsert(self, collection: str, tenant: str, doc: dict[str, Any]) -> str:
        self._check_writable()
        coll = ALL[collection]
        etag = _etag()
        cols = "".join(f", {col(f)}" for f in coll.all_indexed)
        marks = ",?" * len(coll.all_indexed)
        self._conn.execute(
            f"INSERT OR REPLACE INTO {table(coll)} (tenant, id, etag, doc{cols}) VALUES (?,?,?,?{marks})",
            self._row(coll, tenant, doc, etag),
        )
        self._write_lists(coll, tenant, doc, replace=True)
        return etag

    def delete(self, collection: str, tenant: str, id: str) -> bool:
        self._check_writable()
        coll = ALL[collection]
        cur = self._conn.execute(f"DELETE FROM {table(coll)} WHERE tenant=? AND id=?", (tenant, id))
        for f in coll.indexed_lists:
            self._conn.execute(f"DELETE FROM {list_table(coll, f)} WHERE tenant=? AND id=?", (tenant, id))
        return cur.rowcount == 1

    def delete_many(self, collection: str, keys: Sequence[tuple[str, str]]) -> int:
        """Delete (tenant, id) pairs; returns how many existed."""
        self._check_writable()
        coll = ALL[collection]
        cur = self._conn.executemany(f"DELETE FROM {table(coll)} WHERE tenant=? AND id=?", keys)
        removed = cur.rowcount
        for f in coll.indexed_lists:
            self._conn.executemany(f"DELETE FROM {list_table(coll, f)} WHERE tenant=? AND id=?", keys)
        return removed

    def delete_where(self, collection: str, where: Sequence[Where], *, order_by: str, limit: int) -> list[tuple[str, str]]:
        """Delete up to `limit` records of every tenant matching `where`, first by `order_by`;
        returns the (tenant, id) keys deleted. One statement: documents are never loaded."""
        self._check_writable()
        coll = ALL[collection]
        if order_by not in coll.all_indexed:
            raise ValueError(f"{coll.name}.{order_by} is not indexed for ordering")
        clauses, params = self._where_sql(coll, None, where)
        sql_where = " AND ".join(clauses) if clauses else "1"
        keys = self._conn.execute(
            f"DELETE FROM {table(coll)} WHERE rowid IN (SELECT t.rowid FROM {table(coll)} t WHERE {sql_where} ORDER BY t.{col(order_by)} LIMIT ?) RETURNING tenant, id",
            (*params, limit),
        ).fetchall()
        for f in coll.indexed_lists:
            self._conn.executemany(f"DELETE FROM {list_table(coll, f)} WHERE tenant=? AND id=?", keys)
        return [(t, i) for t, i in keys]

    def append_chained(self, collection: str, tenant: str, chain: str, entry: dict[str, Any], linker: Linker) -> ChainLink:
        self._check_writable()
        head = self.get(CHAIN_HEADS.name, tenant, chain)
        seq = (head["seq"] + 1) if head else 1
        prev_hash = head["hash"] if head else ""
        body = dict(entry, chain=chain, seq=seq, prev_hash=prev_hash)
        digest = linker(prev_hash, seq, body)
        body["hash"] = digest
        self.insert(collection, tenant, body)
        self.upsert(CHAIN_HEADS.name, tenant, {"id": chain, "seq": seq, "hash": digest})
        return ChainLink(seq=seq, prev_hash=prev_hash, hash=digest)

    def _journal_mark(self, tenant: str, chain: str) -> int:
        mark = self.get(CHAIN_HEADS.name, tenant, f"journal:{chain}")
        return int(mark["upto"]) if mark else 0

    def journal_pending(self, collection: str, tenant: str, chain: str) -> int:
        if self._journal is None:
            return 0
        upto = self._journal_mark(tenant, chain)
        row = (
            self._journal()
            .execute("SELECT COUNT(*) FROM journal WHERE tenant=? AND chain=? AND n>? AND collection=?", (tenant, chain, upto, collection))
            .fetchone()
        )
        return int(row[0])

    def link_journal(self, collection: str, tenant: str, chain: str, linker: Linker) -> int:
        self._check_writable()
        if self._journal is None:
            return 0
        journal = self._journal()
        upto = self._journal_mark(tenant, chain)
        # Rows commit in the order they are numbered (journal inserts serialise on its
        # lock), so everything above the mark that is visible now is the next stretch.
        rows = journal.execute(
            "SELECT n, doc FROM journal WHERE tenant=? AND chain=? AND n>? AND collection=? ORDER BY n", (tenant, chain, upto, collection)
        ).fetchall()
        if not rows:
            return 0
        for _, doc in rows:
            self.append_chained(collection, tenant, chain, orjson.loads(doc), linker)
        self.upsert(CHAIN_HEADS.name, tenant, {"id": f"journal:{chain}", "upto": rows[-1][0]})
        if upto:
            # At or below a committed mark: linked by an earlier unit, safe to drop. Under
            # group commit the mark read here may be an earlier unit's of the same, not yet
            # committed, transaction: drop the rows only once it has committed.
            journal_of = self._journal

            def drop_linked() -> None:
                journal_of().execute("DELETE FROM journal WHERE tenant=? AND chain=? AND n<=?", (tenant, chain, upto))

            if self._after_commit is None:
                drop_linked()
            else:
                self._after_commit.append(drop_linked)
        return len(rows)

    def next_sequence(self, tenant: str, name: str) -> int:
        self._check_writable()
        row = self.get(SEQUENCES.name, tenant, name)
        value = (row["value"] + 1) if row else 1
        self.upsert(SEQUENCES.name, tenant, {"id": name, "value": value})
        return value

    def commit(self) -> None:
        """Commit happens when the unit-of-work block ends; nothing to do early."""
