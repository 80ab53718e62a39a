"""Cost per operation: the Cosmos DB, Blob Storage and Service Bus requests each operation
makes, counted at the SDKs' HTTP transport, against the emulators.

    .venv/bin/python bench/request_counts.py

Starts cosmosdb-server (tests/emulators.py), builds a seeded stamp whose records live in
Cosmos DB (as tests/fixtures_http.make_cosmos_stamp does) and counts, with azure-core's
`RequestsTransport.send` wrapped, the HTTP requests each operation sends, by service (the
emulator's port names it) and by method and path for the profile. Service Bus has no
emulator here: the queue is the SQLite one, so its figure is the messages enqueued (each a
send in Azure). Operations: an incident report, a 500-read ANPR batch (first with the directory's cache
cold, then again as a camera posting steadily finds it), a D2P dispatch (request and
delivery), a retention sweep with nothing due.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from azure.core.pipeline.transport import RequestsTransport  # noqa: E402
from benchkit import machine  # noqa: E402

TARGETS = {"report an incident": 3, "500-read ANPR batch": 10}


class Counter:
    """Counts the requests through every azure-core RequestsTransport, by service."""

    def __init__(self, services: dict[int, str]):
        self.services = services
        self.requests: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self._real = RequestsTransport.send

    def __enter__(self):
        counter = self

        def send(transport, request, **kwargs):
            from urllib.parse import urlsplit

            url = urlsplit(request.url)
            service = counter.services.get(url.port or 0, url.hostname or "?")
            with counter.lock:
                counter.requests.append((service, _verb(request), _shape(url.path)))
            return counter._real(transport, request, **kwargs)

        RequestsTransport.send = send
        return self

    def __exit__(self, *exc):
        RequestsTransport.send = self._real

    def take(self) -> list[tuple[str, str, str]]:
        with self.lock:
            got, self.requests = self.requests, []
        return got


def _verb(request) -> str:
    """What a Cosmos request does: a query and a create are both POSTs to /docs."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    if headers.get("x-ms-documentdb-isquery", "").lower() == "true" or "query+json" in headers.get("content-type", ""):
        return "query"
    if headers.get("x-ms-cosmos-is-batch-request", "").lower() == "true":
        return "batch"
    return {"POST": "create", "GET": "read", "PUT": "replace", "DELETE": "delete", "PATCH": "patch"}.get(request.method, request.method)


def _shape(path: str) -> str:
    """The collection (or blob container) a request names, ids folded, so the profile
    groups the same request."""
    parts = path.strip("/").split("/")
    if "colls" in parts[:-1]:
        return parts[parts.index("colls") + 1]
    return "/".join(parts[:2]) if parts else "/"


