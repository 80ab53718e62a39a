"""Police requests for footage, end to end through the API: the force asks, the store is
emailed and sees it, uploads and supplies, custody names the request, the force sees it
fulfilled and downloads (audited); reminders, refusals and who may see what."""

from __future__ import annotations

from datetime import timedelta

from functions import jobs
from tests.d2p.helpers import CCTV_CLIP, report
from tests.fixtures_http import both_backends
from tests.footage.helpers import DC, PREFIX, drain_mail, mails, make_request, request_body

PURPOSE = "Investigating crime DC/2026/118734"


def _upload(stamp, incident_id: str, role: str = "Retailer.Investigator") -> dict:
    headers = {**stamp.auth("northwind", role), "Content-Type": "video/mp4", "X-Filename": "tills.mp4", "X-Evidence-Kind": "cctv"}
    r = stamp.client.post(f"{PREFIX}/incidents/{incident_id}/evidence", content=CCTV_CLIP, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


@both_backends
def test_request_email_upload_custody_fulfilled_and_audited_download(stamp, tmp_path):
    if stamp.backend == "azure":
        # Records on Cosmos DB (the emulator) are what this checks; the evidence bytes stay
        # in local files (the blob adapter has its own tests against Azurite).
        from shared.adapters.local.file_evidence import FileEvidenceStore

        stamp.container.__dict__["evidence_blobs"] = FileEvidenceStore(tmp_path / "evidence", clock=stamp.clock)
    asked = make_request(stamp)
    assert asked["status"] == "open" and asked["organisation_id"] == "northwind"

    # The store's contact is emailed, with the crime reference, the window and deadline in UK time, and the force.
    assert drain_mail(stamp) == ["asked"]
    (mail,) = mails(stamp)
    assert mail["to"] == "plymouth.security@northwind.example"
    assert "DC/2026/118734" in mail["subject"] and "Devon and Cornwall" in mail["subject"]
    assert "Sun 22 Nov 2026, 12:00 GMT" in mail["text"] and "Mon 30 Nov 2026, 12:00 GMT" in mail["text"]
    assert f"/footage-requests/{asked['id']}" in mail["text"]

    # The retailer's list shows it.
    listed = stamp.client.get(f"{PREFIX}/footage-requests", headers=stamp.auth("northwind", "Retailer.Reporter")).json()
    assert [r["id"] for r in listed["items"]] == [asked["id"]]

    # The store files its report of the event, uploads the footage to it and supplies it.
    incident = report(stamp, role="Retailer.Investigator")
    item = _upload(stamp, incident["id"])
    r = stamp.client.post(
        f"{PREFIX}/footage-requests/{asked['id']}/evidence/{item['id']}",
        json={"complete": True},
        headers=stamp.auth("northwind", "Retailer.Investigator"),
    )
    assert r.status_code == 200, r.text
    supplied = r.json()
    assert supplied["status"] == "fulfilled" and supplied["incident_id"] == incident["id"]
    assert supplied["answered_at"] is not None and [s["evidence_id"] for s in supplied["supplied"]] == [item["id"]]

    # Custody names the request and crime reference.
    chain = stamp.client.get(f"{PREFIX}/evidence/{item['id']}/custody", headers=stamp.auth("northwind", "Retailer.Investigator")).json()
    supply_events = [e for e in chain["events"] if e["event"] == "supplied"]
    assert len(supply_events) == 1
    assert supply_events[0]["details"]["note"] == f"supplied in answer to footage request {asked['id']} for crime reference DC/2026/118734"

    # The force sees it fulfilled and when, and downloads the file with a purpose: audited as police reads are.
    seen = stamp.client.get(f"{PREFIX}/footage-requests/{asked['id']}", headers=stamp.auth(DC, "Police.Officer")).json()
    assert seen["status"] == "fulfilled" and seen["answered_at"] == supplied["answered_at"]
    police = stamp.auth(DC, "Police.Officer")
    assert stamp.client.get(f"{PREFIX}/evidence/{item['id']}/content", headers=police).status_code == 422  # no purpose
    got = stamp.client.get(f"{PREFIX}/evidence/{item['id']}/content", params={"purpose": PURPOSE}, headers=police)
    assert got.status_code == 200 and got.content == CCTV_CLIP
    trail = stamp.client.get(
        f"{PREFIX}/audit", params={"entity": f"evidence/{item['id']}"}, headers=stamp.auth("northwind", "Retailer.Investigator")
    ).json()
    downloads = [e for e in trail["items"] if e["actor_org"] == DC]
    assert downloads and all(e["purpose"] == PURPOSE and e["action"] == "disclosure" for e in downloads)


@both_backends
def test_reminder_sent_once_a_day_before_the_deadline_then_overdue(stamp):
    asked = make_request(stamp, deadline=(stamp.clock.now() + timedelta(days=3)).isoformat())
    drain_mail(stamp)
    jobs.load_all()
    run = jobs.TIMER_JOBS["footage-reminders"].run

    assert run(stamp.container, stamp.clock.now()).counts["reminded"] == 0  # more than a day to go
    stamp.clock.advance(days=2, minutes=1)
    assert run(stamp.container, stamp.clock.now()).counts["reminded"] == 1
    assert run(stamp.container, stamp.clock.now()).counts["reminded"] == 0  # twice: still one reminder
    assert drain_mail(stamp) == ["reminder"]
    reminders = [m for m in mails(stamp) if m["subject"].startswith("Reminder")]
    assert len(reminders) == 1 and "DC/2026/118734" in reminders[0]["subject"]

    stamp.clock.advance(days=1)
    assert run(stamp.container, stamp.clock.now()).counts == {"reminded": 0, "overdue": 1}
    assert run(stamp.container, stamp.clock.now()).counts == {"reminded": 0, "overdue": 0}
    seen = stamp.client.get(f"{PREFIX}/footage-requests/{asked['id']}", headers=stamp.auth(DC, "Police.Officer")).json()
    assert seen["overdue"] is True and seen["reminder_sent_at"] is not None


def test_a_store_outside_the_force_area_is_refused_with_a_plain_reason(stamp):
    r = stamp.client.post(
        f"{PREFIX}/footage-requests", json=request_body(stamp, store_id="ct-bristol"), headers=stamp.auth(DC, "Police.Officer")
    )
    assert r.status_code == 422
    problem = r.json()
    assert problem["errors"][0]["field"] == "store_id"
    assert "Contoso Bristol is in the area of Avon and Somerset" in problem["detail"]
    listed = stamp.client.get(f"{PREFIX}/footage-requests", headers=stamp.auth("contoso", "Retailer.Investigator")).json()
    assert listed["items"] == []


def test_window_and_deadline_are_checked_field_by_field(stamp):
    now = stamp.clock.now()
    r = stamp.client.post(
        f"{PREFIX}/footage-requests",
        json=request_body(stamp, window_end=(now - timedelta(days=2)).isoformat(), deadline=(now - timedelta(hours=1)).isoformat()),
        headers=stamp.auth(DC, "Police.Officer"),
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"window_end", "deadline"}
    long = stamp.client.post(
        f"{PREFIX}/footage-requests",
        json=request_body(stamp, window_start=(now - timedelta(days=3)).isoformat()),
        headers=stamp.auth(DC, "Police.Officer"),
    )
    assert long.status_code == 422 and "24 hours" in long.json()["detail"]
    future = stamp.client.post(
        f"{PREFIX}/footage-requests",
        json=request_body(stamp, window_start=(now + timedelta(hours=1)).isoformat(), window_end=(now + timedelta(hours=2)).isoformat()),
        headers=stamp.auth(DC, "Police.Officer"),
    )
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "window_start"
    assert stamp.client.get(f"{PREFIX}/footage-requests", headers=stamp.auth(DC, "Police.Officer")).json()["items"] == []


def test_idempotency_key_makes_one_request(stamp):
    headers = {**stamp.auth(DC, "Police.Officer"), "Idempotency-Key": "fr-1"}
    body = request_body(stamp)
    first = stamp.client.post(f"{PREFIX}/footage-requests", json=body, headers=headers)
    again = stamp.client.post(f"{PREFIX}/footage-requests", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert drain_mail(stamp) == ["asked"]


def test_another_retailer_cannot_see_it_and_a_retailer_cannot_ask(stamp):
    asked = make_request(stamp)
    r = stamp.client.get(f"{PREFIX}/footage-requests/{asked['id']}", headers=stamp.auth("contoso", "Retailer.Investigator"))
    assert r.status_code == 404
    other_force = stamp.client.get(f"{PREFIX}/footage-requests/{asked['id']}", headers=stamp.auth("avon-and-somerset", "Police.Officer"))
    assert other_force.status_code == 404
    refused = stamp.client.post(f"{PREFIX}/footage-requests", json=request_body(stamp), headers=stamp.auth("northwind", "Retailer.Admin"))
    assert refused.status_code == 403


def test_declined_with_a_reason_and_withdrawn_requests_close(stamp):
    asked = make_request(stamp)
    r = stamp.client.post(
        f"{PREFIX}/footage-requests/{asked['id']}/decline",
        json={"reason": "Footage overwritten: retention 30 days."},
        headers=stamp.auth("northwind", "Retailer.Reporter"),
    )
    assert r.status_code == 200 and r.json()["status"] == "declined"
    seen = stamp.client.get(f"{PREFIX}/footage-requests/{asked['id']}", headers=stamp.auth(DC, "Police.Analyst")).json()
    assert seen["decline_reason"] == "Footage overwritten: retention 30 days."
    late = stamp.client.post(f"{PREFIX}/footage-requests/{asked['id']}/withdraw", json={}, headers=stamp.auth(DC, "Police.Officer"))
    assert late.status_code == 409

    other = make_request(stamp)
    w = stamp.client.post(
        f"{PREFIX}/footage-requests/{other['id']}/withdraw", json={"reason": "Suspect charged."}, headers=stamp.auth(DC, "Police.Officer")
    )
    assert w.status_code == 200 and w.json()["status"] == "withdrawn"
    assert sorted(drain_mail(stamp)) == ["asked", "asked", "withdrawn"]


def test_supplying_into_a_linked_request_needs_that_report(stamp):
    incident = report(stamp, role="Retailer.Investigator")
    asked = make_request(stamp)
    other = report(stamp, role="Retailer.Investigator", store_id="nw-exeter")
    item = _upload(stamp, other["id"])
    r = stamp.client.post(
        f"{PREFIX}/footage-requests/{asked['id']}/evidence/{item['id']}",
        json={},
        headers=stamp.auth("northwind", "Retailer.Investigator"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "incident_id"
    assert stamp.client.get(f"{PREFIX}/footage-requests/{asked['id']}", headers=stamp.auth(DC, "Police.Officer")).json()["status"] == "open"
    del incident


@both_backends
def test_requests_follow_their_retention_period_and_leave_a_tombstone(stamp):
    declined = make_request(stamp, crime_reference="DC/2026/1")
    stamp.client.post(
        f"{PREFIX}/footage-requests/{declined['id']}/decline",
        json={"reason": "Footage overwritten: retention 30 days."},
        headers=stamp.auth("northwind", "Retailer.Investigator"),
    )
    unanswered = make_request(stamp, crime_reference="DC/2026/2", deadline=(stamp.clock.now() + timedelta(days=60)).isoformat())
    jobs.load_all()
    sweep = jobs.TIMER_JOBS["retention"].run
    police = stamp.auth(DC, "Police.Officer")

    # 24 months after the decline it goes; the unanswered one counts from its deadline, 60 days later.
    report = sweep(stamp.container, stamp.clock.now() + timedelta(days=731))
    assert report.counts["footage_requests_deleted"] == 1
    assert stamp.client.get(f"{PREFIX}/footage-requests/{declined['id']}", headers=police).status_code == 404
    assert stamp.client.get(f"{PREFIX}/footage-requests/{unanswered['id']}", headers=police).status_code == 200
    tombstones = stamp.client.get(
        f"{PREFIX}/retention/tombstones", params={"type": "footage_request"}, headers=stamp.auth("northwind", "Retailer.Investigator")
    ).json()
    assert [t["entity_id"] for t in tombstones["items"]] == [declined["id"]]

    assert sweep(stamp.container, stamp.clock.now() + timedelta(days=731 + 61)).counts["footage_requests_deleted"] == 1
    assert stamp.client.get(f"{PREFIX}/footage-requests/{unanswered['id']}", headers=police).status_code == 404


def test_a_file_streamed_into_a_linked_request_fulfils_it(stamp):
    incident = report(stamp, role="Retailer.Investigator")
    asked = make_request(stamp)
    headers = {
        **stamp.auth("northwind", "Retailer.Investigator"),
        "Content-Type": "video/mp4",
        "X-Filename": "door.mp4",
        "X-Evidence-Kind": "cctv",
    }
    # A request that names no report needs the store's report of the event.
    unnamed = stamp.client.post(f"{PREFIX}/footage-requests/{asked['id']}/evidence", content=CCTV_CLIP, headers=headers)
    assert unnamed.status_code == 422 and unnamed.json()["errors"][0]["field"] == "incident_id"
    # Bytes that are not what they claim are refused whole: nothing stored, the request still open.
    bad = stamp.client.post(
        f"{PREFIX}/footage-requests/{asked['id']}/evidence",
        params={"incident_id": incident["id"]},
        content=b"not a video at all",
        headers=headers,
    )
    assert bad.status_code == 415
    listed = stamp.client.get(
        f"{PREFIX}/incidents/{incident['id']}/evidence", headers=stamp.auth("northwind", "Retailer.Investigator")
    ).json()
    assert listed["items"] == []
    assert stamp.client.get(f"{PREFIX}/footage-requests/{asked['id']}", headers=stamp.auth(DC, "Police.Officer")).json()["status"] == "open"
    r = stamp.client.post(
        f"{PREFIX}/footage-requests/{asked['id']}/evidence", params={"incident_id": incident["id"]}, content=CCTV_CLIP, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "fulfilled" and r.json()["incident_id"] == incident["id"]
    evidence_id = r.headers["location"].rsplit("/", 1)[1]
    chain = stamp.client.get(f"{PREFIX}/evidence/{evidence_id}/custody", headers=stamp.auth("northwind", "Retailer.Investigator")).json()
    assert [e["event"] for e in chain["events"]] == ["received", "stored", "supplied"]
    wrong = stamp.client.post(
        f"{PREFIX}/footage-requests/{asked['id']}/evidence", content=b"not a video at all", headers={**headers, "Content-Type": "video/mp4"}
    )
    assert wrong.status_code == 409  # fulfilled: nothing more is taken


def test_a_store_without_a_contact_address_gets_no_email_but_sees_the_request(stamp):
    from shared.ports import PermanentMailError

    # Contoso Bristol has no contact address; its force is Avon and Somerset.
    asked = make_request(stamp, force="avon-and-somerset", store_id="ct-bristol")
    assert drain_mail(stamp) == ["asked"]
    assert mails(stamp) == []
    listed = stamp.client.get(f"{PREFIX}/footage-requests", headers=stamp.auth("contoso", "Retailer.Reporter")).json()
    assert [r["id"] for r in listed["items"]] == [asked["id"]]

    class RefusingMail:
        def send(self, message):
            raise PermanentMailError("mailbox does not exist")

    stamp.container.footage.deps.mail = RefusingMail()
    make_request(stamp)
    assert drain_mail(stamp) == ["asked"]  # handled once, not retried into the dead-letter queue
