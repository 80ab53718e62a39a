"""Incident intake under load: concurrent till/handheld clients posting realistic,
varied incident reports to a running stamp.

By default it starts its own local stamp (`python -m functions.local_runner` with a
fresh VIGIL_DATA_DIR in a temp dir and a free PORT), mints tokens with
`python -m functions.cli token` against the same data dir, drives it for a fixed time
and stops it. `--url` drives a stamp that is already running instead (tokens then come
from `--token`/`--data-dir`).

Prints incidents/s, p50/p95/p99 latency, errors, the server's peak RSS (VmHWM, local
stamp only) and the machine. With the local stamp it also measures the floor in the same
run, against the same process: `POST /api/v1/bench/floor` (bench/floor_stamp.py) takes
the same HTTP stack, token, role check and `IncidentIn` validation but writes one row,
and the intake/floor ratio is printed. Phases alternate intake, floor, intake, floor...
(`--rounds`), so a change in the machine's load shows in both. The client is a small keep-alive HTTP/1.1 client on
asyncio streams, so that on a small machine the load generator costs less CPU than the
server it measures.

    python bench/intake.py                    # 32 clients, 20 s, local stamp
    python bench/intake.py --clients 64 --duration 30
    python bench/intake.py --rounds 2 --duration 10   # intake, floor, intake, floor
    python bench/intake.py --url http://127.0.0.1:7071 --data-dir var   # intake only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchkit import free_port
from benchkit import machine_facts as machine

ROOT = Path(__file__).resolve().parent.parent
# The checkout whose code the stamp runs (--code): this one unless measuring another.
CODE = ROOT

CATEGORIES = ["shop_theft"] * 6 + [
    "abuse_threats",
    "violence_against_staff",
    "criminal_damage",
    "fraud",
    "anti_social_behaviour",
    "suspicious_activity",
    "prevented_offence",
    "robbery",
]
GOODS = [
    ("Whisky 70cl", 2899),
    ("Gin 70cl", 2250),
    ("Razor blades 8 pack", 1850),
    ("Baby formula 800g", 1395),
    ("Laundry pods 60", 1600),
    ("Steak 2x225g", 899),
    ("Bluetooth earbuds", 4999),
    ("Face cream 50ml", 2400),
    ("Coffee 500g", 799),
    ("Perfume 100ml", 7800),
]
BUILDS = ["slim", "medium", "heavy", "athletic", "unknown"]
CLOTHING = [
    "grey hoodie, black joggers",
    "navy puffer jacket, jeans",
    "black balaclava, tracksuit",
    "hi-vis vest, work boots",
    "red cap, white trainers",
]
HAIR = ["short, dark", "shaved", "long, blonde, tied back", "ginger, curly", None]
MAKES = [("Ford", "Focus"), ("Vauxhall", "Corsa"), ("BMW", "3 Series"), ("Volkswagen", "Golf"), ("Toyota", "Yaris")]
COLOURS = ["silver", "black", "white", "blue", "red"]
NAMES = ["Sam Taylor", "Priya Shah", "Tom Evans", "Aisha Khan", "Lee Morgan", "Chris Wood"]
NARRATIVES = [
    "Male filled a bag with {item} and left without paying. Challenged at the door.",
    "Two people distracted staff at the tills while a third took {item} from the shelf.",
    "Customer became abusive when refused a refund for {item} without a receipt.",
    "Suspect concealed {item} under a coat and ran to a waiting car.",
    "Known face returned and took {item}; security followed to the car park.",
    "Attempted theft of {item} stopped at the exit by security staff.",
]


def plate(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNOPRSTUVWXYZ"
    return f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(10, 74)} {''.join(rng.choice(letters) for _ in range(3))}"


def incident(rng: random.Random, store: str, now: datetime) -> dict:
    """A realistic report: varied category, goods, people, vehicles and statements."""
    goods: list[dict[str, Any]] = []
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        desc, unit = rng.choice(GOODS)
        goods.append({"description": desc, "quantity": rng.randint(1, 8), "unit_value": {"amount_minor": unit, "currency": "GBP"}})
    item = goods[0]["description"].lower() if goods else "goods"
    reporter = rng.choice(NAMES)
    body = {
        "store_id": store,
        "category": rng.choice(CATEGORIES),
        "occurred_at": (now - timedelta(minutes=rng.randint(5, 60 * 24 * 3))).isoformat(),
        "narrative": rng.choice(NARRATIVES).format(item=item) + " " + "CCTV covers the aisle and the exit. " * rng.randint(0, 4),
        "flags": {
            "violence": rng.random() < 0.15,
            "threats": rng.random() < 0.2,
            "staff_injured": rng.random() < 0.05,
            "offender_detained": rng.random() < 0.1,
        },
        "goods": goods,
        "persons": [
            {
                "role": "suspect",
                "description": {
                    "build": rng.choice(BUILDS),
                    "height_min_cm": 165,
                    "height_max_cm": 190,
                    "hair": rng.choice(HAIR),
                    "clothing": rng.choice(CLOTHING),
                },
            }
            for _ in range(rng.choice([0, 1, 1, 2]))
        ],
        "vehicles": [
            dict(zip(("make", "model"), rng.choice(MAKES), strict=True), plate=plate(rng), colour=rng.choice(COLOURS))
            for _ in range(rng.choice([0, 0, 1]))
        ],
        "witnesses": [
            {
                "name": reporter,
                "kind": "staff",
                "statement": "I saw the person take the items and walk past the tills without paying.",
                "is_reporter": True,
            }
        ],
        "prosecution_supported": rng.random() < 0.7,
        "reporter": {"name": reporter, "job_title": rng.choice(["Duty manager", "Store detective", "Sales assistant"])},
    }
    return body


# ---- a lean keep-alive HTTP/1.1 client -------------------------------------------------


class Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        assert self.reader is not None
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        close = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        payload = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


async def client(
    n: int,
    base: str,
    route: str,
    tokens: list[tuple[str, str]],
    deadline_warm: float,
    deadline_end: float,
    results: list,
    errors: list,
    seed: int,
) -> None:
    url = urlsplit(base)
    conn = Connection(url.hostname or "127.0.0.1", url.port or 80)
    rng = random.Random(seed)
    store, token = tokens[n % len(tokens)]
    headers = {"Authorization": f"Bearer {token}"}
    path = (url.path.rstrip("/") or "") + route
    now = datetime.now(UTC)
    while True:
        start = time.perf_counter()
        if start >= deadline_end:
            break
        body = json.dumps(incident(rng, store, now)).encode()
        try:
            status, payload = await conn.post(path, body, {**headers, "Idempotency-Key": uuid.uuid4().hex})
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
            await conn.close()
            if start >= deadline_warm:
                errors.append(f"{type(exc).__name__}: {exc}")
            continue
        end = time.perf_counter()
        if start < deadline_warm:
            continue
        if status == 201:
            results.append(end - start)
        else:
            errors.append(f"{status}: {payload[:200]!r}")
    await conn.close()


async def drive(
    base: str, route: str, tokens: list[tuple[str, str]], clients: int, warmup: float, duration: float
) -> tuple[list[float], list[str], float]:
    results: list[float] = []
    errors: list[str] = []
    t0 = time.perf_counter()
    warm, end = t0 + warmup, t0 + warmup + duration
    await asyncio.gather(*(client(i, base, route, tokens, warm, end, results, errors, seed=1000 + i) for i in range(clients)))
    return results, errors, duration


# ---- the stamp under test -----------------------------------------------------------


def mint(data_dir: Path, org: str, role: str, stores: str | None = None) -> str:
    env = {**os.environ, "VIGIL_DATA_DIR": str(data_dir), "PYTHONPATH": str(CODE)}
    cmd = [sys.executable, "-m", "functions.cli", "token", "--org", org, "--role", role] + (["--stores", stores] if stores else [])
    return subprocess.run(cmd, env=env, cwd=CODE, check=True, capture_output=True, text=True).stdout.strip()


def wait_ready(base: str, proc: subprocess.Popen | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the stamp exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/api/v1/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the stamp did not become ready")


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU so far of the stamp: every process of its process group (it is
    started in a session of its own, so the extra HTTP processes count too), from /proc."""
    total = 0.0
    found = False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pid:  # the process group
            found = True
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total if found else None


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))
    return ordered[k]


