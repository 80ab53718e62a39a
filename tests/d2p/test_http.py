"""D2P over HTTP, as a store, a force's control room and its admin use it."""

from __future__ import annotations

from shared.ports import Where
from shared.services.seed import approve_dpia
from tests.d2p.helpers import add_evidence, drain, eligible_report, outbox_files, report

INV = ("northwind", "Retailer.Investigator")
DC = "devon-and-cornwall"


def url(incident, suffix="/d2p"):
    return f"/api/v1/incidents/{incident['id']}{suffix}"


def test_report_without_cctv_says_so_and_sends_nothing(stamp):
    incident = report(stamp)
    assert incident["d2p"]["eligible"] is False
    assert "Attach CCTV covering the whole incident." in incident["d2p"]["reasons"]
    assert incident["d2p"]["rules_version"] == 1 and incident["d2p"]["force_id"] == DC
    r = stamp.client.post(url(incident), headers=stamp.auth(*INV))
    assert r.status_code == 422
    problem = r.json()
    assert set(problem["failed_rules"]) == {"cctv", "suspect_image"}
    assert any(e["message"] == "Attach CCTV covering the whole incident." for e in problem["errors"])
    drain(stamp)
    assert outbox_files(stamp) == []


def test_eligible_report_reaches_the_force_inbox_once(stamp):
    incident = eligible_report(stamp)
    detail = stamp.client.get(url(incident), headers=stamp.auth(*INV)).json()
    assert detail["eligible"] is True and all(r["passed"] for r in detail["rules"])
    first = stamp.client.post(url(incident), headers=stamp.auth(*INV))
    assert first.status_code == 202, first.text
    again = stamp.client.post(url(incident), headers=stamp.auth(*INV))
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    drain(stamp)
    stamp.client.post(url(incident), headers=stamp.auth(*INV))
    drain(stamp)
    files = outbox_files(stamp)
    assert len(files) == 1
    text = files[0].read_text()
    assert "To: control-room@devon-cornwall.police.example" in text
    assert incident["reference"] in text and "Northwind Plymouth" in text
    assert "Content-Disposition: attachment" not in text
    status = stamp.client.get(url(incident), headers=stamp.auth(*INV)).json()["dispatches"][0]
    assert status["status"] == "sent" and [h["status"] for h in status["history"]][:2] == ["queued", "enqueued"]
    assert stamp.client.get(url(incident, ""), headers=stamp.auth(*INV)).json()["d2p"]["status"] == "sent"


def test_rules_changed_between_evaluation_and_sending(stamp):
    incident = eligible_report(stamp)
    assert stamp.client.get(url(incident), headers=stamp.auth(*INV)).json()["eligible"] is True
    admin = stamp.auth(DC, "Police.Admin")
    current = stamp.client.get(f"/api/v1/forces/{DC}/d2p-rules", headers=admin)
    rules = current.json()["rules"] | {"min_theft_value": {"amount_minor": 50000, "currency": "GBP"}, "always_send_flags": []}
    put = stamp.client.put(f"/api/v1/forces/{DC}/d2p-rules", json=rules, headers={**admin, "If-Match": current.headers["etag"]})
    assert put.status_code == 200 and put.json()["version"] == 2
    r = stamp.client.post(url(incident), headers=stamp.auth(*INV))
    assert r.status_code == 422 and r.json()["failed_rules"] == ["seriousness"] and r.json()["rules_version"] == 2


def test_force_rules_are_the_force_admins_own_versioned_and_audited(stamp):
    admin = stamp.auth(DC, "Police.Admin")
    rules_url = f"/api/v1/forces/{DC}/d2p-rules"
    current = stamp.client.get(rules_url, headers=admin)
    assert current.status_code == 200 and current.json()["rules"]["control_room_email"] == "control-room@devon-cornwall.police.example"
    body = current.json()["rules"]
    assert stamp.client.put(rules_url, json=body, headers=admin).status_code == 428
    assert (
        stamp.client.put(rules_url, json={**body, "colour": "blue"}, headers={**admin, "If-Match": current.headers["etag"]}).status_code
        == 422
    )
    assert (
        stamp.client.put(
            rules_url, json={**body, "control_room_email": "not-an-address"}, headers={**admin, "If-Match": current.headers["etag"]}
        ).status_code
        == 422
    )
    ok = stamp.client.put(rules_url, json={**body, "acknowledge_within_hours": 12}, headers={**admin, "If-Match": current.headers["etag"]})
    assert ok.status_code == 200
    assert stamp.client.put(rules_url, json=body, headers={**admin, "If-Match": current.headers["etag"]}).status_code == 412
    versions = stamp.client.get(rules_url + "/versions", headers=admin).json()["items"]
    assert [v["version"] for v in versions] == [1, 2]
    for org, role in [("avon-and-somerset", "Police.Admin"), ("northwind", "Retailer.Admin")]:
        assert stamp.client.get(rules_url, headers=stamp.auth(org, role)).status_code in (403, 404)
    assert stamp.client.get("/api/v1/forces/avon-and-somerset/d2p-rules", headers=admin).status_code == 404
    assert stamp.client.get(rules_url, headers=stamp.auth(DC, "Police.Officer")).status_code == 403
    audit = stamp.client.get("/api/v1/audit", params={"entity": f"d2p-rules/{DC}"}, headers=admin)
    if audit.status_code == 200:
        assert any(e["operation"] == "d2p.rules.change" for e in audit.json()["items"])


