"""Retention and rights over HTTP, as an operator, a retailer and a force would use them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions import jobs
from shared.records import ACCESS_GRANTS
from tests.retention.helpers import subject_request_body

API = "/api/v1"
OCCURRED = "2026-11-20T14:32:00+00:00"
# Retention runs from when an incident was first reported (the fake clock's start, when
# these tests report), not from when it occurred: an edit cannot move it.
DUE = datetime(2032, 11, 23, 12, 0, tzinfo=UTC)


def report(stamp, **overrides) -> dict:
    body = {
        **stamp.example("IncidentIn"),
        "persons": [{"role": "suspect", "name": "Jamie Doyle", "date_of_birth": "1990-04-12"}],
        **overrides,
    }
    r = stamp.client.post(f"{API}/incidents", json=body, headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert r.status_code == 201, r.text
    return r.json()


def run_retention(stamp, as_of: datetime) -> dict:
    jobs.load_all()
    stamp.clock.current = as_of
    return jobs.run_job(stamp.container, "retention", as_of).counts


def upload(stamp, incident_id: str) -> dict:
    h = {**stamp.auth("northwind", "Retailer.Investigator"), "Content-Type": "image/jpeg", "X-Filename": "suspect.jpg"}
    r = stamp.client.post(f"{API}/incidents/{incident_id}/evidence", content=b"\xff\xd8\xff\xe0 not really a jpeg but bytes", headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def test_incident_and_its_evidence_go_at_the_due_date_leaving_a_tombstone(stamp):
    incident = report(stamp)
    item = upload(stamp, incident["id"])
    inv = stamp.auth("northwind", "Retailer.Investigator")
    assert run_retention(stamp, DUE - timedelta(days=1))["incidents_deleted"] == 0
    assert stamp.client.get(f"{API}/incidents/{incident['id']}", headers=inv).status_code == 200
    # The evidence was made immutable on the incident's own clock (reported + the evidence
    # period), so at the due date it can go with its incident.
    assert item["retention_until"] <= (DUE + timedelta(days=1)).isoformat()
    counts = run_retention(stamp, DUE + timedelta(days=1))
    assert counts["incidents_deleted"] == 1 and counts.get("kept_protected", 0) == 0
    assert stamp.client.get(f"{API}/incidents/{incident['id']}", headers=inv).status_code == 404
    assert stamp.client.get(f"{API}/evidence/{item['id']}/content", headers=inv).status_code == 404
    tomb = stamp.client.get(f"{API}/retention/tombstones/{incident['id']}", headers=inv)
    assert tomb.status_code == 200 and tomb.json()["type"] == "incident"
    assert "Jamie" not in tomb.text
    # Another organisation cannot learn that northwind deleted something.
    assert (
        stamp.client.get(f"{API}/retention/tombstones/{incident['id']}", headers=stamp.auth("contoso", "Retailer.Admin")).status_code == 404
    )


def test_legal_hold_keeps_incident_and_evidence_until_released(stamp):
    incident = report(stamp)
    item = upload(stamp, incident["id"])
    inv = stamp.auth("northwind", "Retailer.Investigator")
    url = f"{API}/incidents/{incident['id']}/legal-hold"
    r = stamp.client.post(url, json=stamp.example("LegalHoldIn"), headers=inv)
    assert r.status_code == 201 and r.json()["held"] is True
    assert stamp.client.post(url, json=stamp.example("LegalHoldIn"), headers=inv).status_code == 409
    assert stamp.client.post(url, json={"reason": "too short"[:5]}, headers=inv).status_code == 422
    assert run_retention(stamp, DUE + timedelta(days=10))["incidents_deleted"] == 0  # past the evidence's immutability too
    assert stamp.client.get(f"{API}/incidents/{incident['id']}", headers=inv).status_code == 200
    assert stamp.client.get(f"{API}/evidence/{item['id']}/content", headers=inv).status_code == 200
    released = stamp.client.delete(url, params={"reason": "Trial concluded; no appeal lodged"}, headers=inv)
    assert released.status_code == 200 and released.json()["held"] is False
    assert run_retention(stamp, DUE + timedelta(days=11))["incidents_deleted"] == 1
    audit = stamp.client.get(f"{API}/audit", params={"entity": f"incident/{incident['id']}", "limit": 100}, headers=inv).json()["items"]
    assert {"legal_hold.place", "legal_hold.release", "retention.delete"} <= {e["operation"] for e in audit}


def test_only_a_force_the_incident_was_dispatched_to_may_hold(stamp):
    incident = report(stamp)
    url = f"{API}/incidents/{incident['id']}/legal-hold"
    body = stamp.example("LegalHoldIn")
    # Shared with devon-and-cornwall, but not dispatched: refused; another force: 404.
    assert stamp.client.post(url, json=body, headers=stamp.auth("devon-and-cornwall", "Police.Officer")).status_code == 403
    assert stamp.client.post(url, json=body, headers=stamp.auth("avon-and-somerset", "Police.Officer")).status_code == 404
    with stamp.container.records.unit_of_work() as uow:
        uow.insert(
            ACCESS_GRANTS.name,
            "devon-and-cornwall",
            {"id": incident["id"], "owner_org": "northwind", "incident_id": incident["id"], "reason": "d2p"},
        )
    assert stamp.client.post(url, json=body, headers=stamp.auth("devon-and-cornwall", "Police.Officer")).status_code == 201


def test_schedules_region_and_organisation_within_bounds(stamp):
    ops = stamp.auth("vigil-platform", "Platform.Operator", user="ops-alice")
    second = stamp.auth("vigil-platform", "Platform.Operator", user="ops-bob")
    admin = stamp.auth("northwind", "Retailer.Admin")
    region = stamp.client.get(f"{API}/retention/schedules/region", headers=ops)
    assert region.status_code == 200 and region.json()["rules"]["incident"]["months"] == 72
    body = stamp.example("RegionScheduleIn")
    proposed = stamp.client.post(f"{API}/retention/schedules/region/proposals", json=body, headers=ops)
    assert proposed.status_code == 201 and proposed.json()["status"] == "proposed", proposed.text
    approval = f"{API}/retention/schedules/region/proposals/{proposed.json()['number']}/approval"
    assert stamp.client.post(approval, headers=ops).status_code == 403  # not their own
    approved = stamp.client.post(approval, headers=second)
    assert approved.status_code == 200 and approved.json()["version"] == 1
    assert stamp.client.get(f"{API}/retention/schedules/region", headers=ops).json()["version"] == 0  # not yet
    stamp.clock.advance(days=7)
    assert stamp.client.get(f"{API}/retention/schedules/region", headers=ops).json()["version"] == 1
    mine = stamp.client.get(f"{API}/retention/schedules/organisation", headers=admin)
    too_short = {"overrides": {"incident": 6}, "reason": "We want to keep less"}
    bad = stamp.client.put(f"{API}/retention/schedules/organisation", json=too_short, headers={**admin, "If-Match": mine.headers["etag"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "overrides.incident"
    ok = stamp.client.put(
        f"{API}/retention/schedules/organisation",
        json=stamp.example("OrganisationScheduleIn"),
        headers={**admin, "If-Match": mine.headers["etag"]},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["effective"]["incident"]["months"] == 36 and ok.json()["schedule_version"] == "uk:1/northwind:1"
    assert ok.json()["effective"]["audit"]["months"] >= 120
    versions = stamp.client.get(f"{API}/retention/schedules/organisation/versions", headers=admin).json()
    assert [v["version"] for v in versions] == [1]
    # A retailer cannot change the region's schedule.
    assert stamp.client.post(f"{API}/retention/schedules/region/proposals", json=body, headers=admin).status_code == 403


def test_stale_etag_on_the_organisation_schedule_is_412_before_bounds_are_checked(stamp):
    """A stale copy is 412 (read again) even when the periods sent are also out of bounds."""
    admin = stamp.auth("northwind", "Retailer.Admin")
    url = f"{API}/retention/schedules/organisation"
    first = stamp.client.get(url, headers=admin).headers["etag"]
    ok = stamp.client.put(url, json=stamp.example("OrganisationScheduleIn"), headers={**admin, "If-Match": first})
    assert ok.status_code == 200, ok.text
    too_short = {"overrides": {"incident": 6}, "reason": "We want to keep less"}
    current = stamp.client.get(url, headers=admin).headers["etag"]
    assert stamp.client.put(url, json=too_short, headers={**admin, "If-Match": current}).status_code == 422
    stale = stamp.client.put(url, json=too_short, headers={**admin, "If-Match": first})
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    assert [v["version"] for v in stamp.client.get(f"{url}/versions", headers=admin).json()] == [1]


def test_statistics_survive_deletion(stamp):
    report(stamp)
    report(stamp, store_id="nw-exeter", category="robbery")
    inv = stamp.auth("northwind", "Retailer.Investigator")
    params = {"from": "2026-01", "to": "2026-12"}
    before = stamp.client.get(f"{API}/retention/statistics", params=params, headers=inv).json()["items"]
    run_retention(stamp, DUE)
    after = stamp.client.get(f"{API}/retention/statistics", params=params, headers=inv).json()["items"]
    assert [(r["store_id"], r["category"], r["total"]) for r in before] == [(r["store_id"], r["category"], r["total"]) for r in after]
    assert all(r["deleted"] == 1 and r["kept"] == 0 for r in after)
    assert stamp.client.get(f"{API}/retention/statistics", params={"from": "2020-01", "to": "2026-12"}, headers=inv).status_code == 422


def file_request(stamp, **overrides) -> dict:
    body = subject_request_body(stamp, **overrides)
    r = stamp.client.post(f"{API}/subject-requests", json=body, headers=stamp.auth("vigil-platform", "Platform.Operator"))
    assert r.status_code == 201, r.text
    return r.json()


def test_access_request_reaches_northwind_with_a_due_date_and_exports(stamp):
    incident = report(stamp)
    report(stamp, persons=[{"role": "suspect", "name": "Jamie Doyle", "date_of_birth": "1975-01-01"}])  # another Jamie Doyle
    request = file_request(stamp, received_at="2026-11-23T09:00:00+00:00")
    assert request["due_at"].startswith("2026-12-23T09:00")
    assert "northwind" in [t["organisation_id"] for t in request["tasks"]] and "matches" not in str(request)
    admin = stamp.auth("northwind", "Retailer.Admin")
    tasks = stamp.client.get(f"{API}/subject-tasks", headers=admin).json()["items"]
    assert tasks[0]["id"] == request["id"] and tasks[0]["due_at"] == request["due_at"]
    # contoso is asked too (so the operator cannot tell who holds the person) and finds nothing.
    assert [
        t["matches"] for t in stamp.client.get(f"{API}/subject-tasks", headers=stamp.auth("contoso", "Retailer.Admin")).json()["items"]
    ] == [0]
    task = stamp.client.get(f"{API}/subject-tasks/{request['id']}", headers=admin).json()
    assert task["matches"][0]["incident_id"] == incident["id"]
    assert stamp.client.get(f"{API}/subject-tasks/{request['id']}/export", headers=admin).status_code == 409
    answered = stamp.client.post(f"{API}/subject-tasks/{request['id']}/answer", json={"decision": "approve_export"}, headers=admin)
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    bundle = stamp.client.get(f"{API}/subject-tasks/{request['id']}/export", headers=admin)
    assert bundle.status_code == 200
    about = bundle.json()["incidents"][0]
    assert about["about_you"][0]["name"] == "Jamie Doyle" and "Sam Taylor" not in bundle.text  # the witness is a third party
    status = stamp.client.get(f"{API}/subject-requests/{request['id']}", headers=stamp.auth("vigil-platform", "Platform.Operator")).json()
    assert [(t["organisation_id"], t["status"]) for t in status["tasks"]] == [("contoso", "open"), ("northwind", "answered")]
    assert "narrative" not in str(status)
    assert stamp.client.post(f"{API}/subject-tasks/{request['id']}/answer", json={"decision": "erase"}, headers=admin).status_code == 422


def test_deadline_extension_only_in_the_first_month_and_two_months_at_most(stamp):
    report(stamp)
    ops = stamp.auth("vigil-platform", "Platform.Operator")
    request = file_request(stamp, received_at="2026-11-23T09:00:00+00:00")
    url = f"{API}/subject-requests/{request['id']}/extension"
    one = stamp.client.post(url, json={"months": 1, "reason": "Complex: many incidents across stores"}, headers=ops)
    assert one.status_code == 200 and one.json()["due_at"].startswith("2027-01-23")
    assert stamp.client.post(url, json={"months": 2, "reason": "Complex: many incidents across stores"}, headers=ops).status_code == 409
    stamp.clock.current = datetime(2026, 12, 23, 9, 0, 1, tzinfo=UTC)  # a second after the first month
    late = stamp.client.post(url, json={"months": 1, "reason": "Complex: many incidents across stores"}, headers=ops)
    assert late.status_code == 409 and "first month" in late.json()["detail"]
    task = stamp.client.get(f"{API}/subject-tasks/{request['id']}", headers=stamp.auth("northwind", "Retailer.Admin")).json()
    assert task["due_at"].startswith("2027-01-23") and task["extension_reason"].startswith("Complex")
    stamp.clock.current = datetime(2027, 1, 23, 9, 0, 1, tzinfo=UTC)
    assert stamp.client.get(f"{API}/subject-requests/{request['id']}", headers=ops).json()["overdue"] is True


def test_erasure_deletes_or_is_refused_with_a_lawful_reason(stamp):
    first = report(stamp)
    second = report(stamp, occurred_at="2026-11-21T10:00:00+00:00")
    admin = stamp.auth("northwind", "Retailer.Admin")
    inv = stamp.auth("northwind", "Retailer.Investigator")
    request = file_request(stamp, kind="erasure")
    url = f"{API}/subject-tasks/{request['id']}/answer"
    assert stamp.client.post(url, json={"decision": "refuse", "incident_ids": [second["id"]]}, headers=admin).status_code == 422
    stamp.client.post(f"{API}/incidents/{second['id']}/legal-hold", json=stamp.example("LegalHoldIn"), headers=inv)
    held = stamp.client.post(url, json={"decision": "erase"}, headers=admin)
    assert held.status_code == 409 and second["id"] in held.text
    refused = stamp.client.post(
        url,
        json={
            "decision": "refuse",
            "incident_ids": [second["id"]],
            "reason": "Needed for a pending prosecution",
            "lawful_basis": "UK GDPR Art. 17(3)(e)",
        },
        headers=admin,
    )
    assert refused.status_code == 200 and refused.json()["status"] == "open"
    erased = stamp.client.post(url, json={"decision": "erase"}, headers=admin)
    assert erased.status_code == 200 and erased.json()["status"] == "answered"
    assert stamp.client.get(f"{API}/incidents/{first['id']}", headers=inv).status_code == 404
    assert stamp.client.get(f"{API}/incidents/{second['id']}", headers=inv).status_code == 200
    tomb = stamp.client.get(f"{API}/retention/tombstones/{first['id']}", headers=inv).json()
    assert tomb["cause"] == "erasure" and tomb["request_id"] == request["id"]
    outcomes = {m["incident_id"]: m["outcome"] for m in erased.json()["matches"]}
    assert outcomes == {first["id"]: "erased", second["id"]: "refused"}


def test_evidence_added_under_an_existing_hold_is_held_too(stamp):
    incident = report(stamp)
    inv = stamp.auth("northwind", "Retailer.Investigator")
    assert (
        stamp.client.post(f"{API}/incidents/{incident['id']}/legal-hold", json=stamp.example("LegalHoldIn"), headers=inv).status_code == 201
    )
    item = upload(stamp, incident["id"])
    assert item["legal_hold"] is True
    custody = stamp.client.get(f"{API}/evidence/{item['id']}/custody", headers=inv).json()
    assert custody["verified"] is True


def _acknowledged_dispatch(stamp, *, hold: bool = False) -> tuple[dict, str]:
    from tests.d2p.helpers import add_evidence, drain
    from tests.d2p.helpers import report as d2p_report

    incident = d2p_report(stamp)
    if hold:
        # Held before its evidence arrives, so the uploads are held as well.
        r = stamp.client.post(
            f"{API}/incidents/{incident['id']}/legal-hold",
            json=stamp.example("LegalHoldIn"),
            headers=stamp.auth("northwind", "Retailer.Investigator"),
        )
        assert r.status_code == 201, r.text
    add_evidence(stamp, incident, "cctv", "suspect_image")
    dispatch = stamp.client.post(f"{API}/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator")).json()
    drain(stamp)
    ack = stamp.client.post(
        f"{API}/d2p/{dispatch['id']}/acknowledge",
        json={"crime_reference": "CR/000777/26"},
        headers=stamp.auth("devon-and-cornwall", "Police.Officer"),
    )
    assert ack.status_code == 200, ack.text
    return incident, dispatch["id"]


def _dispatch(stamp, dispatch_id: str) -> dict:
    with stamp.container.records.unit_of_work() as uow:
        return uow.get("dispatches", "northwind", dispatch_id)


def test_d2p_email_body_goes_twelve_months_after_acknowledgement(stamp):
    incident, dispatch_id = _acknowledged_dispatch(stamp)
    acknowledged = stamp.clock.now()
    assert "text" in _dispatch(stamp, dispatch_id)["email"]
    assert run_retention(stamp, acknowledged + timedelta(days=360))["email_bodies_deleted"] == 0
    counts = run_retention(stamp, acknowledged + timedelta(days=366))
    assert counts["email_bodies_deleted"] == 1
    kept = _dispatch(stamp, dispatch_id)
    assert "text" not in kept["email"] and kept["email"]["subject"] and kept["crime_reference"] == "CR/000777/26"
    assert kept["email_body_rule"] and kept["email_body_schedule_version"]
    # The incident itself is not due yet (six years): only the body went.
    assert (
        stamp.client.get(f"{API}/incidents/{incident['id']}", headers=stamp.auth("northwind", "Retailer.Investigator")).status_code == 200
    )
    assert run_retention(stamp, acknowledged + timedelta(days=400))["email_bodies_deleted"] == 0  # nothing twice


def test_held_incident_keeps_its_d2p_email_body(stamp):
    incident, dispatch_id = _acknowledged_dispatch(stamp, hold=True)
    acknowledged = stamp.clock.now()
    assert run_retention(stamp, acknowledged + timedelta(days=400))["email_bodies_deleted"] == 0
    assert "text" in _dispatch(stamp, dispatch_id)["email"]


def test_hits_linked_to_no_incident_go_after_the_anpr_hit_period_linked_ones_stay(stamp):
    from tests.anpr.helpers import list_vehicle, post_reads, read

    incident = report(stamp)
    assert list_vehicle(stamp, "KX19 ABC").status_code == 201
    assert list_vehicle(stamp, "WR21 XKD", incident_ids=[incident["id"]]).status_code == 201
    read_at = stamp.clock.now()
    assert post_reads(stamp, [read(stamp, "KX19 ABC"), read(stamp, "WR21 XKD", camera="cam-2")]).status_code == 200
    inv = stamp.auth("northwind", "Retailer.Investigator")

    def hit_plates():
        r = stamp.client.get(f"{API}/anpr/hits", params={"purpose": "retention check"}, headers=inv)
        assert r.status_code == 200, r.text
        return sorted(h["plate"] for h in r.json()["items"])

    assert hit_plates() == ["KX19ABC", "WR21XKD"]
    assert run_retention(stamp, read_at + timedelta(days=360))["unlinked_hits_deleted"] == 0
    assert run_retention(stamp, read_at + timedelta(days=367))["unlinked_hits_deleted"] == 1
    assert hit_plates() == ["WR21XKD"]
