"""Evidence reads that only read and audit answer while a write unit holds the SQLite store."""

from __future__ import annotations

import threading
import time

from tests.evidence.conftest import INVESTIGATOR, headers, new_incident, upload


def test_evidence_list_and_custody_answer_while_a_write_is_open_and_are_audited(stamp):
    incident_id = new_incident(stamp)
    evidence_id = upload(stamp, incident_id).json()["id"]
    inv = headers(stamp, INVESTIGATOR)
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
        listed = stamp.client.get(f"/api/v1/incidents/{incident_id}/evidence", headers=inv)
        chain = stamp.client.get(f"/api/v1/evidence/{evidence_id}/custody", headers=inv)
        elapsed = time.monotonic() - started
        writer_still_open = writer.is_alive()
    finally:
        release.set()
        writer.join(20)
    assert (listed.status_code, chain.status_code) == (200, 200)
    assert [i["id"] for i in listed.json()["items"]] == [evidence_id] and chain.json()["verified"] is True
    assert writer_still_open and elapsed < 10
    admin = stamp.auth("northwind", "Retailer.Admin")
    listing = stamp.client.get("/api/v1/audit", params={"entity": f"incident/{incident_id}"}, headers=admin).json()
    custody = stamp.client.get("/api/v1/audit", params={"entity": f"evidence/{evidence_id}"}, headers=admin).json()
    listed_entry = next(e for e in listing["items"] if e["operation"] == "evidence.list")
    assert listed_entry["action"] == "consultation" and listed_entry["subjects"] == [evidence_id]
    assert [(e["operation"], e["action"]) for e in custody["items"] if e["operation"] == "evidence.custody"] == [
        ("evidence.custody", "consultation")
    ]
    assert listing["chain"]["verified"] is True and custody["chain"]["verified"] is True
