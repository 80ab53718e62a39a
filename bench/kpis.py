"""The force's evaluation table: how long it takes for a large force over a year.

    .venv/bin/python bench/kpis.py                                  # 1,000,000 incidents, 100,000 dispatches
    .venv/bin/python bench/kpis.py --incidents 100000 --dispatches 10000   # quicker

1. Setup (timed, not the measure): a fresh local store with the seeded directory;
   `--incidents` incidents of devon-and-cornwall's area over 2026 (northwind and contoso
   stores), `--dispatches` of them sent to the force through D2P (80% acknowledged, 2 to
   12 hours after reaching the inbox; 70% with an outcome, some recorded twice), and two
   channels' figures (online and 101) for each month as the force would upload them.
2. D2P's day counters rebuilt from the dispatches and outcomes (`counters.rebuild`: the
   backfill a force's existing data needs once; timed).
3. The measure: `kpis.evaluation` for the whole year, `--repeat` times: D2P against each
   channel with every rate, from an index count and the day counters. p50 / p95 / max.
   `--legacy` also times the whole `GET /kpis/d2p` service call (`--repeat` times), whose
   older part (statuses, times between steps, outcome rates) reads the same day counters.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchkit import machine  # noqa: E402

from shared.bootstrap import Container  # noqa: E402
from shared.domain.evaluation import ChannelFiguresIn  # noqa: E402
from shared.domain.tenancy import OrgKind, Principal, Role  # noqa: E402
from shared.domain.timestamps import to_iso  # noqa: E402
from shared.records import DISPATCHES, INCIDENTS, OUTCOMES  # noqa: E402
from shared.services.seed import seed_directory  # noqa: E402
from shared.settings import Settings  # noqa: E402

FORCE = "devon-and-cornwall"
STORES = (("northwind", "nw-plymouth"), ("northwind", "nw-exeter"))
YEAR = datetime(2026, 1, 1, tzinfo=UTC)
CHUNK = 20_000


def write_incidents(c: Container, n: int, rng: random.Random) -> None:
    for start in range(0, n, CHUNK):
        by_owner: dict[str, list[dict]] = {}
        for i in range(start, min(n, start + CHUNK)):
            owner, store = STORES[i % len(STORES)]
            at = to_iso(YEAR + timedelta(seconds=rng.randrange(365 * 86400)))
            by_owner.setdefault(owner, []).append(
                {"id": f"inc{i:07d}", "organisation_id": owner, "store_id": store, "force_id": FORCE, "category": "shop_theft",
                 "occurred_at": at, "reported_at": at, "created_at": at, "reference": f"NW-{i:07d}", "plates": [], "offender_ids": []}
            )  # fmt: skip
        with c.records.unit_of_work() as uow:
            for owner, docs in by_owner.items():
                uow.insert_many(INCIDENTS.name, owner, docs)


def write_dispatches(c: Container, n: int, incidents: int, rng: random.Random) -> None:
    codes = ["1", "1", "1A", "8", "14", "16", "18", "18", "22"]
    for start in range(0, n, CHUNK):
        dispatches: dict[str, list[dict]] = {}
        outcomes: dict[str, list[dict]] = {}
        for i in range(start, min(n, start + CHUNK)):
            k = i * (incidents // n)
            owner, store = STORES[k % len(STORES)]
            sent = YEAR + timedelta(seconds=rng.randrange(365 * 86400))
            acked = sent + timedelta(minutes=rng.randrange(120, 720)) if rng.random() < 0.8 else None
            incident = f"inc{k:07d}"
            dispatches.setdefault(owner, []).append(
                {"id": f"{incident}.{FORCE}", "incident_id": incident, "owner_org": owner, "force_id": FORCE, "status":
                 "acknowledged" if acked else "sent", "created_at": to_iso(sent), "sent_at": to_iso(sent),
                 "acknowledged_at": to_iso(acked) if acked else None, "crime_reference": f"CR/{i}/26" if acked else None,
                 "occurred_at": to_iso(sent), "reported_at": to_iso(sent),
                 "email_body_kept": False}
            )  # fmt: skip
            if acked and rng.random() < 0.875:
                for j in range(1 + (rng.random() < 0.1)):
                    at = acked + timedelta(days=3 + 10 * j)
                    outcomes.setdefault(owner, []).append(
                        {"id": f"o{i}-{j}", "incident_id": incident, "force_id": FORCE, "code": rng.choice(codes), "label": "",
                         "recorded_at": to_iso(at), "recorded_by": "bench", "via_d2p": True, "dispatch_id": f"{incident}.{FORCE}"}
                    )  # fmt: skip
        with c.records.unit_of_work() as uow:
            for owner, docs in dispatches.items():
                uow.insert_many(DISPATCHES.name, owner, docs)
            for owner, docs in outcomes.items():
                uow.insert_many(OUTCOMES.name, owner, docs)


def upload_channels(c: Container, admin: Principal) -> None:
    for month in range(1, 13):
        first = date(2026, month, 1)
        last = (date(2026 + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
        for channel, reports in (("online", 4000), ("101", 2500)):
            charged = reports // 5
            c.d2p.channel_figures.upload(
                admin,
                FORCE,
                ChannelFiguresIn.model_validate(
                    {"channel": channel, "from": first.isoformat(), "to": last.isoformat(), "reports": reports, "charged": charged,
                     "outcomes": {"1": charged, "14": reports // 6, "16": reports // 12}, "hours_to_record": {"mean": 53, "median": 41}}
                ),
            )  # fmt: skip


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--dispatches", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument(
        "--legacy", action="store_true", help="also time the whole GET /kpis/d2p service call"
    )  # name kept for old command lines
    args = parser.parse_args()
    if not 0 < args.dispatches <= args.incidents:
        parser.error("--dispatches is between 1 and --incidents (one dispatch per incident)")
    rng = random.Random(19)
    print("machine:", machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-kpis-") as tmp:
        c = Container(Settings(data_dir=Path(tmp)))
        seed_directory(c)
        admin = Principal(
            user_id="bench-admin", organisation_id=FORCE, organisation_kind=OrgKind.POLICE_FORCE, roles=frozenset({Role.POLICE_ADMIN})
        )
        t0 = time.perf_counter()
        write_incidents(c, args.incidents, rng)
        write_dispatches(c, args.dispatches, args.incidents, rng)
        upload_channels(c, admin)
        print(
            f"setup: {args.incidents:,} incidents, {args.dispatches:,} dispatches written in {time.perf_counter() - t0:.1f} s", flush=True
        )
        t0 = time.perf_counter()
        rebuilt = c.d2p.counters.rebuild(FORCE, date(2026, 1, 1), date(2026, 12, 31))
        print(
            f"counters rebuilt (the one-off backfill): {rebuilt['days']} days, {rebuilt['reports']:,} reports in {time.perf_counter() - t0:.1f} s"
        )
        timings = []
        table = {}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            table = c.d2p.kpis.evaluation(admin, FORCE, date(2026, 1, 1), date(2026, 12, 31))
            timings.append((time.perf_counter() - t0) * 1000)
        print(
            f"evaluation table, a year ({len(table['channels'])} channels x 12 months): p50 {statistics.median(timings):.1f} ms, "
            f"p95 {pct(timings, 95):.1f} ms, max {max(timings):.1f} ms over {args.repeat} runs"
        )
        d2p = table["d2p"]
        print(
            f"  D2P: {d2p['reports']:,} reports, {d2p['charged']:,} charged, {d2p['hours_to_record']['n']:,} recorded, mean {d2p['hours_to_record']['mean_hours']} h"
        )
        if args.legacy:
            route = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                c.d2p.kpis.report(admin, FORCE, YEAR, YEAR.replace(year=2027))
                route.append((time.perf_counter() - t0) * 1000)
            print(
                f"whole GET /kpis/d2p service call, a year: p50 {statistics.median(route):.1f} ms, "
                f"p95 {pct(route, 95):.1f} ms, max {max(route):.1f} ms over {args.repeat} runs"
            )
        c.close()


if __name__ == "__main__":
    main()