def test_automatic_sending_when_evidence_makes_the_report_eligible(stamp):
    admin = stamp.auth("northwind", "Retailer.Admin")
    assert stamp.client.get("/api/v1/organisations/northwind/d2p-settings", headers=admin).json()["auto_send"] is False
    approve_dpia(stamp.container, "northwind")  # automatic sending waits for the retailer's DPIA (docs/go-live.md)
    r = stamp.client.put("/api/v1/organisations/northwind/d2p-settings", json={"auto_send": True}, headers=admin)
    assert r.status_code == 200 and r.json()["auto_send"] is True
    assert stamp.client.put("/api/v1/organisations/contoso/d2p-settings", json={"auto_send": True}, headers=admin).status_code == 404
    incident = report(stamp)
    assert incident["d2p"]["status"] is None
    add_evidence(stamp, incident, "cctv", "suspect_image")
    drain(stamp)
    assert len(outbox_files(stamp)) == 1


def test_police_acknowledge_record_outcomes_and_see_kpis(stamp):
    incident = eligible_report(stamp)
    dispatch = stamp.client.post(url(incident), headers=stamp.auth(*INV)).json()
    officer = stamp.auth(DC, "Police.Officer")
    ack_url = f"/api/v1/d2p/{dispatch['id']}/acknowledge"
    assert stamp.client.post(ack_url, json={"crime_reference": "CR/012345/26"}, headers=officer).status_code == 409  # not sent yet
    drain(stamp)
    read = stamp.client.get(url(incident, ""), params={"purpose": "Recording D2P report"}, headers=officer)
    assert read.status_code == 200 and read.json()["narrative"] == incident["narrative"]
    assert (
        stamp.client.post(ack_url, json={"crime_reference": "CR/1"}, headers=stamp.auth("avon-and-somerset", "Police.Officer")).status_code
        == 404
    )
    stamp.clock.advance(hours=5)
    ack = stamp.client.post(ack_url, json={"crime_reference": "CR/012345/26"}, headers=officer)
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged" and ack.json()["crime_reference"] == "CR/012345/26"
    assert stamp.client.post(ack_url, json={"crime_reference": "CR/012345/26"}, headers=officer).status_code == 200
    assert stamp.client.post(ack_url, json={"crime_reference": "CR/999"}, headers=officer).status_code == 409
    assert stamp.client.post(url(incident, "/outcomes"), json={"code": "99"}, headers=officer).status_code == 422
    out = stamp.client.post(url(incident, "/outcomes"), json={"code": "1"}, headers=officer)
    assert out.status_code == 201 and out.json()["outcome"]["via_d2p"] is True
    # An incident of the force's area that was only shared with it, never dispatched: the
    # force may read it but not record an outcome on it, and nothing is written.
    other = report(stamp)
    refused = stamp.client.post(url(other, "/outcomes"), json={"code": "16"}, headers=officer)
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert "not dispatched to your force" in refused.json()["detail"]
    with stamp.container.records.read_only() as uow:
        assert uow.count("outcomes", ["northwind"], [Where("incident_id", "eq", other["id"])]) == 0
    assert (
        stamp.client.post(
            url(other, "/outcomes"), json={"code": "1"}, headers=stamp.auth("avon-and-somerset", "Police.Officer")
        ).status_code
        == 404
    )
    kpi = stamp.client.get(
        "/api/v1/kpis/d2p",
        params={"force": DC, "from": "2026-11-01T00:00:00+00:00", "to": "2026-12-01T00:00:00+00:00"},
        headers=stamp.auth(DC, "Police.Analyst"),
    )
    assert kpi.status_code == 200, kpi.text
    k = kpi.json()
    assert k["dispatches_by_status"] == {"acknowledged": 1}
    assert k["outcomes"]["d2p"]["charge_rate"] == 1.0 and k["outcomes"]["other_channels"]["outcome_16_rate"] is None
    assert k["times"]["dispatched_to_acknowledged"]["median_hours"] == 5.0
    assert (
        stamp.client.get(
            "/api/v1/kpis/d2p",
            params={"force": DC, "from": "2026-11-01T00:00:00+00:00", "to": "2026-12-01T00:00:00+00:00"},
            headers=stamp.auth("avon-and-somerset", "Police.Analyst"),
        ).status_code
        == 404
    )
    history = stamp.client.get(url(incident), headers=stamp.auth(*INV)).json()
    assert history["outcomes"][0]["code"] == "1" and history["dispatches"][0]["crime_reference"] == "CR/012345/26"