def measure(stamp: Any, counter: Counter, name: str, operation) -> dict[str, Any]:
    queue = stamp.container.queue
    sent = {"n": 0}
    real_send = queue.send

    def counting_send(*args, **kwargs):
        sent["n"] += 1
        return real_send(*args, **kwargs)

    queue.send = counting_send
    counter.take()
    try:
        operation()
    finally:
        queue.send = real_send
    requests = counter.take()
    by_service = collections.Counter(s for s, _, _ in requests)
    profile = collections.Counter(f"{s} {m} {p}" for s, m, p in requests)
    return {
        "name": name,
        "cosmos": by_service.get("cosmos", 0),
        "blob": by_service.get("blob", 0),
        "service_bus": sent["n"],
        "profile": profile,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=int, default=6, help="most frequent requests to list per operation")
    args = parser.parse_args(argv)

    # The tests' own emulator and stamp helpers, imported by name: they are test code,
    # outside what mypy checks.
    from importlib import import_module

    from functions import jobs

    emulators = import_module("tests.emulators")
    post_reads, read = import_module("tests.anpr.helpers").post_reads, import_module("tests.anpr.helpers").read
    d2p_helpers = import_module("tests.d2p.helpers")
    drain, eligible_report, report = d2p_helpers.drain, d2p_helpers.eligible_report, d2p_helpers.report
    azure_store = import_module("tests.evidence.conftest").azure_store
    CosmosEmulator = import_module("tests.fixtures_backends").CosmosEmulator  # noqa: N806
    fixtures_http = import_module("tests.fixtures_http")
    close_stamp, make_cosmos_stamp = fixtures_http.close_stamp, fixtures_http.make_cosmos_stamp

    jobs.load_all()
    emulator = emulators.start_cosmos()
    blob_emulator = emulators.start_azurite()
    endpoint = emulators.cosmos_endpoint(emulator)
    from urllib.parse import urlsplit

    services = {urlsplit(endpoint).port or 0: "cosmos", blob_emulator.ports["blob"]: "blob"}
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp, Counter(services) as counter:
            stamp = make_cosmos_stamp(
                Path(tmp), CosmosEmulator(endpoint, emulators.COSMOS_KEY), http_write_burst=100000, http_writes_per_minute=100000
            )
            stamp.container.__dict__["evidence_blobs"] = azure_store(emulators.azurite_connection_string(blob_emulator))
            try:
                report(stamp)  # warm: container and partition key ranges read once per process
                results.append(measure(stamp, counter, "report an incident", lambda: report(stamp)))

                def batch_of(prefix: str):
                    reads = [
                        read(stamp, plate=f"{prefix}{i:02d} {chr(65 + i % 26)}{chr(65 + i // 26 % 26)}X", ago=timedelta(minutes=1 + i % 50))
                        for i in range(500)
                    ]

                    def batch(stored: int = 500):
                        r = post_reads(stamp, reads)
                        assert r.status_code in (200, 201, 202), r.text
                        assert r.json()["stored"] == stored, r.text

                    return batch

                # The first batch reads the directory (the organisation's stores, its ANPR
                # sharing) that later ones find cached for 30 s: a camera posting steadily.
                results.append(measure(stamp, counter, "500-read ANPR batch, directory cold", batch_of("BN")))
                steady = batch_of("BM")
                results.append(measure(stamp, counter, "500-read ANPR batch", steady))
                results.append(measure(stamp, counter, "the same 500 reads re-sent", lambda: steady(stored=0)))
                incident = eligible_report(stamp)

                def dispatch():
                    r = stamp.client.post(
                        f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator")
                    )
                    assert r.status_code == 202, r.text
                    drain(stamp)

                results.append(measure(stamp, counter, "D2P dispatch (request + delivery)", dispatch))
                lanes = len(stamp.container.retention.sweep.lanes) if hasattr(stamp.container.retention, "sweep") else None
                results.append(
                    measure(
                        stamp,
                        counter,
                        # Every registered lane, counted as the sweep runs them (the three
                        # retention-index lanes too, though they first ask together).
                        f"retention sweep, nothing due ({lanes} lanes)",
                        lambda: jobs.run_job(stamp.container, "retention", stamp.clock.now()),
                    )
                )
            finally:
                close_stamp(stamp)
    finally:
        emulator.stop()
        blob_emulator.stop()

    print(f"Requests per operation (cosmosdb-server; Service Bus = messages enqueued) on {machine()}")
    print(f"{'operation':<40} {'cosmos':>7} {'blob':>5} {'sb':>4}  target")
    for r in results:
        target = TARGETS.get(r["name"])
        if r["name"].startswith("retention") and lanes:
            target = lanes
        verdict = "" if target is None else f"<= {target} cosmos: {'met' if r['cosmos'] <= target else 'MISSED'}"
        print(f"{r['name']:<40} {r['cosmos']:>7} {r['blob']:>5} {r['service_bus']:>4}  {verdict}")
    for r in results:
        print(f"\n{r['name']}: most frequent requests")
        for what, n in r["profile"].most_common(args.profile):
            print(f"  {n:>5}  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
