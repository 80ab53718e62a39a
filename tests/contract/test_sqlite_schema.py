"""The embedded store's indexes: each report pays for every b-tree of the tables it
writes, so a field a composite index already leads with gets no index of its own, and
stores made before lose it when opened."""

from __future__ import annotations

import sqlite3

from shared.adapters.local.sqlite_records import SqliteRecordStore
from shared.ports import Where


def _indexes(path, table: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=? AND sql IS NOT NULL", (table,))
        return {name for (name,) in rows}


def test_no_index_duplicates_the_lead_of_a_composite(tmp_path):
    path = tmp_path / "records.sqlite"
    SqliteRecordStore(path).close()
    incidents = _indexes(path, "c_incidents")
    assert "i_incidents_store_id" not in incidents and "i_incidents_category" not in incidents
    assert {"x_incidents_store_id_occurred_at", "x_incidents_category_occurred_at", "i_incidents_reference"} <= incidents
    assert "i_audit_chain" not in _indexes(path, "c_audit")
    assert "i_retention_index_lane" not in _indexes(path, "c_retention_index")


def test_a_store_made_before_drops_the_duplicate_indexes_and_still_filters_on_them(tmp_path):
    path = tmp_path / "records.sqlite"
    SqliteRecordStore(path).close()
    with sqlite3.connect(path) as conn:  # as stores made before this change have them
        conn.execute('CREATE INDEX "i_incidents_store_id" ON "c_incidents" (tenant, "f_store_id", id)')
    store = SqliteRecordStore(path)
    try:
        assert "i_incidents_store_id" not in _indexes(path, "c_incidents")
        with store.unit_of_work() as uow:
            for n, store_id in enumerate(["nw-plymouth", "nw-exeter", "nw-plymouth"]):
                uow.insert("incidents", "northwind", {"id": f"i{n}", "store_id": store_id, "occurred_at": f"2026-11-0{n + 1}T10:00:00Z"})
        with store.read_only() as uow:
            page = uow.query("incidents", ["northwind"], [Where("store_id", "eq", "nw-plymouth")])
            plan = " ".join(
                str(r)
                for r in uow.conn.execute(
                    'EXPLAIN QUERY PLAN SELECT id FROM "c_incidents" WHERE tenant=? AND "f_store_id"=?', ("northwind", "nw-plymouth")
                )
            )
        assert [d["id"] for d in page.items] == ["i0", "i2"]
        assert "x_incidents_store_id_occurred_at" in plan
    finally:
        store.close()


def test_an_offenders_latest_incident_is_found_from_the_list_table_not_by_walking_every_incident(tmp_path):
    # Every report with a suspect asks for the offender's latest incidents: a plan that
    # walks the occurred_at index over all the organisation's incidents made each report
    # slower as the store grew.
    store = SqliteRecordStore(tmp_path / "records.sqlite")
    try:
        with store.unit_of_work() as uow:
            for n in range(30):
                uow.insert(
                    "incidents",
                    "northwind",
                    {"id": f"i{n:02d}", "occurred_at": f"2026-11-{n % 28 + 1:02d}T10:00:00Z", "offender_ids": [f"off-{n % 3}"]},
                )
            uow.insert("incidents", "contoso", {"id": "c1", "occurred_at": "2026-11-30T10:00:00Z", "offender_ids": ["off-1"]})
        statements: list[str] = []
        with store.read_only() as uow:
            uow.conn.set_trace_callback(statements.append)
            page = uow.query(
                "incidents", ["northwind"], [Where("offender_ids", "contains", "off-1")], order_by="occurred_at", descending=True, limit=2
            )
            uow.conn.set_trace_callback(None)
            plan = [row[3] for row in uow.conn.execute("EXPLAIN QUERY PLAN " + statements[-1])]
        assert [d["id"] for d in page.items] == ["i25", "i22"]
        assert not any("i_incidents_occurred_at" in step for step in plan), plan
        assert any("SEARCH l_incidents_offender_ids USING PRIMARY KEY (tenant=? AND value=?)" in step for step in plan), plan
    finally:
        store.close()


def test_a_plate_search_within_a_store_starts_from_the_plate_and_pages_in_order(tmp_path):
    # GET /incidents?plate=…&store=…: the store's composite index would walk every
    # incident of the store; the plate matches a handful.
    store = SqliteRecordStore(tmp_path / "records.sqlite")
    try:
        with store.unit_of_work() as uow:
            for n in range(30):
                uow.insert(
                    "incidents",
                    "northwind",
                    {
                        "id": f"i{n:02d}",
                        "store_id": "nw-plymouth" if n % 2 else "nw-exeter",
                        "occurred_at": f"2026-11-{n % 28 + 1:02d}T10:00:00Z",
                        "plates": ["AB12CDE"] if n % 3 == 0 else ["XY99ZZZ"],
                    },
                )
        where = [Where("plates", "contains", "AB12CDE"), Where("store_id", "eq", "nw-plymouth")]
        statements: list[str] = []
        with store.read_only() as uow:
            uow.conn.set_trace_callback(statements.append)
            first = uow.query("incidents", ["northwind"], where, order_by="occurred_at", descending=True, limit=2)
            second = uow.query(
                "incidents", ["northwind"], where, order_by="occurred_at", descending=True, limit=2, continuation=first.continuation
            )
            uow.conn.set_trace_callback(None)
            plans = [[row[3] for row in uow.conn.execute("EXPLAIN QUERY PLAN " + sql)] for sql in statements[-2:]]
        # Plymouth (odd n) and the plate (n % 3 == 0): 3, 9, 15, 21, 27; latest first.
        assert [d["id"] for d in first.items + second.items] == ["i27", "i21", "i15", "i09"]
        for plan in plans:
            assert not any("x_incidents_store_id_occurred_at" in step or "i_incidents_occurred_at" in step for step in plan), plan
            assert any("SEARCH l_incidents_plates USING PRIMARY KEY (tenant=? AND value=?)" in step for step in plan), plan
    finally:
        store.close()
