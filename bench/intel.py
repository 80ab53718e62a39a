"""Intelligence benchmark: a force area's repeat-offending ranking and a two-hop network.

    .venv/bin/python bench/intel.py                                   # 1,000,000 incidents, 100,000 persons
    .venv/bin/python bench/intel.py --incidents 100000 --persons 10000  # quicker

Setup (not measured), on the local backend in a temp data dir: the demo directory, then
`--persons` persons of interest of northwind in gangs of five, and `--incidents` incidents
in devon-and-cornwall's area naming one to three members of a gang, half with one of the
gang's two vehicles, over two years at 200 stores, written straight into the record
store with the read model the incident events would have kept (`offender_standing`,
computed by the same code). 3% of listings are contested and 1% are minors, so the
ranking skips persons as it does in life.

Measured, in process through the services (no HTTP): `intel.ranking.rank` for
devon-and-cornwall's analyst, first page and following pages of 50 (the audit journal
write included); `intel.network.of` two hops for random persons. Prints p50/p95/max and
the machine.
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
from shared.domain.offenders import ListingStatus, PersonOfInterest  # noqa: E402
from shared.domain.tenancy import OrgKind, Principal, Role  # noqa: E402
from shared.domain.timestamps import to_iso  # noqa: E402
from shared.records import INCIDENTS, OFFENDER_STANDING, OFFENDERS  # noqa: E402
from shared.services.intel.standing import fact_doc, standing_docs  # noqa: E402
from shared.services.offenders.catalogue import to_document  # noqa: E402
from shared.services.seed import seed_directory  # noqa: E402
from shared.settings import Settings  # noqa: E402

ORG, FORCE = "northwind", "devon-and-cornwall"
ANALYST = Principal(
    user_id="bench-analyst", organisation_id=FORCE, organisation_kind=OrgKind.POLICE_FORCE, roles=frozenset({Role.POLICE_ANALYST})
)
PURPOSE = "Benchmark: prolific offender review"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def generate(c: Container, persons: int, incidents: int, rng: random.Random) -> list[str]:
    now = c.clock.now()
    pids = [f"off-b{i:08d}" for i in range(persons)]
    gangs = max(1, persons // 5)
    stores = [f"nw-bench-{i:03d}" for i in range(200)]
    facts: dict[str, list[dict]] = {p: [] for p in pids}
    batch: list[dict] = []
    t0 = time.perf_counter()

    def flush() -> None:
        with c.records.unit_of_work() as uow:
            uow.insert_many(INCIDENTS.name, ORG, batch)
        batch.clear()

    for i in range(incidents):
        g = rng.randrange(gangs)
        members = rng.sample(pids[g * 5 : g * 5 + 5], k=rng.choice((1, 1, 2, 3)))
        plates = [f"BG{g:06d}{rng.randrange(2)}"] if rng.random() < 0.5 else []
        at = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        violent = rng.random() < 0.15
        doc = {
            "id": f"inc-b{i:09d}",
            "reference": f"NW-B{i:07d}",
            "organisation_id": ORG,
            "force_id": FORCE,
            "store_id": rng.choice(stores),
            "category": "robbery" if violent and rng.random() < 0.3 else "shop_theft",
            "occurred_at": to_iso(at),
            "created_at": to_iso(at),
            "flags": {"violence": violent, "weapon": violent and rng.random() < 0.1},
            "total_value": {"amount_minor": rng.randrange(500, 60_000), "currency": "GBP"},
            "persons": [{"role": "suspect", "offender_id": m} for m in members],
            "offender_ids": members,
            "vehicles": [{"plate": p} for p in plates],
            "plates": plates,
        }
        batch.append(doc)
        fd = fact_doc(doc)
        for m in members:
            facts[m].append(fd)
        if len(batch) >= 20_000:
            flush()
            print(f"  incidents {i + 1:,} ({time.perf_counter() - t0:.0f} s)", flush=True)
    if batch:
        flush()
    standing: list[dict] = []
    profiles: list[dict] = []
    for n, pid in enumerate(pids):
        if facts[pid]:
            standing.extend(standing_docs(ORG, pid, facts[pid]))
        profile = PersonOfInterest(
            id=pid,
            organisation_id=ORG,
            name=f"Person {n}",
            date_of_birth=date(2012, 1, 1) if n % 100 == 7 else date(1985, 1, 1),
            description="Bench person",
            status=ListingStatus.CONTESTED if n % 100 in (3, 13, 23) else ListingStatus.LISTED,
            listed_at=now,
            review_at=now + timedelta(days=90),
            expires_at=now + timedelta(days=365),
        )
        profiles.append(to_document(profile))
    for coll, docs in ((OFFENDER_STANDING.name, standing), (OFFENDERS.name, profiles)):
        for start in range(0, len(docs), 20_000):
            with c.records.unit_of_work() as uow:
                uow.insert_many(coll, ORG, docs[start : start + 20_000])
    print(
        f"  generated {incidents:,} incidents, {persons:,} persons, {len(standing):,} read-model documents in {time.perf_counter() - t0:.0f} s"
    )
    return pids


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def report(name: str, ms: list[float]) -> None:
    print(f"{name}: n={len(ms)} p50 {statistics.median(ms):.1f} ms, p95 {pct(ms, 95):.1f} ms, max {max(ms):.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--page", type=int, default=50)
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args()
    print("machine:", machine())
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-intel-") as tmp:
        c = Container(Settings(data_dir=Path(tmp)))
        seed_directory(c)
        pids = generate(c, args.persons, args.incidents, rng)
        c.intel.ranking.rank(ANALYST, limit=args.page, continuation=None, purpose=PURPOSE)  # warm caches
        report(
            f"ranking, first page of {args.page}",
            timed(lambda: c.intel.ranking.rank(ANALYST, limit=args.page, continuation=None, purpose=PURPOSE), args.runs),
        )
        first = c.intel.ranking.rank(ANALYST, limit=args.page, continuation=None, purpose=PURPOSE)
        skipped = args.page - len(first.items)
        deep = first.continuation
        for _ in range(20):
            deep = c.intel.ranking.rank(ANALYST, limit=args.page, continuation=deep, purpose=PURPOSE).continuation
        report(
            f"ranking, page 22 of {args.page}",
            timed(lambda: c.intel.ranking.rank(ANALYST, limit=args.page, continuation=deep, purpose=PURPOSE), args.runs),
        )
        top = first.items[0]
        print(f"  top score {top['score']} over {top['incident_count']} incidents; {skipped} of the first page short (none expected)")
        listed = [p for n, p in enumerate(pids) if n % 100 not in (3, 7, 13, 23)]
        sample = [rng.choice(listed) for _ in range(args.runs)]
        sizes: list[tuple[int, int, bool]] = []

        def network() -> None:
            g = c.intel.network.of(ANALYST, sample[len(sizes)], purpose=PURPOSE)
            sizes.append((len(g["nodes"]), len(g["edges"]), g["truncated"]))

        report("network, two hops", timed(network, args.runs))
        print(
            f"  nodes p50 {statistics.median(s[0] for s in sizes):.0f}, edges p50 {statistics.median(s[1] for s in sizes):.0f}, "
            f"truncated {sum(s[2] for s in sizes)} of {len(sizes)}"
        )
        print(f"finished {datetime.now(UTC).isoformat(timespec='seconds')}")
        c.close()


if __name__ == "__main__":
    main()
