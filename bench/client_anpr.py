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
   command's wall time, process start-up included, and the process's CPU time.
4. API again, as in 2, on the store as the push left it.
Prints all three, the ratio client / API, and the machine with the load before each phase.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
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


def write_reads(path: Path, n: int, rng: random.Random, hit_plates: list[str], days_back: int = 1) -> None:
    """The same reads bench_ingest posts (8 cameras, two stores, about 1 in 1,000 a hit),
    `days_back` days earlier so none is a duplicate of the API phase's or another push's."""
    start_at = datetime.now(UTC) - timedelta(days=days_back)
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


def push(env: dict[str, str], file: Path, profile: Path | None, in_flight: int, batch_size: int) -> tuple[int, dict, float, float]:
    """Run the command; its exit code, totals, wall seconds and CPU seconds (user + system)."""
    prefix = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m"] if profile else [sys.executable, "-m"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        [*prefix, "vigil_client.cli", "-q", "anpr", "push", str(file), "--in-flight", str(in_flight), "--batch-size", str(batch_size)],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    return done.returncode, json.loads(done.stdout or "{}"), seconds, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vehicles", type=int, default=100_000)
    ap.add_argument("--batches", type=int, default=100, help="API phase: measured batches of 500 reads")
    ap.add_argument("--clients", type=int, default=8, help="API phase: client connections (camera systems)")
    ap.add_argument("--reads", type=int, default=50_000, help="client phase: reads in the pushed file")
    ap.add_argument("--http-processes", type=int, default=2)
    ap.add_argument("--in-flight", type=int, default=8, help="client phase: vigil anpr push --in-flight")
    ap.add_argument("--batch-size", type=int, default=1000, help="client phase: vigil anpr push --batch-size")
    ap.add_argument("--variants", help="more pushes after the first, e.g. 500x4,1000x8 (batch size x in flight), each its own file")
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
        variants = [(args.batch_size, args.in_flight)] + [
            (int(b), int(f)) for b, f in (v.split("x") for v in (args.variants.split(",") if args.variants else []))
        ]
        files = []
        for n in range(len(variants)):
            files.append(Path(tmp) / f"reads-{n}.jsonl")
            write_reads(files[-1], args.reads, rng, plates[1000:], days_back=n + 1)
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
            pushes = []
            for file, (batch_size, in_flight) in zip(files, variants, strict=True):
                before = load()
                code, counts, seconds, cpu = push(client_env, file, args.profile, in_flight, batch_size)
                rate = args.reads / seconds
                print(
                    f"vigil anpr push: exit {code}, {counts}, {seconds:.1f} s, {rate:,.0f} reads/s (one process, {in_flight} "
                    f"batches of {batch_size} in flight; load before {before})"
                )
                print(
                    f"  the vigil process's CPU: {cpu:.2f} s ({cpu / seconds:.0%} of its wall time, {cpu / args.reads * 1e6:.1f} µs a read)"
                )
                inner = args.reads / counts["seconds"] if counts.get("seconds") else 0.0
                print(f"  without process start-up (the command's own clock): {inner:,.0f} reads/s", flush=True)
                pushes.append((code, counts, rate, inner))
            code, counts, rate, inner = pushes[0]
            # The API again, after the push, on the store as the push left it: the machine's
            # load drifts within a run, so the push is compared with the mean of both.
            before = load()
            api_after = bench_ingest(base, device, args.batches, args.clients, rng, plates[1000:])
            print(f"API ingest after the push: {api_after:,.0f} reads/s (load before {before})", flush=True)
            mean = (api + api_after) / 2
            for (_, _, rate, inner), (batch_size, in_flight) in zip(pushes, variants, strict=True):
                print(
                    f"ratio: push ({batch_size}x{in_flight}) / API (mean {mean:,.0f}) = {rate / mean:.2f} (wall), "
                    f"{inner / mean:.2f} (command's clock)"
                )
            print(f"load after {load()}")
            return 0 if code == 0 and counts.get("stored") == args.reads else 1
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
