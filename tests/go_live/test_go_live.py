"""Go-live as an organisation runs it: the DPIA generated from the live configuration states
northwind's agreements and periods as configured, a change shows as a difference from the
approved version, D2P cannot be switched on before the DPIA is approved, and the checklist
says who completed each stage and when."""

from __future__ import annotations

import io

import pypdf

from shared.domain.d2p import dispatch_id
from shared.domain.retention import OrganisationScheduleIn, RecordType, rule_text
from shared.records import AUDIT, DISPATCHES
from shared.services.repository import body
from shared.services.seed import approve_dpia
from tests.d2p.test_inbox import put_sent, sent
from tests.fixtures_http import both_backends

API = "/api/v1"
RA, PA, PO, OPS = "Retailer.Admin", "Police.Admin", "Police.Officer", "Platform.Operator"
NEW_FORCE = {
    "name": "Dorset Police",
    "kind": "police_force",
    "home_region": "uk",
    "idp_tenant_id": "0b7d4c1e-5a2f-4e8b-9c3d-1f2e3d4c5b31",
    "reference_prefix": "DP",
    "control_room_email": "control-room@dorset.police.example",
}
RULES = {"control_room_email": "control-room@dorset.police.example", "enrolled_retailers": ["northwind"]}


def _generate(stamp, org: str, role: str):
    r = stamp.client.post(f"{API}/organisations/{org}/dpia", headers=stamp.auth(org, role))
    assert r.status_code in (200, 201), r.text
    return r


def _approve_latest(stamp, org: str, role: str) -> dict:
    n = _generate(stamp, org, role).json()["version"]
    r = stamp.client.post(f"{API}/organisations/{org}/dpia/versions/{n}/approval", headers=stamp.auth(org, role))
    assert r.status_code == 200, r.text
    return r.json()


def _share(stamp, agreements: list[dict]) -> None:
    admin = stamp.auth("northwind", RA)
    url = f"{API}/organisations/northwind/sharing"
    etag = stamp.client.get(url, headers=admin).headers["etag"]
    r = stamp.client.put(url, json={"agreements": agreements}, headers={**admin, "If-Match": etag})
    assert r.status_code == 200, r.text


@both_backends
def test_northwinds_dpia_states_its_sharing_agreements_and_retention_periods_as_configured(stamp):
    _share(
        stamp, [{"partner_id": "devon-and-cornwall", "level": "full", "anpr": True}, {"partner_id": "avon-and-somerset", "level": "counts"}]
    )
    schedules = stamp.container.retention.schedules
    principal = stamp.container.directory.principal_from_claims(
        {"sub": "nw-admin", "tid": "6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0a01", "roles": [RA]}
    )
    etag = schedules.organisation(principal).etag
    schedules.set_organisation(
        principal, OrganisationScheduleIn(overrides={RecordType.INCIDENT: 36}, reason="Board decision: unsolved thefts 3 years"), etag
    )

    doc = _generate(stamp, "northwind", RA).json()

    assert doc["facts"]["Sharing"] == {"with avon-and-somerset": "counts", "with devon-and-cornwall": "full"}
    assert doc["facts"]["ANPR"]["reads offered to devon-and-cornwall"].startswith("accepted")
    months = schedules.organisation(principal).schedule.months
    retention = doc["facts"]["Retention"]
    assert set(retention) == {t.value for t in RecordType}
    for record_type, n in months.items():
        assert retention[record_type.value].startswith(rule_text(record_type, n).split(": ", 1)[1]), retention
    assert retention["incident"] == "36 months after it occurred (no police case) (the organisation's choice; region default 72)"
    assert "| with avon-and-somerset | counts |" in doc["markdown"]
    assert "ethnicity" in doc["facts"]["Data refused"] and "incident.persons" in doc["facts"]["Data collected"]
    assert doc["facts"]["Legal holds"] == {"active holds on the organisation's incidents": "0"}


