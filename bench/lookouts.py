"""Lookout fan-out: one lookout issued to 500 stores on the local (SQLite) backend, timed
from the issue call until the outbox relay has moved every recipient's message to the
delivery queue (one outbox entry per store mailbox, and per webhook subscription when
`--webhooks` is given, written in batches with the lookout). The sending that follows
(rendering each email and handing it to the local mail folder) is timed separately.

    .venv/bin/python bench/lookouts.py [--stores 500] [--runs 5] [--webhooks]

Stores are written straight into the directory (as onboarding stores them), spread within
40 km of Plymouth with a mailbox each; the person is a listed northwind profile.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchkit import machine

from functions import jobs  # noqa: E402
from shared.bootstrap import Container  # noqa: E402
from shared.domain.lookouts import LookoutIn  # noqa: E402
from shared.domain.offenders import ListingStatus, PersonOfInterest  # noqa: E402
from shared.domain.tenancy import PLATFORM_TENANT, OrgKind, Principal, Role  # noqa: E402
from shared.domain.timestamps import to_iso  # noqa: E402
from shared.records import ALERT_SUBSCRIPTIONS, OFFENDERS, STORES  # noqa: E402
from shared.services.lookouts import QUEUE  # noqa: E402
from shared.services.offenders.catalogue import to_document  # noqa: E402
from shared.services.seed import seed_directory  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.fakes import FakeClock  # noqa: E402

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
INVESTIGATOR = Principal(
    user_id="northwind-investigator",
    organisation_id="northwind",
    organisation_kind=OrgKind.RETAILER,
    roles=frozenset({Role.RETAILER_INVESTIGATOR}),
)


def build(container: Container, stores: int, webhooks: bool) -> None:
    docs = []
    for i in range(stores):
        # A grid around Plymouth (50.37, -4.14): every store within 40 km of the centre.
        docs.append(
            {
                "id": f"nw-bench-{i:04d}",
                "organisation_id": "northwind",
                "name": f"Northwind Bench {i:04d}",
                "address": f"{i} Bench Street",
                "postcode": "PL1 1AA",
                "force_id": "devon-and-cornwall",
                "contact_email": f"bench-{i:04d}@northwind.example",
                "latitude": 50.37 + ((i % 25) - 12) * 0.01,
                "longitude": -4.14 + ((i // 25) - 10) * 0.015,
            }
        )
    profile = PersonOfInterest(
        id="nw-bench-poi",
        organisation_id="northwind",
        name="Bench Person",
        date_of_birth=date(1990, 1, 1),
        description="Tall, slim, grey hooded top.",
        status=ListingStatus.LISTED,
        listed_at=NOW - timedelta(days=1),
        review_at=NOW + timedelta(days=90),
        expires_at=NOW + timedelta(days=365),
    )
    with container.records.unit_of_work() as uow:
        uow.insert_many(STORES.name, PLATFORM_TENANT, docs)
        uow.insert(OFFENDERS.name, "northwind", to_document(profile))
        if webhooks:
            # One subscription per 10 stores, as a regional security team's receiver would be.
            for start in range(0, stores, 10):
                uow.insert(
                    ALERT_SUBSCRIPTIONS.name,
                    "northwind",
                    {
                        "id": f"bench-sub-{start:04d}",
                        "organisation_id": "northwind",
                        "stores": [d["id"] for d in docs[start : start + 10]],
                        "force_area": None,
                        "email": None,
                        "webhook_url": "https://receiver.northwind.example/vigil",
                        "secret": "whsec_bench",
                        "created_at": to_iso(NOW),
                    },
                )
    container.directory.invalidate()


def run_once(container: Container, n: int) -> tuple[float, float, int, int]:
    body = LookoutIn(
        offender_id="nw-bench-poi",
        reason=f"Bench run {n}: seen taking razor blades; do not approach.",
        expires_at=container.clock.now() + timedelta(days=7),
        near_latitude=50.37,
        near_longitude=-4.14,
        within_km=40,
    )
    start = time.perf_counter()
    issued = container.lookouts.issue.issue(INVESTIGATOR, body, None)
    relayed = container.outbox.relay(container.clock.now(), batch=10_000)
    to_queue = time.perf_counter() - start
    handler = jobs.QUEUE_HANDLERS[QUEUE]

    start = time.perf_counter()
    while messages := container.queue.receive(QUEUE, max_messages=256, visibility_seconds=60):
        for m in messages:
            if m.body["channel"] == "email":
                handler(container, m.body, m.delivery_count)

            container.queue.complete(m)
    sending = time.perf_counter() - start
    assert relayed.counts["failed"] == 0
    return to_queue, sending, len(issued.lookout.store_ids), issued.messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--webhooks", action="store_true", help="also one webhook subscription per 10 stores (queued, not sent)")
    args = parser.parse_args()
    jobs.load_all()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-lookouts-") as tmp:
        container = Container(Settings(data_dir=Path(tmp)), clock=FakeClock(NOW))
        seed_directory(container)
        build(container, args.stores, args.webhooks)
        print(f"machine: {machine()}")
        timings = [run_once(container, n) for n in range(args.runs)]
        container.close()
    to_queue = [t[0] for t in timings]
    sending = [t[1] for t in timings]
    print(f"lookout to {timings[0][2]} stores, {timings[0][3]} outbox messages each run, {args.runs} runs")
    print(f"issue + outbox relay to the queue: median {statistics.median(to_queue):.2f} s, max {max(to_queue):.2f} s (target < 5 s)")
    print(
        f"then rendering and handing every email to the local mail folder: median {statistics.median(sending):.2f} s, max {max(sending):.2f} s"
    )


if __name__ == "__main__":
    main()
