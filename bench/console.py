"""The police console's pages with a busy force: how fast the D2P inbox and a case render
with 10,000 reports dispatched to one force on a local stamp.

Seeds a fresh local stamp in a temp dir: 10,000 varied reports (bench/intake.py's
generator) at the force's stores through the incident service (threads, so SQLite's
group commit batches them), then each one's dispatch to the force as the D2P pipeline
leaves it once the email went (sent, a third of them acknowledged with a crime
reference), with the force's grant to read it, written in bulk. Then, through the
in-process app (a TestClient signed in as the force's officer through the local sign-in
page, as a browser would), it times GET /inbox (each filter, first and later pages) and
GET /cases/{id}?purpose=... for random cases, and prints p50/p95/p99 and the machine.

    python bench/console.py                    # 10,000 reports, 200 requests per page
    python bench/console.py --incidents 2000 --requests 100
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchkit import machine, machine_facts  # noqa: E402
from intake import incident as realistic_report  # noqa: E402

FORCE = "devon-and-cornwall"
RETAILER = "northwind"
PURPOSE = "Recording the crime reported through D2P"
BATCH = 500


def seed(container, count: int, rng: random.Random) -> list[str]:
    """`count` reports at the retailer's stores in the force's area, each dispatched and sent to the force."""
    from shared.domain.d2p import Dispatch
    from shared.domain.incident_report import IncidentIn
    from shared.domain.tenancy import OrgKind, Principal, Role
    from shared.domain.timestamps import to_iso
    from shared.records import ACCESS_GRANTS, DISPATCHES, INCIDENTS
    from shared.services.repository import dump

    stores = [s.id for s in container.directory.stores_of(RETAILER) if s.force_id == FORCE]
    investigator = Principal(
        user_id="bench-investigator",
        organisation_id=RETAILER,
        organisation_kind=OrgKind.RETAILER,
        roles=frozenset({Role.RETAILER_INVESTIGATOR}),
    )
    now = datetime.now(UTC)
    bodies = [IncidentIn.model_validate(realistic_report(rng, stores[i % len(stores)], now)) for i in range(count)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda b: container.incidents.report.submit(investigator, b, None).incident.body["id"], bodies))
    t1 = time.perf_counter()
    print(f"seeded {count} reports through the incident service in {t1 - t0:.1f} s ({count / (t1 - t0):.0f}/s)")

    for start in range(0, count, BATCH):
        with container.records.unit_of_work() as uow:
            for n, incident_id in enumerate(ids[start : start + BATCH], start=start):
                doc = uow.get(INCIDENTS.name, RETAILER, incident_id)
                # Spread over the last 30 days, newest last, so the inbox has new, overdue and acknowledged reports.
                sent = now - timedelta(minutes=(count - n) * 30 * 24 * 60 / count)
                at = to_iso(sent)
                d = Dispatch.open(doc, force_id=FORCE, rules_version=1, by="bench", auto=False, now=at)
                d.start_sending(to="control-room@devon-cornwall.police.example", delivery=1, now=at)
                d.mark_sent(provider_message_id=f"bench-{n}", email={"subject": doc["reference"]}, now=at)
                if n % 3 == 0 and n < count - 100:
                    d.acknowledge(f"CR/{n:06d}/26", by=f"{FORCE}-officer", now=to_iso(sent + timedelta(hours=2)))
                uow.insert(DISPATCHES.name, RETAILER, dump(d))
                uow.upsert(
                    ACCESS_GRANTS.name,
                    FORCE,
                    {"id": incident_id, "owner_org": RETAILER, "incident_id": incident_id, "reason": "d2p", "dispatch_id": d.id},
                )
    print(f"dispatched and sent {count} to {FORCE} in {time.perf_counter() - t1:.1f} s")
    return ids


def timed(client, paths: list[str]) -> list[float]:
    times = []
    for path in paths:
        start = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:300]}")
    return times


def line(name: str, ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return f"{name:<34} n={len(ms):<4} p50 {q[49]:6.1f} ms   p95 {q[94]:6.1f} ms   p99 {q[98]:6.1f} ms   max {max(ms):6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per page measured")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from functions.http.app import create_app
    from shared.bootstrap import Container
    from shared.services.seed import seed_directory
    from shared.settings import Settings

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-console-") as tmp:
        # The bench's requests come from one person: the write budget is for writes, and these are reads.
        container = Container(Settings(data_dir=Path(tmp)))
        seed_directory(container.records, container.clock, region=container.settings.region)
        ids = seed(container, args.incidents, rng)
        app = create_app(container)
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        form = client.get("/signin").text
        token = form.split('name="csrf_token" value="')[1].split('"')[0]
        signed = client.post(
            "/signin",
            content=f"organisation={FORCE}&role=Police.Officer&next=%2F&csrf_token={token}",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert signed.status_code == 303, signed.text

        # Second pages: the continuation the first page links to.
        second = client.get("/inbox?view=all").text.split('href="/inbox?view=all&amp;page=')[1].split('"')[0].replace("&amp;", "&")
        inbox_paths = [f"/inbox?view={v}" for v in ("all", "new", "unacknowledged", "overdue")]
        warm = 20
        timed(client, inbox_paths * (warm // 4))
        case_paths = [f"/cases/{rng.choice(ids)}?purpose={quote_plus(PURPOSE)}" for _ in range(args.requests + warm)]
        timed(client, case_paths[:warm])

        results = {
            "inbox, all received (first page)": timed(client, ["/inbox?view=all"] * args.requests),
            "inbox, each filter in turn": timed(client, [inbox_paths[i % 4] for i in range(args.requests)]),
            "inbox, second page": timed(client, ["/inbox?view=all&page=" + second] * args.requests),
            "case page (random case, purpose)": timed(client, case_paths[warm:]),
        }
        print(f"\n{args.incidents} reports dispatched to {FORCE}; {args.requests} requests per line, in-process (TestClient)")
        for name, ms in results.items():
            print(line(name, ms))
        print(f"machine: {machine()}; load average at the end {machine_facts()['load_before']}")
        container.close()


if __name__ == "__main__":
    main()