@both_backends
def test_a_changed_sharing_level_shows_as_a_difference_from_the_approved_version(stamp):
    _share(stamp, [{"partner_id": "devon-and-cornwall", "level": "full"}, {"partner_id": "avon-and-somerset", "level": "descriptions"}])
    approved = _approve_latest(stamp, "northwind", RA)
    assert approved["approved"] and approved["differences_from_approved"]["changes"] == []

    _share(stamp, [{"partner_id": "devon-and-cornwall", "level": "full"}, {"partner_id": "avon-and-somerset", "level": "full"}])

    checklist = stamp.client.get(f"{API}/organisations/northwind/go-live", headers=stamp.auth("northwind", RA)).json()
    assert checklist["dpia_changes_since_approval"] == 1
    made = _generate(stamp, "northwind", RA)
    assert made.status_code == 201 and made.headers["location"].endswith(f"/dpia/versions/{approved['version'] + 1}")
    diff = made.json()["differences_from_approved"]
    assert diff["against_version"] == approved["version"]
    assert [c["text"] for c in diff["changes"]] == ["Sharing with avon-and-somerset: descriptions → full"]
    assert "-| with avon-and-somerset | descriptions |" in diff["unified_diff"]
    assert "+| with avon-and-somerset | full |" in diff["unified_diff"]
    # The same configuration again is the same version: no copy piles up.
    again = _generate(stamp, "northwind", RA)
    assert again.status_code == 200 and again.json()["version"] == made.json()["version"]
    versions = stamp.client.get(f"{API}/organisations/northwind/dpia/versions", headers=stamp.auth("northwind", RA)).json()["versions"]
    assert [v["approved"] for v in versions[:2]] == [False, True]


def test_a_changed_retention_period_shows_as_a_difference(stamp):
    approved = _approve_latest(stamp, "northwind", RA)
    principal = stamp.container.directory.principal_from_claims(
        {"sub": "nw-admin", "tid": "6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0a01", "roles": [RA]}
    )
    schedules = stamp.container.retention.schedules
    change = OrganisationScheduleIn(overrides={RecordType.POI_IMAGE: 12}, reason="Images kept one year")
    schedules.set_organisation(principal, change, schedules.organisation(principal).etag)
    diff = _generate(stamp, "northwind", RA).json()["differences_from_approved"]
    assert diff["against_version"] == approved["version"]
    assert [c["text"] for c in diff["changes"]] == [
        "Retention poi_image: 24 months after the last linked incident (region schedule) → "
        "12 months after the last linked incident (the organisation's choice; region default 24)"
    ]


def test_a_stale_or_superseded_version_cannot_be_approved_and_the_operator_never_approves(stamp):
    first = _generate(stamp, "northwind", RA).json()["version"]
    _share(stamp, [{"partner_id": "devon-and-cornwall", "level": "descriptions"}])
    stale = stamp.client.post(f"{API}/organisations/northwind/dpia/versions/{first}/approval", headers=stamp.auth("northwind", RA))
    assert stale.status_code == 409 and "generate the DPIA again" in stale.json()["detail"]
    newer = _generate(stamp, "northwind", RA).json()["version"]
    old = stamp.client.post(f"{API}/organisations/northwind/dpia/versions/{first}/approval", headers=stamp.auth("northwind", RA))
    assert old.status_code == 409 and f"version {newer} is" in old.json()["detail"]
    ops = stamp.client.post(f"{API}/organisations/northwind/dpia/versions/{newer}/approval", headers=stamp.auth("vigil-platform", OPS))
    assert ops.status_code == 403
    missing = stamp.client.get(f"{API}/organisations/northwind/dpia/versions/999", headers=stamp.auth("northwind", RA))
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


@both_backends
def test_d2p_cannot_be_switched_on_for_a_force_whose_dpia_stage_is_open(stamp):
    ops = stamp.auth("vigil-platform", OPS)
    assert stamp.client.put(f"{API}/organisations/dorset-police", json=NEW_FORCE, headers=ops).status_code == 201
    admin = stamp.auth("dorset-police", PA)
    url = f"{API}/forces/dorset-police/d2p-rules"
    checklist = stamp.client.get(f"{API}/organisations/dorset-police/go-live", headers=admin).json()
    assert checklist["next_stage"] == "dpia_approved" and not checklist["stages"][0]["complete"]

    refused = stamp.client.put(url, json=RULES, headers=admin)

    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"].endswith("/go-live-stage-open") and problem["stage"] == "dpia_approved"
    assert "dpia_approved" in problem["detail"]
    assert stamp.client.get(url, headers=admin).status_code == 404  # nothing half-written

    _approve_latest(stamp, "dorset-police", PA)
    switched = stamp.client.put(url, json=RULES, headers=admin)
    assert switched.status_code == 200, switched.text
    stages = {s["name"]: s for s in stamp.client.get(f"{API}/organisations/dorset-police/go-live", headers=admin).json()["stages"]}
    assert stages["d2p_on"]["complete"] and stages["d2p_on"]["completed_by"] == stages["dpia_approved"]["completed_by"]