def test_unacknowledged_timer_reports_overdue_dispatches(stamp):
    from functions import jobs

    incident = eligible_report(stamp)
    stamp.client.post(url(incident), headers=stamp.auth(*INV))
    drain(stamp)
    jobs.load_all()
    soon = jobs.run_job(stamp.container, "d2p-unacknowledged", stamp.clock.now())
    assert soon.counts == {"checked": 1, "overdue": 0}
    late = jobs.run_job(stamp.container, "d2p-unacknowledged", stamp.clock.advance(hours=25))
    assert late.counts["overdue"] == 1 and late.notes == ["devon-and-cornwall: 1 dispatch(es) unacknowledged past 24 h"]


def test_a_force_reads_the_eligibility_report_only_with_a_purpose_and_it_is_audited(stamp):
    """The report names the goods' value, the flags (violence, weapon...) and the category:
    a force reads it as it reads the incident, stating why, and the owner's audit trail
    shows the disclosure with that purpose."""
    incident = eligible_report(stamp)
    assert stamp.client.post(url(incident), headers=stamp.auth(*INV)).status_code == 202
    drain(stamp)
    officer = stamp.auth(DC, "Police.Officer")
    refused = stamp.client.get(url(incident), headers=officer)
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert "purpose" in refused.text and "rules" not in refused.json()
    purpose = "Triage of a D2P report, op ELIG-7"
    read = stamp.client.get(url(incident), params={"purpose": purpose}, headers=officer)
    assert read.status_code == 200 and read.json()["eligible"] is True
    trail = stamp.client.get(
        "/api/v1/audit", params={"entity": f"incident/{incident['id']}"}, headers=stamp.auth("northwind", "Retailer.Admin")
    ).json()["items"]
    disclosures = [e for e in trail if e["operation"] == "d2p.eligibility.read"]
    assert [(e["action"], e["recipient_org"], e["purpose"]) for e in disclosures] == [("disclosure", DC, purpose)]
    # The retailer's own read needs no purpose and is recorded as a consultation.
    assert stamp.client.get(url(incident), headers=stamp.auth(*INV)).status_code == 200
    trail = stamp.client.get(
        "/api/v1/audit", params={"entity": f"incident/{incident['id']}"}, headers=stamp.auth("northwind", "Retailer.Admin")
    ).json()["items"]
    assert any(e["operation"] == "d2p.eligibility.read" and e["action"] == "consultation" for e in trail)


def test_changing_the_time_of_a_sent_report_is_a_documented_409(stamp):
    """The force holds the report with its time: PATCH (or a revert) moving occurred_at is
    409 problem details, and the OpenAPI document lists 409 for both, so generated clients
    expect it (the live-stamp attack run found it undocumented)."""
    incident = eligible_report(stamp)
    assert stamp.client.post(url(incident), headers=stamp.auth(*INV)).status_code == 202
    drain(stamp)
    inv = stamp.auth(*INV)
    etag = stamp.client.get(url(incident, ""), headers=inv).headers["etag"]
    r = stamp.client.patch(url(incident, ""), json={"occurred_at": "2026-11-01T09:00:00Z"}, headers={**inv, "If-Match": etag})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert "Tell the force of the correction" in r.json()["detail"]
    assert stamp.client.get(url(incident, ""), headers=inv).json()["occurred_at"] == incident["occurred_at"]
    paths = stamp.client.app.openapi()["paths"]
    for method, path in (("patch", "/api/v1/incidents/{incident_id}"), ("post", "/api/v1/incidents/{incident_id}/revert")):
        assert "application/problem+json" in paths[path][method]["responses"]["409"]["content"], (method, path)


def test_stale_if_match_on_a_sent_report_is_412_not_409(stamp):
    """Moving the time of a sent report is a 409, but a client sending a stale ETag is told
    first that its copy is stale (412), for a PATCH and for a revert; nothing is written."""
    incident = eligible_report(stamp)
    inv = stamp.auth(*INV)
    first = stamp.client.patch(
        url(incident, ""), json={"occurred_at": "2026-11-01T09:00:00Z"}, headers={**inv, "If-Match": incident["etag"]}
    )
    assert first.status_code == 200, first.text
    assert stamp.client.post(url(incident), headers=inv).status_code == 202
    drain(stamp)
    current = stamp.client.get(url(incident, ""), headers=inv)
    moved = {"occurred_at": "2026-11-02T09:00:00Z"}
    assert stamp.client.patch(url(incident, ""), json=moved, headers={**inv, "If-Match": current.headers["etag"]}).status_code == 409
    stale = {**inv, "If-Match": incident["etag"]}
    r = stamp.client.patch(url(incident, ""), json=moved, headers=stale)
    assert r.status_code == 412 and r.headers["content-type"] == "application/problem+json"
    # Version 1 has the original time: reverting to it would move a sent report's time too.
    assert stamp.client.post(url(incident, "/revert"), json={"version": 1}, headers=stale).status_code == 412
    after = stamp.client.get(url(incident, ""), headers=inv)
    assert after.headers["etag"] == current.headers["etag"] and after.json()["occurred_at"] == current.json()["occurred_at"]
