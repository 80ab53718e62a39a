"""Concurrent audited writes of ONE organisation: how far the chain heads serialise them.

Every audited write appends to its organisation's audit trail; on Cosmos DB the append
moves a chain-head document with If-Match, and a writer that loses the race starts
again (25 attempts, then 503). With the trail in shards (`--shards`, the setting
VIGIL_AUDIT_CHAIN_SHARDS) each unit goes to one shard and moves to another when it loses.
This bench runs `--threads` writers, each committing `--units` units of work that write
one record and append one audit entry for the same organisation, for each shard count
given (a fresh organisation each), on the Cosmos DB emulator (cosmosdb-server) and on
the local SQLite store, and prints units/s, latency percentiles and how many units gave
up (503).

    PYTHONPATH=. .venv/bin/python bench/audit_contention.py [--threads 8] [--units 25] [--shards 1 4 16]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchkit import machine  # noqa: E402

from shared.domain.errors import Unavailable  # noqa: E402
from shared.records import AUDIT, INCIDENTS  # noqa: E402

ORG = "northwind"


def linker(prev: str, seq: int, body: dict[str, Any]) -> str:
    return hashlib.sha256(f"{prev}|{seq}|{body['id']}".encode()).hexdigest()


def run(store: Any, threads: int, units: int, shards: int) -> dict[str, Any]:
    latencies: list[float] = []
    gave_up = 0
    lock = threading.Lock()
    org = f"{ORG}-{shards}-{threads}"

    def writer() -> None:
        nonlocal gave_up
        for _ in range(units):
            started = time.perf_counter()
            try:
                with store.unit_of_work() as uow:
                    incident = uuid.uuid4().hex
                    uow.insert(INCIDENTS.name, org, {"id": incident, "status": "reported"})
                    # Audit items are partitioned by organisation and month of `at`.
                    entry = {"id": uuid.uuid4().hex, "at": datetime.now(UTC).isoformat(), "entity": f"incident:{incident}"}
                    uow.append_chained(AUDIT.name, org, "audit", entry, linker, shards=shards)
            except Unavailable:
                with lock:
                    gave_up += 1
                continue
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "units_per_s": len(latencies) / elapsed,
        "p50_ms": cuts[49],
        "p95_ms": cuts[94],
        "gave_up": gave_up,
        "done": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--units", type=int, default=25)
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 16], help="shard counts to compare (1: one chain head)")
    args = parser.parse_args()
    print(machine())
    from shared.adapters.local.sqlite_records import SqliteRecordStore
    from tests import emulators

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteRecordStore(Path(tmp) / "records.sqlite")
        try:
            for shards in args.shards:
                for threads in (1, args.threads):
                    print("local ", shards, "shards", threads, "writers", run(store, threads, args.units, shards), flush=True)
        finally:
            store.close()
    emulator = emulators.start_cosmos()
    try:
        from shared.adapters.azure.cosmos import CosmosRecordStore

        cosmos = CosmosRecordStore(
            emulators.cosmos_endpoint(emulator), key=emulators.COSMOS_KEY, region="uk", database_prefix="b" + uuid.uuid4().hex[:10]
        )
        try:
            for shards in args.shards:
                for threads in (1, args.threads):
                    print("cosmos", shards, "shards", threads, "writers", run(cosmos, threads, args.units, shards), flush=True)
        finally:
            cosmos.client().delete_database(cosmos.database_name)
            cosmos.close()
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
