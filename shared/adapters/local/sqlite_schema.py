"""The SQLite schema of the record store: a table per collection keeping the document as
JSON plus one indexed column per field named in `shared/records.py`, and a side table per
indexed list field. Opening a store brings an existing file up to the catalogue: new
fields get their column (filled from the stored documents), indexes nothing reads go.
"""

from __future__ import annotations

import sqlite3

from shared.records import ALL, Collection


def col(name: str) -> str:
    return f'"f_{name}"'


def table(coll: Collection) -> str:
    return f'"c_{coll.name}"'


def list_table(coll: Collection, field: str) -> str:
    return f'"l_{coll.name}_{field}"'


def own_index_fields(coll: Collection) -> tuple[str, ...]:
    """Indexed fields that get a (tenant, field, id) index of their own: not those a
    composite index starts with, which answers the same equality and range filters."""
    leading = {fields[0] for fields in coll.composite}
    return tuple(f for f in coll.indexed if f not in leading)


def schema_statements(coll: Collection) -> list[str]:
    cols = "".join(f", {col(f)}" for f in coll.all_indexed)
    stmts = [
        f"CREATE TABLE IF NOT EXISTS {table(coll)} (tenant TEXT NOT NULL, id TEXT NOT NULL, etag TEXT NOT NULL, doc TEXT NOT NULL{cols}, PRIMARY KEY (tenant, id))"
    ]
    # Expiry is only ever swept across tenants: its column gets the global index below and
    # no per-tenant one, which would cost every insert and delete another b-tree.
    # A field leading a composite gets no index of its own: the composite serves its
    # filters, and each b-tree fewer is one write fewer on every insert (an incident
    # report writes its incident, audit entry and retention entry in one transaction).
    for f in own_index_fields(coll):
        stmts.append(f'CREATE INDEX IF NOT EXISTS "i_{coll.name}_{f}" ON {table(coll)} (tenant, {col(f)}, id)')
    for f in coll.sweep_fields:
        stmts.append(f'CREATE INDEX IF NOT EXISTS "g_{coll.name}_{f}" ON {table(coll)} ({col(f)})')
    for fields in coll.composite:
        cols_ = ", ".join(col(f) for f in fields)
        stmts.append(f'CREATE INDEX IF NOT EXISTS "x_{coll.name}_{"_".join(fields)}" ON {table(coll)} (tenant, {cols_}, id)')
    for f in coll.indexed_lists:
        stmts.append(
            f"CREATE TABLE IF NOT EXISTS {list_table(coll, f)} (tenant TEXT NOT NULL, value TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (tenant, value, id)) WITHOUT ROWID"
        )
    return stmts


def index_names(coll: Collection) -> set[str]:
    """The indexes `schema_statements` makes for `coll` (others on its table are stale)."""
    names = {f"i_{coll.name}_{f}" for f in own_index_fields(coll)}
    names |= {f"g_{coll.name}_{f}" for f in coll.sweep_fields}
    names |= {f"x_{coll.name}_{'_'.join(fields)}" for fields in coll.composite}
    return names


def _drop_stale_indexes(conn: sqlite3.Connection, coll: Collection) -> None:
    # A catalogue change that drops an index must drop it from existing stores too, or
    # every insert keeps paying for a b-tree nothing reads.
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=? AND sql IS NOT NULL", (f"c_{coll.name}",)
    ).fetchall()
    for (name,) in rows:
        if name not in index_names(coll):
            conn.execute(f'DROP INDEX IF EXISTS "{name}"')


def _column_adder(conn: sqlite3.Connection, coll: Collection) -> None:
    # A field named in the catalogue after a store was made gets its column, filled from
    # the stored documents, so queries on it see every record.
    have = {r[1] for r in conn.execute(f"PRAGMA table_info({table(coll)})")}
    for f in coll.all_indexed:
        if f"f_{f}" not in have:
            conn.execute(f"ALTER TABLE {table(coll)} ADD COLUMN {col(f)}")
            conn.execute(f"UPDATE {table(coll)} SET {col(f)} = json_extract(doc, ?)", (f'$."{f}"',))


def create_or_migrate(conn: sqlite3.Connection) -> None:
    """Make every collection's tables and indexes, bringing existing ones up to the catalogue."""
    for coll in ALL.values():
        stmts = schema_statements(coll)
        conn.execute(stmts[0])
        _column_adder(conn, coll)
        _drop_stale_indexes(conn, coll)
        for stmt in stmts[1:]:
            conn.execute(stmt)
