"""Retention reads (schedules, holds, tombstones, statistics) take no write lock: they
answer while a write unit holds the SQLite store, and leave the audit chain verifying."""

from __future__ import annotations

import threading
import time

from tests.retention.test_http import API, report


def test_retention_reads_answer_while_a_write_is_open(stamp):
    incident = report(stamp)
    ops = stamp.auth("vigil-platform", "Platform.Operator")
    admin = stamp.auth("northwind", "Retailer.Admin")
    inv = stamp.auth("northwind", "Retailer.Investigator")
    holding, release = threading.Event(), threading.Event()

    def long_write():
        with stamp.container.records.unit_of_work() as uow:
            uow.next_sequence("northwind", "held-by-test")
            holding.set()
            release.wait(20)

    writer = threading.Thread(target=long_write)
    writer.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        answers = [
            stamp.client.get(f"{API}/retention/schedules/region", headers=ops),
            stamp.client.get(f"{API}/retention/schedules/region/versions", headers=ops),
            stamp.client.get(f"{API}/retention/schedules/organisation", headers=admin),
            stamp.client.get(f"{API}/retention/schedules/organisation/versions", headers=admin),
            stamp.client.get(f"{API}/incidents/{incident['id']}/legal-hold", headers=inv),
            stamp.client.get(f"{API}/retention/tombstones", headers=inv),
            stamp.client.get(f"{API}/retention/statistics", params={"from": "2026-01", "to": "2026-12"}, headers=inv),
            stamp.client.get(
                f"{API}/retention/statistics", params={"from": "2026-01", "to": "2026-12", "organisation": "northwind"}, headers=ops
            ),
        ]
        missing = stamp.client.get(f"{API}/retention/tombstones/{incident['id']}", headers=inv)
        elapsed = time.monotonic() - started
        writer_still_open = writer.is_alive()
    finally:
        release.set()
        writer.join(20)
    assert [a.status_code for a in answers] == [200] * len(answers), [a.text for a in answers if a.status_code != 200]
    assert missing.status_code == 404
    assert writer_still_open and elapsed < 10
    assert answers[4].json()["held"] is False and sum(r["kept"] for r in answers[6].json()["items"]) == 1
    assert stamp.client.get("/api/v1/audit", headers=admin).json()["chain"]["verified"] is True
