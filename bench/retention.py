"""Retention sweep cost: 1,000,000 incidents in the local (SQLite) store, swept once when
none are due and once when 1% are due. Shows the sweep reads only what is due (index on
lane and basis_at), so its time follows the due count, not the store's size.

    .venv/bin/python bench/retention.py [--count 1000000] [--due-percent 1]

The store is built directly with the record store's bulk insert (incident documents and
their retention-index entries, as the incident hook writes them), not over HTTP.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchkit import machine

from shared.bootstrap import Container  # noqa: E402
from shared.domain.retention import index_id, month_of  # noqa: E402
from shared.domain.timestamps import to_iso  # noqa: E402
from shared.services.seed import seed_directory  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.fakes import FakeClock  # noqa: E402

RECENT = datetime(2026, 6, 1, tzinfo=UTC)
OLD = datetime(2019, 6, 1, tzinfo=UTC)  # past 72 months by the due run
NONE_DUE_AT = datetime(2025, 5, 1, tzinfo=UTC)  # nothing is 72 months old yet
DUE_AT = datetime(2026, 11, 30, tzinfo=UTC)


def build(container: Container, count: int, due: int, chunk: int = 20_000) -> float:
    start = time.perf_counter()
    stores = ["nw-plymouth", "nw-exeter"]
    made = 0
    while made < count:
        n = min(chunk, count - made)
        incidents, entries = [], []
        for i in range(made, made + n):
            old = i % (count // due) == 0 if due else False
            occurred = (OLD if old else RECENT) + timedelta(seconds=i)
            iid = str(uuid.UUID(int=i))
            store = stores[i % 2]
            incidents.append(
                {
                    "id": iid,
                    "reference": f"NW-{i:07d}",
                    "organisation_id": "northwind",
                    "store_id": store,
                    "force_id": "devon-and-cornwall",
                    "category": "shop_theft",
                    "occurred_at": to_iso(occurred),
                    "created_at": to_iso(occurred),
                    "narrative": "Bench incident",
                    "persons": [],
                    "vehicles": [],
                    "witnesses": [],
                    "goods": [],
                    "plates": [],
                    "offender_ids": [],
                    "version": 1,
                }
            )
            entries.append(
                {
                    "id": index_id("incident", iid),
                    "entity_id": iid,
                    "type": "incident",
                    "lane": "incident",
                    "basis_at": to_iso(occurred),
                    "month": month_of(to_iso(occurred)),
                    "store_id": store,
                    "category": "shop_theft",
                    "holds": 0,
                }
            )
        with container.records.unit_of_work() as uow:
            uow.insert_many("incidents", "northwind", incidents)
            uow.insert_many("retention_index", "northwind", entries)
        made += n
    return time.perf_counter() - start


def sweep(container: Container, as_of: datetime) -> tuple[float, dict[str, int]]:
    clock = container.clock
    assert isinstance(clock, FakeClock)
    clock.current = as_of
    start = time.perf_counter()
    report = container.retention.sweep.run(as_of)
    return time.perf_counter() - start, report.counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--due-percent", type=float, default=1.0)
    args = parser.parse_args()
    due = int(args.count * args.due_percent / 100)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-retention-") as tmp:
        container = Container(Settings(data_dir=Path(tmp)), clock=FakeClock())
        seed_directory(container)
        print(f"machine: {machine()}")
        built = build(container, args.count, due)
        print(f"built {args.count:,} incidents (+ index entries), {due:,} past their schedule, in {built:.1f} s")
        t_none, c_none = sweep(container, NONE_DUE_AT)
        print(f"sweep with none due:        {t_none * 1000:9.1f} ms  deleted {c_none['incidents_deleted']:,}")
        t_due, c_due = sweep(container, DUE_AT)
        print(
            f"sweep with {args.due_percent:g}% due ({due:,}): {t_due * 1000:9.1f} ms  deleted {c_due['incidents_deleted']:,}"
            f"  ({t_due / max(c_due['incidents_deleted'], 1) * 1000:.2f} ms per deleted incident)"
        )
        t_again, c_again = sweep(container, DUE_AT)
        print(f"re-run, nothing left due:   {t_again * 1000:9.1f} ms  deleted {c_again['incidents_deleted']:,}")
        container.close()


if __name__ == "__main__":
    main()
