"""Retention end to end on a seeded stamp: the old demo incident goes on the next
retention run leaving a tombstone, a held one stays, and a subject request for the
seeded person reaches northwind as a task with a due date."""

from __future__ import annotations

from functions import jobs
from shared.services.seed import seed_demo_incidents
from tests.retention.helpers import subject_request_body

API = "/api/v1"


def test_old_incident_goes_held_one_stays_and_subject_request_reaches_the_retailer(stamp):
    assert seed_demo_incidents(stamp.container) == 2
    assert seed_demo_incidents(stamp.container) == 0  # idempotent
    inv = stamp.auth("northwind", "Retailer.Investigator")
    items = stamp.client.get(f"{API}/incidents", headers=inv).json()["items"]
    old = next(i for i in items if i["occurred_at"].startswith("2019"))
    # A second old incident, held: it stays.
    body = {**stamp.example("IncidentIn"), "occurred_at": "2019-05-01T10:00:00+00:00"}
    held = stamp.client.post(f"{API}/incidents", json=body, headers=inv).json()
    assert stamp.client.post(f"{API}/incidents/{held['id']}/legal-hold", json=stamp.example("LegalHoldIn"), headers=inv).status_code == 201
    jobs.load_all()
    counts = jobs.run_job(stamp.container, "retention", stamp.clock.now()).counts
    assert counts["incidents_deleted"] == 1
    assert stamp.client.get(f"{API}/incidents/{old['id']}", headers=inv).status_code == 404
    assert stamp.client.get(f"{API}/retention/tombstones/{old['id']}", headers=inv).status_code == 200
    assert stamp.client.get(f"{API}/incidents/{held['id']}", headers=inv).status_code == 200
    r = stamp.client.post(
        f"{API}/subject-requests", json=subject_request_body(stamp), headers=stamp.auth("vigil-platform", "Platform.Operator")
    )
    assert r.status_code == 201
    assert "northwind" in [t["organisation_id"] for t in r.json()["tasks"]] and r.json()["due_at"]
    tasks = stamp.client.get(f"{API}/subject-tasks", headers=stamp.auth("northwind", "Retailer.Admin")).json()["items"]
    assert tasks[0]["id"] == r.json()["id"] and tasks[0]["due_at"] == r.json()["due_at"]
