"""`vigil import incidents` at scale: a generated historical CSV imported twice into a
fresh local stamp. Prints rows/s of each run and checks the second adds nothing.

The importing user's write budget is lifted for the run (VIGIL_HTTP_WRITE_BURST and
VIGIL_HTTP_WRITES_PER_MINUTE), as an operator would for a planned migration: with the
default budget the import is paced at 300 rows a minute, which measures the budget, not
the import.

    python bench/client_import.py                  # 10,000 rows
    python bench/client_import.py --rows 100000 --workers 8
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def vigil(env: dict[str, str], *args: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "vigil_client.cli", "-q", *args], env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    return done.returncode, json.loads(done.stdout or "{}"), seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=4)
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
            print(f"machine: {machine()}")
            for run in ("first", "second"):
                code, counts, seconds = vigil(env, *cmd)
                print(f"{run} run: exit {code}, {counts}, {seconds:.1f} s, {args.rows / seconds:.0f} rows/s")
                if run == "first" and counts.get("created") != args.rows:
                    return 1
                if run == "second" and counts.get("created") != 0:
                    return 1
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
