"""ANPR benchmark: ingest rate, hit -> alert latency, expiry sweep.

    .venv/bin/python bench/anpr.py                       # starts its own local stamp
    .venv/bin/python bench/anpr.py --vehicles 100000 --expiry-reads 100000   # quicker

1. Lists `--vehicles` (default 1,000,000) vehicles of interest for northwind and
   devon-and-cornwall straight into the stamp's record store (setup, not measured), then
   starts `python -m functions.local_runner` on a free port in a temp data dir.
2. Ingest: `--batches` batches of 500 reads over HTTP from `--clients` threads; reads/s.
3. Hit -> alert: a webhook subscription to the reference receiver (tools/webhook_receiver.py);
   `--alerts` single-read batches that each hit; time from POST to the receiver accepting
   the signed alert; p50/p99.
4. Expiry: stops the stamp, writes `--expiry-reads` reads (10% due) into the store, times
   the anpr-expiry job, then times it again with none due.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchkit import free_port, machine  # noqa: E402

from shared.bootstrap import Container  # noqa: E402
from shared.domain.anpr import read_id  # noqa: E402
from shared.domain.timestamps import to_iso  # noqa: E402
from shared.records import ANPR_READS, VEHICLES  # noqa: E402
from shared.services.seed import seed_directory  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tools.webhook_receiver import Receiver, serve  # noqa: E402


def random_plate(rng: random.Random) -> str:
    letters = string.ascii_uppercase
    return "".join(rng.choices(letters, k=2)) + f"{rng.randrange(100):02d}" + "".join(rng.choices(letters, k=3))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def list_vehicles(container: Container, n: int, rng: random.Random) -> list[str]:
    now = datetime.now(UTC)
    until = to_iso(now + timedelta(days=90))
    plates: list[str] = []
    owners = ["northwind", "devon-and-cornwall"]
    chunk = 20_000
    for start in range(0, n, chunk):
        docs_by_owner: dict[str, list[dict]] = {o: [] for o in owners}
        for i in range(start, min(n, start + chunk)):
            plate = f"V{i:07d}"[:10]
            plates.append(plate)
            docs_by_owner[owners[i % 2]].append(
                {
                    "id": plate,
                    "plate": plate,
                    "plate_raw": plate,
                    "reason": "bench",
                    "incident_ids": [],
                    "until": until,
                    "owner_org": owners[i % 2],
                    "added_by": "bench",
                    "added_at": to_iso(now),
                }
            )
        with container.records.unit_of_work() as uow:
            for owner, docs in docs_by_owner.items():
                uow.insert_many(VEHICLES.name, owner, docs)
    return plates


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"stamp exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("stamp did not become ready")


def bench_ingest(base: str, token: str, batches: int, clients: int, rng: random.Random, hit_plates: list[str]) -> float:
    start_at = datetime.now(UTC) - timedelta(hours=1)
    payloads = []
    # One warm-up batch per client, then the measured ones.
    for b in range(batches + clients):
        reads = []
        for i in range(500):
            # About 1 read in 1,000 matches a vehicle of interest.
            plate = rng.choice(hit_plates) if rng.random() < 0.001 else random_plate(rng)
            moment = start_at + timedelta(milliseconds=b * 500 + i)
            reads.append(
                {
                    "camera_id": f"cam-{i % 8}",
                    "store_id": "nw-plymouth" if i % 2 else "nw-exeter",
                    "captured_at": to_iso(moment),
                    "plate": plate,
                    "confidence": 0.93,
                    "direction": "towards",
                }
            )
        # Encoded up front: the load generator shares the two cores with the stamp, so it
        # should spend as little of them as it can.
        payloads.append(orjson.dumps({"reads": reads}))
    warm_up, queue = payloads[:clients], payloads[clients:]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    lock = threading.Lock()
    errors: list[str] = []
    # Each client first sends one batch on its own connection (the first request an HTTP
    # process serves builds FastAPI's route caches), then all start together.
    ready = threading.Barrier(clients + 1)

    def work(first: bytes) -> None:
        with httpx.Client(timeout=60) as client:
            client.post(f"{base}/anpr/reads", content=first, headers=headers)
            ready.wait()
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                r = client.post(f"{base}/anpr/reads", content=body, headers=headers)
                if r.status_code != 200:
                    errors.append(r.text[:200])

    threads = [threading.Thread(target=work, args=(first,)) for first in warm_up]
    for t in threads:
        t.start()
    ready.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        print("ingest errors:", errors[:3])
    return batches * 500 / elapsed


def bench_alerts(base: str, device: str, investigator: str, n: int, hit_plates: list[str]) -> list[float]:
    receiver = Receiver("pending")
    server = serve(receiver)
    url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    sub = httpx.post(
        f"{base}/alert-subscriptions",
        json={"stores": ["nw-plymouth"], "webhook_url": url},
        headers={"Authorization": f"Bearer {investigator}"},
    ).json()
    receiver.secrets = [sub["secret"]]
    latencies = []
    with httpx.Client(timeout=30) as client:
        for i in range(n):
            plate = hit_plates[i]
            seen = len(receiver.accepted)
            body = {
                "reads": [
                    {
                        "camera_id": "cam-alert",
                        "store_id": "nw-plymouth",
                        "captured_at": to_iso(datetime.now(UTC) - timedelta(seconds=1)),
                        "plate": plate,
                        "confidence": 0.99,
                        "direction": "away",
                    }
                ]
            }
            t0 = time.perf_counter()
            r = client.post(f"{base}/anpr/reads", json=body, headers={"Authorization": f"Bearer {device}"})
            assert r.status_code == 200 and r.json()["hits"], r.text
            while len(receiver.accepted) <= seen:
                if time.perf_counter() - t0 > 10:
                    raise SystemExit(f"no alert within 10 s (rejected: {receiver.rejected[-3:]})")
                time.sleep(0.001)
            latencies.append(time.perf_counter() - t0)
    server.shutdown()
    return latencies


def bench_expiry(data_dir: Path, n: int) -> tuple[float, int, float]:
    container = Container(Settings(data_dir=data_dir))
    now = datetime.now(UTC)
    rng = random.Random(7)
    chunk = 20_000
    for start in range(0, n, chunk):
        docs = []
        for i in range(start, min(n, start + chunk)):
            captured = now - timedelta(days=29, seconds=i)
            due = i % 10 == 0
            plate = random_plate(rng)
            docs.append(
                {
                    "id": read_id("nw-plymouth", "cam-x", plate, captured) + f"{i:x}",
                    "plate": plate,
                    "plate_raw": plate,
                    "camera_id": "cam-x",
                    "store_id": "nw-plymouth",
                    "force_id": "devon-and-cornwall",
                    "captured_at": to_iso(captured),
                    "confidence": 0.9,
                    "direction": "towards",
                    "plate_image": None,
                    "received_at": to_iso(now),
                    "expires_at": to_iso(now - timedelta(seconds=1) if due else now + timedelta(days=1, seconds=i)),
                }
            )
        with container.records.unit_of_work() as uow:
            uow.insert_many(ANPR_READS.name, "northwind", docs)
    t0 = time.perf_counter()
    report = container.anpr.expiry.expire(now)
    due_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    container.anpr.expiry.expire(now)
    none_s = time.perf_counter() - t0
    container.close()
    return due_s, report.counts["reads_deleted"], none_s


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vehicles", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=200, help="measured batches of 500 reads")
    parser.add_argument("--clients", type=int, default=8, help="client connections posting batches (camera systems)")
    parser.add_argument("--http-processes", type=int, default=2, help="HTTP processes of the stamp (make run's HTTP_PROCESSES)")
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--expiry-reads", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = random.Random(42)
    print("machine:", machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-anpr-") as tmp:
        data_dir = Path(tmp)
        setup = Container(Settings(data_dir=data_dir))
        seed_directory(setup)
        with setup.records.unit_of_work() as uow:  # the demo agreement shares ANPR, accepted by the force
            doc = uow.get("sharing", "_platform", "northwind>devon-and-cornwall")
            if doc and not doc.get("anpr_accepted_at"):
                accepted = {"anpr": True, "anpr_accepted_at": doc["since"], "anpr_accepted_by": "devon-and-cornwall-admin"}
                doc = {k: v for k, v in doc.items() if not k.startswith("_")} | accepted
                uow.upsert("sharing", "_platform", doc)
        t0 = time.perf_counter()
        plates = list_vehicles(setup, args.vehicles, rng)
        print(f"setup: {args.vehicles:,} vehicles of interest listed in {time.perf_counter() - t0:.1f} s", flush=True)
        from functions.cli import demo_token

        device = demo_token(setup, "northwind", "Device.Anpr")
        investigator = demo_token(setup, "northwind", "Retailer.Investigator")
        setup.close()
        port = free_port()
        env = {
            **os.environ,
            "VIGIL_DATA_DIR": str(data_dir),
            "PORT": str(port),
            "PYTHONPATH": str(ROOT),
            "VIGIL_LOG_LEVEL": "WARNING",
            "HTTP_PROCESSES": str(args.http_processes),
            # The reference receiver listens on loopback, which alert webhooks refuse by default.
            "VIGIL_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "functions.local_runner"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            wait_ready(base, proc)
            if args.http_processes > 1:
                time.sleep(5)  # the first process answers first; let the others start listening
            rate = bench_ingest(base, device, args.batches, args.clients, rng, plates[1000:])
            print(
                f"ingest: {rate:,.0f} reads/s in batches of 500 ({args.clients} clients, {args.http_processes} HTTP processes, {args.vehicles:,} vehicles of interest; target >= 20,000)",
                flush=True,
            )
            lat = bench_alerts(base, device, investigator, args.alerts, plates[: args.alerts])
            print(
                f"hit -> alert: p50 {statistics.median(lat) * 1000:.0f} ms, p99 {pct(lat, 99) * 1000:.0f} ms over {len(lat)} hits (target p99 < 1 s)",
                flush=True,
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        due_s, deleted, none_s = bench_expiry(data_dir, args.expiry_reads)
        print(
            f"expiry: {deleted:,} of {args.expiry_reads:,} reads due deleted in {due_s:.2f} s (target < 10 s); none due: {none_s * 1000:.1f} ms (target < 100 ms)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
