"""`vigil import incidents` at scale: a generated historical CSV imported twice into a
fresh local stamp. Prints rows/s of each run and checks the second adds nothing.

In the same run, against the same stamp, the incident intake rate is measured as
bench/intake.py measures it (its clients and bodies, `--intake-clients` for
`--intake-seconds`), once before the import and once after it, and the import's rate is
printed as a ratio of their mean (the target: at least half).

The importing user's write budget is lifted for the run (VIGIL_HTTP_WRITE_BURST and
VIGIL_HTTP_WRITES_PER_MINUTE), as an operator would for a planned migration: with the
default budget the import is paced at 300 rows a minute, which measures the budget, not
the import.

    python bench/client_import.py                  # 10,000 rows
    python bench/client_import.py --rows 100000 --workers 8
    python bench/client_import.py --profile /tmp/import.prof   # cProfile of the vigil process
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import intake
from benchkit import machine, start_stamp

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "clients" / "python"
STORES = ["nw-plymouth", "nw-exeter"]
MAPPING = {
    "columns": {
        "store_id": "Store",
        "occurred_at": "When",
        "category": "Type",
        "narrative": "What happened",
        "reporter.name": "Reported by",
        "goods.0.description": "Item",
        "goods.0.quantity": "Qty",
        "goods.0.unit_value.amount_minor": "Pence",
    },
    "constants": {"goods.0.unit_value.currency": "GBP"},
    "values": {"category": {"Theft": "shop_theft", "Abuse": "abuse_threats", "Damage": "criminal_damage"}},
    "timezone": "Europe/London",
    "date_formats": ["%d/%m/%Y %H:%M"],
}


def write_history(path: Path, rows: int) -> None:
    kinds = ["Theft", "Theft", "Abuse", "Damage"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Store", "When", "Type", "What happened", "Reported by", "Item", "Qty", "Pence"])
        for n in range(rows):
            goods = ["Lager 4-pack", str(1 + n % 4), str(450 + n % 900)] if n % 3 else ["", "", ""]
            when = f"{1 + n % 28:02d}/{1 + n // 28 % 12:02d}/{2020 + n // 336 % 5} {n % 24:02d}:{n % 60:02d}"
            narrative = f"Historical record {n}: goods taken from the shelves near the entrance and not paid for."
            w.writerow([STORES[n % 2], when, kinds[n % 4], narrative, "Jo Bloggs", *goods])


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def measure_intake(base: str, data_dir: Path, clients: int, seconds: float) -> float:
    """Incidents/s posted by bench/intake.py's clients to this stamp, after a 3 s warm-up."""
    tokens = [
        ("nw-plymouth", intake.mint(data_dir, "northwind", "Retailer.Reporter", "nw-plymouth")),
        ("nw-exeter", intake.mint(data_dir, "northwind", "Retailer.Reporter", "nw-exeter")),
        ("nw-plymouth", intake.mint(data_dir, "northwind", "Retailer.Investigator")),
        ("ct-bristol", intake.mint(data_dir, "contoso", "Retailer.Reporter", "ct-bristol")),
    ]
    results, errors, duration = asyncio.run(intake.drive(base, intake.INTAKE, tokens, clients, 3.0, seconds))
    figures = intake.summarise(results, errors, duration)
    print(
        f"intake: {figures['incidents_per_s']}/s, p50 {figures['p50_ms']} p99 {figures['p99_ms']} ms, errors {figures['errors']}",
        flush=True,
    )
    return float(figures["incidents_per_s"])


def vigil(env: dict[str, str], *args: str, profile: Path | None = None) -> tuple[int, dict, float]:
    started = time.monotonic()
    prefix = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m"] if profile else [sys.executable, "-m"]
    done = subprocess.run([*prefix, "vigil_client.cli", "-q", *args], env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    return done.returncode, json.loads(done.stdout or "{}"), seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--intake-clients", type=int, default=32)
    ap.add_argument("--intake-seconds", type=float, default=15.0, help="measured seconds of each intake phase")
    ap.add_argument("--no-intake", action="store_true", help="the import only")
    ap.add_argument("--profile", type=Path, help="write a cProfile of the first import's vigil process here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ.update({"VIGIL_HTTP_WRITE_BURST": "10000000", "VIGIL_HTTP_WRITES_PER_MINUTE": "10000000"})
        proc, base = start_stamp(work / "stamp", ROOT)
        try:
            token = subprocess.run(
                [sys.executable, "-m", "functions.cli", "token", "--org", "northwind", "--role", "Retailer.Reporter"],
                env={**os.environ, "VIGIL_DATA_DIR": str(work / "stamp"), "PYTHONPATH": str(ROOT)},
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            write_history(work / "history.csv", args.rows)
            (work / "mapping.json").write_text(json.dumps(MAPPING))
            env = {
                **os.environ,
                "PYTHONPATH": str(CLIENT),
                "VIGIL_CONFIG_DIR": str(work / "config"),
                "VIGIL_API_URL": base,
                "VIGIL_AUTH_MODE": "token",
                "VIGIL_TOKEN": token,
            }
            cmd = (
                "import",
                "incidents",
                str(work / "history.csv"),
                "--mapping",
                str(work / "mapping.json"),
                "--workers",
                str(args.workers),
            )
            print(f"machine: {machine()}; load before {load()}", flush=True)
            intakes = [] if args.no_intake else [measure_intake(base, work / "stamp", args.intake_clients, args.intake_seconds)]
            first_rate = 0.0
            for run in ("first", "second"):
                before = load()
                code, counts, seconds = vigil(env, *cmd, profile=args.profile if run == "first" else None)
                print(
                    f"{run} run: exit {code}, {counts}, {seconds:.1f} s, {args.rows / seconds:.0f} rows/s (load before {before})",
                    flush=True,
                )
                if run == "first" and counts.get("created") != args.rows:
                    return 1
                if run == "second" and counts.get("created") != 0:
                    return 1
                if run == "first":
                    first_rate = args.rows / seconds
            if intakes:
                intakes.append(measure_intake(base, work / "stamp", args.intake_clients, args.intake_seconds))
                mean = sum(intakes) / len(intakes)
                print(
                    f"ratio: import / intake = {first_rate:.1f} / {mean:.1f} = {first_rate / mean:.2f} (target >= 0.5); load after {load()}"
                )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