def test_onboarding_a_force_with_rules_enrolling_a_retailer_is_refused_until_its_dpia_is_approved(stamp):
    ops = stamp.auth("vigil-platform", OPS)
    body = {**NEW_FORCE, "d2p_rules": {"enrolled_retailers": ["northwind"]}}
    refused = stamp.client.put(f"{API}/organisations/dorset-police", json=body, headers=ops)
    assert refused.status_code == 409 and refused.json()["stage"] == "dpia_approved", refused.text
    assert stamp.client.get(f"{API}/organisations/dorset-police", headers=ops).status_code == 404


def test_automatic_sending_needs_the_retailers_approved_dpia(stamp):
    ops = stamp.auth("vigil-platform", OPS)
    retailer = {**NEW_FORCE, "name": "Fabrikam", "kind": "retailer", "reference_prefix": "FB", "control_room_email": None}
    assert stamp.client.put(f"{API}/organisations/fabrikam", json=retailer, headers=ops).status_code == 201
    admin = stamp.auth("fabrikam", RA)
    url = f"{API}/organisations/fabrikam/d2p-settings"
    refused = stamp.client.put(url, json={"auto_send": True}, headers=admin)
    assert refused.status_code == 409 and refused.json()["stage"] == "dpia_approved"
    assert stamp.client.put(url, json={"auto_send": False}, headers=admin).status_code == 200
    _approve_latest(stamp, "fabrikam", RA)
    assert stamp.client.put(url, json={"auto_send": True}, headers=admin).json()["auto_send"] is True


def test_the_checklist_shows_who_completed_each_stage_and_the_operator_sees_every_organisation(stamp):
    admin = stamp.auth("devon-and-cornwall", PA)
    before = stamp.client.get(f"{API}/organisations/devon-and-cornwall/go-live", headers=admin).json()
    assert before["next_stage"] == "first_report_acknowledged"
    incident = sent(stamp)
    ack = stamp.client.post(
        f"{API}/d2p/{dispatch_id(incident['id'], 'devon-and-cornwall')}/acknowledge",
        json={"crime_reference": "CR/000123/26"},
        headers=stamp.auth("devon-and-cornwall", PO),
    )
    assert ack.status_code == 200, ack.text

    checklist = stamp.client.get(f"{API}/organisations/devon-and-cornwall/go-live", headers=admin).json()

    stages = {s["name"]: s for s in checklist["stages"]}
    assert [s["name"] for s in checklist["stages"]] == [
        "dpia_approved",
        "sign_in_configured",
        "intelligence_view_on",
        "d2p_on",
        "first_report_acknowledged",
    ]
    assert checklist["next_stage"] is None
    assert stages["dpia_approved"]["completed_by"] == "devon-and-cornwall-admin" and stages["dpia_approved"]["recorded"]
    assert stages["intelligence_view_on"]["completed_by"] == "northwind"
    assert stages["d2p_on"]["completed_by"] == "seed"
    officer = ack.json().get("acknowledged_by") or stages["first_report_acknowledged"]["completed_by"]
    assert stages["first_report_acknowledged"]["completed_by"] == officer and stages["first_report_acknowledged"]["completed_at"]
    assert all(s["completed_at"] for s in checklist["stages"])
    overview = stamp.client.get(f"{API}/go-live", headers=stamp.auth("vigil-platform", OPS)).json()["organisations"]
    # Every organisation the seed onboards, the national unit (opal) among them.
    assert {o["organisation_id"] for o in overview} == {"northwind", "contoso", "devon-and-cornwall", "avon-and-somerset", "opal"}
    other = stamp.client.get(f"{API}/organisations/devon-and-cornwall/go-live", headers=stamp.auth("avon-and-somerset", PA))
    assert other.status_code == 404


