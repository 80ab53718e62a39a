"""`vigil anpr push` against the API's own ANPR ingest rate, in one run, on one stamp.

    .venv/bin/python bench/client_anpr.py                    # 100,000 vehicles, 100 batches
    .venv/bin/python bench/client_anpr.py --reads 100000 --http-processes 2

1. Lists `--vehicles` vehicles of interest straight into a fresh stamp's store (setup),
   and starts `functions.local_runner` with the camera's write budget lifted
   (VIGIL_HTTP_DEVICE_*), so the bench measures ingest, not the budget.
2. API: `--batches` pre-encoded batches of 500 reads from `--clients` threads, as
   bench/anpr.py measures it (`bench_ingest`); reads/s.
3. Client: `--reads` reads of the same shape written to a JSON lines file, pushed by
   `vigil anpr push` (one process, batches of 500) with a camera token; reads/s from the
   command's wall time, process start-up included.
Prints both, the ratio client / API, and the machine with the load before each phase.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "clients" / "python"
sys.path.insert(0, str(ROOT))

from anpr import bench_ingest, list_vehicles, random_plate, wait_ready  # noqa: E402
from benchkit import free_port, machine  # noqa: E402

from shared.bootstrap import Container  # noqa: E402
from shared.domain.timestamps import to_iso  # noqa: E402
from shared.services.seed import seed_directory  # noqa: E402
from shared.settings import Settings  # noqa: E402


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def write_reads(path: Path, n: int, rng: random.Random, hit_plates: list[str]) -> None:
    """The same reads bench_ingest posts (8 cameras, two stores, about 1 in 1,000 a hit),
    a day earlier so none is a duplicate of the API phase's."""
    start_at = datetime.now(UTC) - timedelta(days=1)
    with open(path, "wb") as f:
        for i in range(n):
            plate = rng.choice(hit_plates) if rng.random() < 0.001 else random_plate(rng)
            read = {
                "camera_id": f"cam-{i % 8}",
                "store_id": "nw-plymouth" if i % 2 else "nw-exeter",
                "captured_at": to_iso(start_at + timedelta(milliseconds=i)),
                "plate": plate,
                "confidence": 0.93,
                "direction": "towards",
            }
            f.write(orjson.dumps(read) + b"\n")


def push(env: dict[str, str], file: Path, profile: Path | None, in_flight: int) -> tuple[int, dict, float]:
    prefix = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m"] if profile else [sys.executable, "-m"]
    started = time.monotonic()
    done = subprocess.run(
        [*prefix, "vigil_client.cli", "-q", "anpr", "push", str(file), "--in-flight", str(in_flight)],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    return done.returncode, json.loads(done.stdout or "{}"), seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vehicles", type=int, default=100_000)
    ap.add_argument("--batches", type=int, default=100, help="API phase: measured batches of 500 reads")
    ap.add_argument("--clients", type=int, default=8, help="API phase: client connections (camera systems)")
    ap.add_argument("--reads", type=int, default=50_000, help="client phase: reads in the pushed file")
    ap.add_argument("--http-processes", type=int, default=2)
    ap.add_argument("--in-flight", type=int, default=4, help="client phase: vigil anpr push --in-flight")
    ap.add_argument("--profile", type=Path, help="write a cProfile of the vigil process here")
    args = ap.parse_args()
    rng = random.Random(42)
    print("machine:", machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-client-anpr-") as tmp:
        data_dir = Path(tmp) / "stamp"
        setup = Container(Settings(data_dir=data_dir))
        seed_directory(setup)
        plates = list_vehicles(setup, args.vehicles, rng)
        from functions.cli import demo_token

        device = demo_token(setup, "northwind", "Device.Anpr")
        setup.close()
        reads_file = Path(tmp) / "reads.jsonl"
        write_reads(reads_file, args.reads, rng, plates[1000:])
        port = free_port()
        env = {
            **os.environ,
            "VIGIL_DATA_DIR": str(data_dir),
            "PORT": str(port),
            "PYTHONPATH": str(ROOT),
            "VIGIL_LOG_LEVEL": "WARNING",
            "HTTP_PROCESSES": str(args.http_processes),
            "VIGIL_HTTP_DEVICE_WRITE_BURST": "10000000",
            "VIGIL_HTTP_DEVICE_WRITES_PER_MINUTE": "10000000",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "functions.local_runner"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            wait_ready(base, proc)
            if args.http_processes > 1:
                time.sleep(5)  # the first process answers first; let the others start listening
            before = load()
            api = bench_ingest(base, device, args.batches, args.clients, rng, plates[1000:])
            print(
                f"API ingest: {api:,.0f} reads/s ({args.batches} batches of 500, {args.clients} clients; load before {before})", flush=True
            )
            client_env = {
                **os.environ,
                "PYTHONPATH": str(CLIENT),
                "VIGIL_CONFIG_DIR": str(Path(tmp) / "config"),
                "VIGIL_API_URL": f"http://127.0.0.1:{port}",
                "VIGIL_AUTH_MODE": "token",
                "VIGIL_TOKEN": device,
            }
            before = load()
            code, counts, seconds = push(client_env, reads_file, args.profile, args.in_flight)
            rate = args.reads / seconds
            print(
                f"vigil anpr push: exit {code}, {counts}, {seconds:.1f} s, {rate:,.0f} reads/s (one process, {args.in_flight} batches in flight; load before {before})"
            )
            inner = args.reads / counts["seconds"] if counts.get("seconds") else 0.0
            print(f"  without process start-up (the command's own clock): {inner:,.0f} reads/s")
            print(f"ratio: push / API = {rate / api:.2f} (wall), {inner / api:.2f} (command's clock); load after {load()}")
            return 0 if code == 0 and counts.get("stored") == args.reads else 1
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
