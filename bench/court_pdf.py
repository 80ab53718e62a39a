"""Court documents: how long the case summary PDF of an incident with 20 exhibits takes to
render (fpdf2, DejaVu Sans embedded), and the MG11 and Impact Statement for Business
alongside it. In process, no stamp: the documents are what a package build adds.

Each exhibit has a realistic custody log (received, stored, verified, viewed, downloaded,
exported); the incident has goods, two suspects, a vehicle and three statements, one an
MG11. Prints each document's median CPU time, its median, p90 and best wall time, pages and
bytes, the load average and the machine.

    python bench/court_pdf.py                 # 20 exhibits, 15 rounds
    python bench/court_pdf.py --exhibits 50 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchkit import machine  # noqa: E402

from shared.adapters.pdf_documents import FpdfDocuments  # noqa: E402
from shared.domain.court import CaseFacts, CourtDocument, Exhibit, case_summary, impact_statement, mg11, zone_of  # noqa: E402
from shared.domain.statements import sign_statements  # noqa: E402
from shared.domain.timestamps import to_iso  # noqa: E402

START = datetime(2026, 11, 20, 14, 32, tzinfo=UTC)
EVENTS = ("received", "stored", "verified", "viewed", "downloaded", "exported")


def facts(n_exhibits: int) -> CaseFacts:
    """An incident as a busy case looks: 20 exhibits by default, each with six custody events."""
    witnesses: list[dict[str, Any]] = [
        {
            "name": "Sam Taylor",
            "kind": "staff",
            "statement": "I saw the man take six bottles and walk past the tills. " * 8,
            "is_reporter": True,
        },
        {"name": "Priya Shah", "kind": "customer", "statement": "He pushed past me at the door. " * 5},
        {
            "name": "Łukasz Zoë Brown",
            "kind": "security",
            "statement": "I stopped him at the door with the rucksack and recovered two bottles. " * 20,
            "occupation": "Store detective",
            "declaration_accepted": True,
        },
    ]
    sign_statements(witnesses, START + timedelta(hours=2))
    incident = {
        "reference": "NW-2026-000123",
        "organisation_id": "northwind",
        "force_id": "devon-and-cornwall",
        "category": "robbery",
        "occurred_at": to_iso(START),
        "reported_at": to_iso(START + timedelta(minutes=40)),
        "narrative": "Male filled a rucksack with spirits from aisle 4 and left without paying. " * 6,
        "flags": {"violence": True, "threats": True},
        "goods": [
            {"description": "Whisky 70cl", "quantity": 6, "unit_value": {"amount_minor": 2899, "currency": "GBP"}, "recovered": True},
            {"description": "Gin 70cl", "quantity": 4, "unit_value": {"amount_minor": 2250, "currency": "GBP"}},
        ],
        "persons": [
            {"role": "suspect", "description": {"build": "slim", "height_min_cm": 175, "height_max_cm": 185, "clothing": "grey hoodie"}},
            {"role": "accomplice", "description": {"build": "heavy", "hair": "shaved"}},
        ],
        "vehicles": [{"plate": "WR21 XKD", "plate_normalised": "WR21XKD", "make": "Ford", "model": "Focus", "colour": "silver"}],
        "witnesses": witnesses,
        "prosecution_supported": True,
        "reporter": {"name": "Sam Taylor", "job_title": "Duty manager"},
    }
    exhibits = []
    for n in range(1, n_exhibits + 1):
        at = START + timedelta(hours=1, minutes=n)
        custody = tuple(
            {"at": to_iso(at + timedelta(minutes=10 * k)), "event": e, "actor_role": "Retailer.Investigator", "actor_org": "northwind"}
            for k, e in enumerate(EVENTS)
        )
        exhibits.append(
            Exhibit(
                label=f"ST/{n}",
                kind="cctv" if n % 3 else "suspect_image",
                filename=f"camera {n} aisle {n % 7}.mp4",
                size=250_000_000 + n,
                sha256=f"{n:02x}" * 32,
                received_at=to_iso(at),
                path=f"evidence/ST-{n} camera {n} aisle {n % 7}.mp4",
                derived_from_label="ST/1" if n == n_exhibits else None,
                custody=custody,
            )
        )
    return CaseFacts(
        incident=incident,
        retailer_name="Northwind Retail",
        store={"name": "Plymouth Drake Circus", "address": "1 Charles St", "postcode": "PL1 1EA"},
        force_name="Devon and Cornwall Police",
        zone=zone_of("uk"),
        crime_references=("CR/012345/26",),
        exhibits=tuple(exhibits),
        outcomes=({"code": "1", "label": "Charged / summonsed", "recorded_at": to_iso(START + timedelta(days=9))},),
        org_names={"northwind": "Northwind Retail", "devon-and-cornwall": "Devon and Cornwall Police"},
    )


def timed(renderer: FpdfDocuments, doc: CourtDocument, rounds: int) -> dict[str, float | int]:
    times = []
    cpu = []
    pdf = b""
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        pdf = renderer.render(doc, created_at=START)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    times.sort()
    return {
        # CPU time is the steadier figure on a shared machine: wall time also counts waiting for a core.
        "cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p90_ms": round(times[min(len(times) - 1, int(len(times) * 0.9))] * 1000, 1),
        "best_ms": round(times[0] * 1000, 1),
        "pages": pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page"),
        "bytes": len(pdf),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exhibits", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    case = facts(args.exhibits)
    renderer = FpdfDocuments()
    renderer.render(impact_statement(case))  # warm-up: imports and first font parse
    load_before = os.getloadavg()[0]
    results = {
        f"case summary, {args.exhibits} exhibits": timed(
            renderer, case_summary(case, generated_at="now", generated_by="bench"), args.rounds
        ),
        "MG11 (long statement)": timed(renderer, mg11(case.incident["witnesses"][2], case), args.rounds),
        "Impact Statement for Business": timed(renderer, impact_statement(case), args.rounds),
    }
    load = (load_before, os.getloadavg()[0])
    if args.json:
        print(json.dumps({"results": results, "load": load, "machine": machine()}, indent=2))
        return 0
    print(f"{'document':<34} {'CPU':>9} {'wall':>9} {'p90':>9} {'best':>9} {'pages':>6} {'bytes':>9}")
    for name, r in results.items():
        print(
            f"{name:<34} {r['cpu_median_ms']:>6} ms {r['median_ms']:>6} ms {r['p90_ms']:>6} ms {r['best_ms']:>6} ms {r['pages']:>6} {r['bytes']:>9}"
        )
    print(f"rounds: {args.rounds}; load average (1 min) {load[0]:.1f} -> {load[1]:.1f}")
    print(f"machine: {machine()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