def test_a_version_reads_as_markdown_and_as_a_pdf_stating_the_same_facts(stamp):
    n = _generate(stamp, "northwind", RA).json()["version"]
    url = f"{API}/organisations/northwind/dpia/versions/{n}"
    md = stamp.client.get(url, headers={**stamp.auth("northwind", RA), "Accept": "text/markdown"})
    assert md.headers["content-type"].startswith("text/markdown") and "| with devon-and-cornwall | full |" in md.text
    pdf = stamp.client.get(url, params={"format": "pdf"}, headers=stamp.auth("vigil-platform", OPS))
    assert pdf.headers["content-type"] == "application/pdf"
    text = " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "DPIA and record of processing: Northwind Stores" in text
    assert "with devon-and-cornwall full" in text and "incident 72 months after it occurred" in text
    again = stamp.client.get(url, headers={**stamp.auth("northwind", RA), "Accept": "application/pdf"})
    assert again.content == pdf.content  # dated when generated: the same bytes each time


def test_a_broken_audit_chain_shows_in_the_safeguards_as_a_difference(stamp):
    force = "devon-and-cornwall"
    approve_dpia(stamp.container, force)
    stamp.container.audit.verify_and_record(force)  # the daily walk finding nothing is no difference
    assert _generate(stamp, force, PA).json()["differences_from_approved"]["changes"] == []
    with stamp.container.records.unit_of_work() as uow:
        first = sorted(uow.query(AUDIT.name, [force], limit=500).items, key=lambda e: e["seq"])[0]
        uow.replace(AUDIT.name, force, {**body(first), "operation": "tampered"}, if_match=first["_etag"])
    stamp.container.audit.verify_and_record(force)

    changes = _generate(stamp, force, PA).json()["differences_from_approved"]["changes"]

    assert [(c["section"], c["item"]) for c in changes] == [("Safeguards", "audit chain")]
    assert "BROKEN at entry 1" in changes[0]["after"]


@both_backends
def test_the_first_acknowledged_dispatch_completes_the_last_stage_on_either_store(stamp):
    """The stage is read across the retailers in the force's area, oldest acknowledgement first."""
    for n, (at, by) in enumerate([("2026-11-24T09:00:00+00:00", "dc-late"), ("2026-11-23T15:00:00+00:00", "dc-first")]):
        dispatch = put_sent(stamp, n)
        with stamp.container.records.unit_of_work() as uow:
            doc = uow.get(DISPATCHES.name, "northwind", dispatch)
            uow.replace(
                DISPATCHES.name,
                "northwind",
                {**body(doc), "status": "acknowledged", "acknowledged_at": at, "acknowledged_by": by, "crime_reference": f"CR/{n}/26"},
                if_match=doc["_etag"],
            )
    for org, role in (("devon-and-cornwall", PA), ("northwind", RA)):
        stages = stamp.client.get(f"{API}/organisations/{org}/go-live", headers=stamp.auth(org, role)).json()["stages"]
        last = stages[-1]
        assert last["complete"] and (last["completed_by"], last["completed_at"]) == ("dc-first", "2026-11-23T15:00:00+00:00"), last


@both_backends
def test_the_dpia_states_the_network_ranges_and_a_change_of_them_shows_as_a_difference(stamp):
    from tests.network.test_network_ranges import set_ranges

    approved = _approve_latest(stamp, "devon-and-cornwall", PA)
    assert approved["facts"]["Network ranges"] == {
        "devices and service principals": "no restriction: devices can connect from anywhere",
        "staff": "no restriction: staff can sign in from anywhere",
    }
    assert "| staff | no restriction: staff can sign in from anywhere |" in approved["markdown"]

    set_ranges(stamp, "devon-and-cornwall", PA, ["127.0.0.0/8", "192.0.2.0/24"], devices=["2001:db8::/32"])

    made = _generate(stamp, "devon-and-cornwall", PA)
    assert made.status_code == 201
    doc = made.json()
    assert doc["facts"]["Network ranges"] == {"devices and service principals": "2001:db8::/32", "staff": "127.0.0.0/8, 192.0.2.0/24"}
    assert [c["text"] for c in doc["differences_from_approved"]["changes"]] == [
        "Network ranges devices and service principals: no restriction: devices can connect from anywhere → 2001:db8::/32",
        "Network ranges staff: no restriction: staff can sign in from anywhere → 127.0.0.0/8, 192.0.2.0/24",
    ]