INTAKE = "/api/v1/incidents"
FLOOR = "/api/v1/bench/floor"


def summarise(results: list[float], errors: list[str], duration: float) -> dict[str, Any]:
    ms = [r * 1000 for r in results]
    return {
        "incidents": len(results),
        "incidents_per_s": round(len(results) / duration, 1),
        "p50_ms": round(pct(ms, 50), 1),
        "p95_ms": round(pct(ms, 95), 1),
        "p99_ms": round(pct(ms, 99), 1),
        "mean_ms": round(statistics.fmean(ms), 1) if ms else None,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def pooled(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure for several phases of the same route: rate over all of them, latency
    percentiles over every request."""
    results = [r for p in phases for r in p["results"]]
    errors = [e for p in phases for e in p["errors"]]
    figures = summarise(results, errors, sum(p["duration"] for p in phases))
    cpu = [p["server_cpu_ms"] for p in phases if "server_cpu_ms" in p]
    figures["server_cpu_ms"] = round(statistics.fmean(cpu), 2) if cpu else None
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="drive a running stamp instead of starting one (intake only: it has no floor route)")
    ap.add_argument("--data-dir", help="with --url: the stamp's data dir, to mint tokens")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--duration", type=float, default=20.0, help="measured seconds per phase")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring, per phase")
    ap.add_argument("--rounds", type=int, default=1, help="intake then floor phases, this many times, interleaved")
    ap.add_argument("--no-floor", action="store_true", help="intake phases only")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    ap.add_argument("--server-arg", action="append", default=[], help="extra environment for the local stamp, NAME=VALUE")
    ap.add_argument("--code", type=Path, default=ROOT, help="run the local stamp from this checkout (e.g. the code before a change)")
    args = ap.parse_args(argv)
    global CODE
    CODE = args.code.resolve()

    info = machine()
    tmp: Path | None = None
    proc: subprocess.Popen | None = None
    phases: list[dict[str, Any]] = []
    try:
        if args.url:
            base = args.url.rstrip("/")
            data_dir = Path(args.data_dir or "var")
        else:
            tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
            data_dir = tmp
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = {**os.environ, "VIGIL_DATA_DIR": str(tmp), "PORT": str(port), "PYTHONPATH": str(CODE), "VIGIL_LOG_LEVEL": "WARNING"}
            # Four tokens stand in for every till of their stores: the per-person write
            # budget would measure the quota, not the server (docs/limits.md).
            env.update({"VIGIL_HTTP_WRITE_BURST": "1000000", "VIGIL_HTTP_WRITES_PER_MINUTE": "1000000"})
            env.update(dict(kv.split("=", 1) for kv in args.server_arg))
            # local_runner with the bench-only floor route mounted (only in the first HTTP process).
            proc = subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / "floor_stamp.py")],
                env=env,
                cwd=CODE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            wait_ready(base, proc)
        wait_ready(base, None)
        tokens = [
            ("nw-plymouth", mint(data_dir, "northwind", "Retailer.Reporter", "nw-plymouth")),
            ("nw-exeter", mint(data_dir, "northwind", "Retailer.Reporter", "nw-exeter")),
            ("nw-plymouth", mint(data_dir, "northwind", "Retailer.Investigator")),
            ("ct-bristol", mint(data_dir, "contoso", "Retailer.Reporter", "ct-bristol")),
        ]
        routes = [INTAKE] if (args.url or args.no_floor) else [INTAKE, FLOOR]
        for _ in range(args.rounds):
            for route in routes:
                load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
                cpu0 = cpu_seconds(proc.pid) if proc else None
                results, errors, duration = asyncio.run(drive(base, route, tokens, args.clients, args.warmup, args.duration))
                cpu1 = cpu_seconds(proc.pid) if proc else None
                phase = {"route": route, "results": results, "errors": errors, "duration": duration, "load_before": load}
                # Server CPU per answer, warm-up included in both the CPU and the count (approximate).
                if cpu0 is not None and cpu1 is not None and results:
                    phase["server_cpu_ms"] = round((cpu1 - cpu0) * 1000 / (len(results) * (args.warmup + duration) / duration), 2)
                phases.append(phase)
                s = summarise(results, errors, duration)
                print(
                    f"  {'intake' if route == INTAKE else 'floor '}  {s['incidents_per_s']:>7}/s  p50 {s['p50_ms']}  p95 {s['p95_ms']}"
                    f"  p99 {s['p99_ms']}  errors {s['errors']}  server CPU {phase.get('server_cpu_ms')} ms/request"
                    f"  (load before {load})",
                    flush=True,
                )
        rss = peak_rss_mb(proc.pid) if proc else None
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    intake = pooled([p for p in phases if p["route"] == INTAKE])
    floor = pooled([p for p in phases if p["route"] == FLOOR]) if any(p["route"] == FLOOR for p in phases) else None
    figures: dict[str, Any] = {
        "clients": args.clients,
        "duration_s": args.duration,
        "rounds": args.rounds,
        **intake,
        "floor": floor,
        "ratio_to_floor": round(intake["incidents_per_s"] / floor["incidents_per_s"], 3) if floor and floor["incidents_per_s"] else None,
        "server_peak_rss_mb": round(rss, 1) if rss else None,
        "load_after": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "machine": info,
    }
    where = "a local stamp" if proc else base
    print(f"Intake: {args.clients} clients, {args.rounds} x {args.duration:.0f} s per route, against {where} running {CODE}")
    print(f"  incidents/s  {intake['incidents_per_s']}  ({intake['incidents']} reported)")
    print(f"  latency ms   p50 {intake['p50_ms']}  p95 {intake['p95_ms']}  p99 {intake['p99_ms']}  mean {intake['mean_ms']}")
    print(f"  errors       {intake['errors']}" + (f"  first: {intake['first_error']}" if intake["errors"] else ""))
    print(f"  server CPU   {intake['server_cpu_ms']} ms per report")
    if floor:
        print(f"  floor/s      {floor['incidents_per_s']}  (same HTTP stack and validation, one row a request)")
        print(f"  floor ms     p50 {floor['p50_ms']}  p95 {floor['p95_ms']}  p99 {floor['p99_ms']}  errors {floor['errors']}")
        print(f"  floor CPU    {floor['server_cpu_ms']} ms per request")
        print(f"  ratio        intake / floor = {figures['ratio_to_floor']}")
    print(f"  server peak RSS  {figures['server_peak_rss_mb']} MB" if rss else "  server peak RSS  (not measured: remote stamp)")
    print(
        f"  machine      {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, Python {info['python']}, SQLite {info['sqlite']},"
        f" load before {info['load_before']}, after {figures['load_after']}"
    )
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0 if not (intake["errors"] or (floor and floor["errors"])) else 1


if __name__ == "__main__":
    sys.exit(main())
