"""When an incident occurred is a correctable fact, never a lever on retention or on
evidence immutability: changes are bounded, recorded, and frozen once a force has the report."""

from __future__ import annotations

from shared.domain.retention import index_id
from tests.d2p.helpers import drain, eligible_report, report

INV = ("northwind", "Retailer.Investigator")


def patch(stamp, incident, **changes):
    return stamp.client.patch(
        f"/api/v1/incidents/{incident['id']}", json=changes, headers={**stamp.auth(*INV), "If-Match": incident["etag"]}
    )


def basis(stamp, incident) -> str:
    with stamp.container.records.unit_of_work() as uow:
        return uow.get("retention_index", "northwind", index_id("incident", incident["id"]))["basis_at"]


def test_back_dating_to_year_one_is_refused_and_changes_nothing(stamp):
    incident = report(stamp)
    r = patch(stamp, incident, occurred_at="0001-01-01T00:00:00+00:00")
    assert r.status_code == 422, r.text
    assert "occurred_at" in r.json()["detail"] and "first reported" in r.json()["detail"]
    after = stamp.client.get(f"/api/v1/incidents/{incident['id']}", headers=stamp.auth(*INV)).json()
    assert after["occurred_at"] == incident["occurred_at"] and after["version"] == 1


def test_dating_after_the_report_is_refused(stamp):
    incident = report(stamp)
    stamp.clock.advance(days=3)
    r = patch(stamp, incident, occurred_at="2026-11-24T09:00:00+00:00")
    assert r.status_code == 422, r.text
    assert "later than when the incident was first reported" in r.json()["detail"]


def test_a_permitted_correction_moves_neither_retention_nor_immutability(stamp):
    incident = report(stamp)
    assert basis(stamp, incident) == incident["reported_at"]
    from tests.d2p.helpers import add_evidence

    item = add_evidence(stamp, incident, "cctv")[0]
    with stamp.container.records.unit_of_work() as uow:
        before = uow.get("evidence", "northwind", item["id"]) or {}
    fresh = stamp.client.get(f"/api/v1/incidents/{incident['id']}", headers=stamp.auth(*INV)).json()
    r = patch(stamp, fresh, occurred_at="2026-11-01T10:00:00+00:00")
    assert r.status_code == 200, r.text
    assert r.json()["occurred_at"] == "2026-11-01T10:00:00.000000+00:00"
    assert basis(stamp, incident) == incident["reported_at"]
    with stamp.container.records.unit_of_work() as uow:
        after = uow.get("evidence", "northwind", item["id"]) or {}
    assert after.get("retention_until") == before.get("retention_until")
    # The change is in the audit entry's fields and, with before and after, in the history.
    history = stamp.client.get(f"/api/v1/incidents/{incident['id']}/history", headers=stamp.auth(*INV)).json()
    last = history["items"][-1] if isinstance(history, dict) else history[-1]
    assert last["note"] == "changed; occurred_at from 2026-11-20T14:32:00.000000+00:00 to 2026-11-01T10:00:00.000000+00:00"
    with stamp.container.records.unit_of_work() as uow:
        entries = [e for e in uow.query("audit", ["northwind"], [], limit=1000).items if e.get("operation") == "incident.change"]
    assert entries and "occurred_at" in entries[-1]["fields"]


def test_evidence_immutability_runs_from_the_report_not_the_occurrence(stamp):
    incident = report(stamp, occurred_at="2026-10-30T10:00:00+00:00")
    from tests.d2p.helpers import add_evidence

    item = add_evidence(stamp, incident, "cctv")[0]
    with stamp.container.records.unit_of_work() as uow:
        doc = uow.get("evidence", "northwind", item["id"]) or {}
    until = doc.get("retention_until") or item.get("retention_until")
    assert until is not None and until.startswith("20") and until[5:10] == incident["reported_at"][5:10]


def test_a_dispatched_incident_refuses_a_time_change(stamp):
    incident = eligible_report(stamp)
    r = stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth(*INV))
    assert r.status_code == 202, r.text
    drain(stamp)
    fresh = stamp.client.get(f"/api/v1/incidents/{incident['id']}", headers=stamp.auth(*INV)).json()
    r = patch(stamp, fresh, occurred_at="2026-11-20T13:00:00+00:00")
    assert r.status_code == 409, r.text
    assert "sent to force" in r.json()["detail"]
    # Other fields stay correctable.
    assert patch(stamp, fresh, narrative="Suspect identified on CCTV.").status_code == 200
