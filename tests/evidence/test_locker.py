"""The evidence locker over HTTP, on both evidence backends (local files; Azure adapter
on Azurite): what a store, an investigator and a force would see."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import zipfile

import pytest

from shared.domain.errors import Conflict
from shared.services.evidence.lookup import items_of_incident
from tests.evidence.conftest import INVESTIGATOR, MP4, POLICE, PURPOSE, committed_keys, headers, new_incident, staged_files, tamper, upload
from tools.verify_package import verify as verify_package


def png(width=64, height=48) -> bytes:
    import cv2
    import numpy as np

    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[:, :] = (40, 160, 220)
    image[10:30, 10:30] = (255, 255, 255)
    ok, out = cv2.imencode(".png", image)
    assert ok
    return out.tobytes()


def test_upload_download_custody_and_police_access(ev):
    incident = new_incident(ev)
    r = upload(ev, incident, **{"X-Evidence-Kind": "cctv"})
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["sha256"] == hashlib.sha256(MP4).hexdigest() and item["size"] == len(MP4)
    assert (item["kind"], item["media"], item["detected_type"], item["filename"]) == ("cctv", "video", "mp4", "till camera 2.mp4")
    assert item["retention_until"].startswith("2032-11-")

    # The force the store lies in downloads it, with a purpose, and gets the stored hash.
    url = f"/api/v1/evidence/{item['id']}/content"
    assert ev.client.get(url, headers=headers(ev, POLICE)).status_code == 422
    got = ev.client.get(url, headers=headers(ev, POLICE), params=PURPOSE)
    assert got.status_code == 200 and got.content == MP4
    assert got.headers["x-evidence-sha256"] == item["sha256"]
    assert got.headers["repr-digest"] == "sha-256=:" + base64.b64encode(hashlib.sha256(MP4).digest()).decode() + ":"
    part = ev.client.get(url, headers=headers(ev, POLICE, Range="bytes=100-199"), params=PURPOSE)
    assert part.status_code == 206 and part.content == MP4[100:200] and part.headers["content-range"] == f"bytes 100-199/{len(MP4)}"
    assert ev.client.get(url, headers=headers(ev, POLICE, Range=f"bytes={len(MP4)}-"), params=PURPOSE).status_code == 416

    custody = ev.client.get(f"/api/v1/evidence/{item['id']}/custody", headers=headers(ev, INVESTIGATOR)).json()
    assert custody["verified"] is True
    assert [e["event"] for e in custody["events"]] == ["received", "stored", "downloaded", "downloaded"]
    police_event = custody["events"][2]
    assert (police_event["actor_org"], police_event["actor_role"], police_event["purpose"]) == (
        "devon-and-cornwall",
        "Police.Officer",
        PURPOSE["purpose"],
    )
    assert custody["events"][1]["prev_hash"] == custody["events"][0]["hash"]
    listed = ev.client.get(f"/api/v1/incidents/{incident}/evidence", headers=headers(ev, POLICE), params=PURPOSE).json()["items"]
    assert [i["id"] for i in listed] == [item["id"]]
    with ev.container.records.unit_of_work() as uow:
        audit = [a["operation"] for a in uow.query("audit", ["northwind"], limit=100).items]
    assert "evidence.download" in audit and "evidence.create" in audit


def test_overwrite_is_refused(ev):
    from datetime import UTC, datetime

    blobs = ev.container.evidence_blobs
    until = datetime(2032, 1, 1, tzinfo=UTC)
    first = blobs.writer("northwind-" + "a" * 32, content_type="text/plain", retention_until=until, legal_hold=False)
    first.write(b"original statement")
    first.commit()
    second = blobs.writer("northwind-" + "a" * 32, content_type="text/plain", retention_until=until, legal_hold=False)
    second.write(b"forged statement")
    with pytest.raises(Conflict):
        second.commit()
    second.abort()
    assert b"".join(blobs.open("northwind-" + "a" * 32)) == b"original statement"


def test_verify_catches_a_byte_changed_out_of_band(ev):
    item = upload(ev, new_incident(ev)).json()
    url = f"/api/v1/evidence/{item['id']}/verify"
    assert ev.client.post(url, headers=headers(ev, INVESTIGATOR)).json()["result"] == "match"
    tamper(ev, item["id"])
    bad = ev.client.post(url, headers=headers(ev, INVESTIGATOR)).json()
    assert bad["result"] == "mismatch" and bad["found_sha256"] != item["sha256"]
    events = ev.client.get(f"/api/v1/evidence/{item['id']}/custody", headers=headers(ev, INVESTIGATOR)).json()["events"]
    assert [e["details"].get("result") for e in events if e["event"] == "verified"] == ["match", "mismatch"]

    # The daily rolling check raises an alert record for it.
    ev.clock.advance(days=1)
    report = ev.container.evidence.integrity.verify_sample(ev.clock.now())
    assert report.counts["mismatched"] == 1
    alerts = ev.container.evidence.integrity.alerts("northwind")
    assert [a["evidence_id"] for a in alerts] == [item["id"]]


def _cut_off_upload(stamp, incident, parts):
    """Send the first parts of a body over ASGI, then drop the connection."""
    app = stamp.client.app
    hdrs = headers(stamp, **{"Content-Type": "video/mp4", "X-Filename": "cam.mp4"})
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/v1/incidents/{incident}/evidence",
        "raw_path": f"/api/v1/incidents/{incident}/evidence".encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in hdrs.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "root_path": "",
    }
    messages = [{"type": "http.request", "body": p, "more_body": True} for p in parts] + [{"type": "http.disconnect"}]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_connection_cut_mid_upload_leaves_nothing(ev):
    incident = new_incident(ev)
    _cut_off_upload(ev, incident, [MP4[:60000], MP4[60000:]])
    with ev.container.records.unit_of_work() as uow:
        assert uow.count("evidence", ["northwind"]) == 0
        assert uow.count("custody", ["northwind"]) == 0
    assert committed_keys(ev) == []
    assert staged_files(ev) == []


def test_resumed_upload_gives_the_same_hash_as_a_single_one(ev):
    incident = new_incident(ev)
    single = upload(ev, incident).json()
    h = headers(ev)
    session = ev.client.post(
        f"/api/v1/incidents/{incident}/evidence/uploads",
        json={"filename": "cam.mp4", "content_type": "video/mp4", "size": len(MP4), "kind": "cctv"},
        headers=h,
    )
    assert session.status_code == 201, session.text
    sid = session.json()["id"]
    chunks = f"/api/v1/evidence/uploads/{sid}/chunks"
    first = ev.client.put(chunks, content=MP4[:40000], headers={**h, "Content-Range": f"bytes 0-39999/{len(MP4)}"})
    assert first.status_code == 200 and first.json()["received"] == 40000
    # After a drop the client asks where to resume; sending from the wrong offset is refused.
    assert ev.client.head(f"/api/v1/evidence/uploads/{sid}", headers=h).headers["upload-offset"] == "40000"
    wrong = ev.client.put(chunks, content=MP4[30000:50000], headers={**h, "Content-Range": f"bytes 30000-49999/{len(MP4)}"})
    assert wrong.status_code == 409 and wrong.json()["received"] == 40000
    early = ev.client.post(f"/api/v1/evidence/uploads/{sid}/commit", headers=h)
    assert early.status_code == 409
    rest = ev.client.put(chunks, content=MP4[40000:], headers={**h, "Content-Range": f"bytes 40000-{len(MP4) - 1}/{len(MP4)}"})
    assert rest.json()["received"] == len(MP4)
    done = ev.client.post(f"/api/v1/evidence/uploads/{sid}/commit", headers=h)
    assert done.status_code == 201, done.text
    assert done.json()["sha256"] == single["sha256"] and done.json()["size"] == single["size"] and done.json()["kind"] == "cctv"
    assert ev.client.post(f"/api/v1/evidence/uploads/{sid}/commit", headers=h).json()["id"] == done.json()["id"]
    assert staged_files(ev) == []


def test_type_mismatch_oversize_and_wrong_digest_are_clear_problems(ev):
    incident = new_incident(ev)
    mismatch = upload(ev, incident, data=png(), content_type="video/mp4")
    assert mismatch.status_code == 415 and mismatch.json()["detected"] == "image/png"
    assert "PNG" in mismatch.json()["detail"]
    exe = upload(ev, incident, data=b"MZ\x90\x00" + bytes(5000), content_type="application/pdf")
    assert exe.status_code == 415 and "Windows executable" in exe.json()["detail"]
    assert upload(ev, incident, content_type="application/zip").status_code == 415
    big = upload(ev, incident, data=MP4 + bytes(1024 * 1024))
    assert big.status_code == 413 and big.json()["max_bytes"] == 1024 * 1024
    wrong = upload(ev, incident, **{"Content-Digest": "sha-256=:" + base64.b64encode(hashlib.sha256(b"other").digest()).decode() + ":"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "Content-Digest"
    right = upload(ev, incident, **{"Content-Digest": "sha-256=:" + base64.b64encode(hashlib.sha256(MP4).digest()).decode() + ":"})
    assert right.status_code == 201
    with ev.container.records.unit_of_work() as uow:
        assert uow.count("evidence", ["northwind"]) == 1
    assert len(committed_keys(ev)) == 1 and staged_files(ev) == []


def test_another_organisation_gets_404_on_every_evidence_route(ev):
    incident = new_incident(ev)
    item = upload(ev, incident).json()
    photo = upload(ev, incident, data=png(), content_type="image/png").json()
    sid = ev.client.post(
        f"/api/v1/incidents/{incident}/evidence/uploads",
        json={"filename": "a.mp4", "content_type": "video/mp4", "size": 10},
        headers=headers(ev),
    ).json()["id"]
    for org, role in [("contoso", "Retailer.Investigator"), ("avon-and-somerset", "Police.Officer")]:
        h = {**ev.auth(org, role)}
        calls = [
            ("GET", f"/api/v1/evidence/{item['id']}", {}),
            ("GET", f"/api/v1/evidence/{item['id']}/content", {}),
            ("GET", f"/api/v1/evidence/{item['id']}/custody", {}),
            ("POST", f"/api/v1/evidence/{item['id']}/verify", {}),
            ("GET", f"/api/v1/evidence/{photo['id']}/face-proposals", {}),
            ("GET", f"/api/v1/incidents/{incident}/package", {}),
            ("GET", f"/api/v1/incidents/{incident}/evidence", {}),
        ]
        if role.startswith("Retailer"):
            calls += [
                (
                    "POST",
                    f"/api/v1/incidents/{incident}/evidence",
                    {"content": MP4, "headers": {"Content-Type": "video/mp4"}, "params": None},
                ),
                (
                    "POST",
                    f"/api/v1/evidence/{photo['id']}/redactions",
                    {
                        "json": {"method": "black_box", "regions": [{"x": 0, "y": 0, "width": 5, "height": 5}], "reason": "bystander"},
                        "params": None,
                    },
                ),
                ("GET", f"/api/v1/evidence/uploads/{sid}", {"params": None}),
                (
                    "PUT",
                    f"/api/v1/evidence/uploads/{sid}/chunks",
                    {"content": b"x", "headers": {"Content-Range": "bytes 0-0/10"}, "params": None},
                ),
                ("POST", f"/api/v1/evidence/uploads/{sid}/commit", {"params": None}),
                ("DELETE", f"/api/v1/evidence/uploads/{sid}", {"params": None}),
            ]
        for method, url, kw in calls:
            extra = kw.pop("headers", {})
            # Routes that take no purpose refuse one (unknown query parameter): only where declared.
            params = kw.pop("params", PURPOSE)
            r = ev.client.request(method, url, headers={**h, **extra}, params=params, **kw)
            assert r.status_code == 404, (org, method, url, r.status_code, r.text)
            assert item["sha256"] not in r.text
    missing = ev.client.get(f"/api/v1/evidence/northwind-{'0' * 32}", headers=headers(ev, INVESTIGATOR))
    assert missing.status_code == 404


def test_redaction_makes_a_derived_item_and_leaves_the_original(ev):
    incident = new_incident(ev)
    original = upload(ev, incident, data=png(), content_type="image/png", **{"X-Evidence-Kind": "suspect_image"}).json()
    proposals = ev.client.get(f"/api/v1/evidence/{original['id']}/face-proposals", headers=headers(ev, INVESTIGATOR))
    assert proposals.status_code == 200 and proposals.json()["proposals"] == []
    body = {
        "method": "black_box",
        "regions": [{"x": 10, "y": 10, "width": 20, "height": 20}],
        "reason": "Bystander's face before disclosure",
    }
    r = ev.client.post(f"/api/v1/evidence/{original['id']}/redactions", json=body, headers=headers(ev, INVESTIGATOR))
    assert r.status_code == 201, r.text
    derived = r.json()
    assert derived["derived_from"] == original["id"] and derived["sha256"] != original["sha256"] and derived["kind"] == "suspect_image"
    import cv2
    import numpy as np

    pixels = cv2.imdecode(
        np.frombuffer(ev.client.get(f"/api/v1/evidence/{derived['id']}/content", headers=headers(ev, INVESTIGATOR)).content, np.uint8),
        cv2.IMREAD_COLOR,
    )
    assert pixels[15:25, 15:25].max() == 0 and pixels[40, 50].tolist() == [40, 160, 220]
    assert ev.client.post(f"/api/v1/evidence/{original['id']}/verify", headers=headers(ev, INVESTIGATOR)).json()["result"] == "match"
    events = ev.client.get(f"/api/v1/evidence/{original['id']}/custody", headers=headers(ev, INVESTIGATOR)).json()["events"]
    assert "redacted" in [e["event"] for e in events]
    for method in ("blur", "pixelate", "crop"):
        assert (
            ev.client.post(
                f"/api/v1/evidence/{original['id']}/redactions", json={**body, "method": method}, headers=headers(ev, INVESTIGATOR)
            ).status_code
            == 201
        )

    video = upload(ev, incident).json()
    refused = ev.client.post(f"/api/v1/evidence/{video['id']}/redactions", json=body, headers=headers(ev, INVESTIGATOR))
    assert refused.status_code == 422 and "not supported for video" in refused.json()["detail"]
    outside = ev.client.post(
        f"/api/v1/evidence/{original['id']}/redactions",
        json={**body, "regions": [{"x": 500, "y": 500, "width": 5, "height": 5}]},
        headers=headers(ev, INVESTIGATOR),
    )
    assert outside.status_code == 422


def test_a_tampered_package_is_caught(ev, tmp_path):
    incident = new_incident(ev)
    item = upload(ev, incident, **{"X-Evidence-Kind": "cctv"}).json()
    upload(ev, incident, data=png(), content_type="image/png")
    r = ev.client.get(f"/api/v1/incidents/{incident}/package", headers=headers(ev, POLICE), params=PURPOSE)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    good = tmp_path / "good.zip"
    good.write_bytes(r.content)
    result = verify_package(good)
    assert result["ok"], result["problems"]
    keyed = verify_package(good, ev.container.chain_keys)  # platform staff check the keyed hashes too
    assert keyed["ok"], keyed["problems"]
    assert result["manifest_sha256"] == r.headers["x-manifest-sha256"]
    events = ev.client.get(f"/api/v1/evidence/{item['id']}/custody", headers=headers(ev, INVESTIGATOR)).json()["events"]
    assert events[-1]["event"] == "exported" and events[-1]["details"]["manifest_sha256"] == result["manifest_sha256"]
    with zipfile.ZipFile(good) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert {f["evidence_id"] for f in manifest["files"] if f["kind"] == "cctv"} == {item["id"]}
        assert {"case-summary.pdf", "impact-statement-for-business.pdf", "verify.py", "README.txt"} <= set(zf.namelist())

    # Change one byte of the video, drop the summary, add a file: each is named.
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "case-summary.pdf":
                continue
            if info.filename.startswith(f"evidence/{item['exhibit_label'].replace('/', '-')} "):
                data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
            dst.writestr(info.filename, data)
        dst.writestr("evidence/extra.jpg", b"\xff\xd8\xff planted")
    problems = verify_package(bad)["problems"]
    assert any(p.startswith(f"changed: evidence/{item['exhibit_label'].replace('/', '-')} ") for p in problems)
    assert "removed: case-summary.pdf" in problems and "added: evidence/extra.jpg" in problems


def test_staging_sweep_removes_abandoned_uploads(ev):
    incident = new_incident(ev)
    h = headers(ev)
    sid = ev.client.post(
        f"/api/v1/incidents/{incident}/evidence/uploads",
        json={"filename": "cam.mp4", "content_type": "video/mp4", "size": len(MP4)},
        headers=h,
    ).json()["id"]
    ev.client.put(f"/api/v1/evidence/uploads/{sid}/chunks", content=MP4[:5000], headers={**h, "Content-Range": f"bytes 0-4999/{len(MP4)}"})
    assert staged_files(ev) != []
    from datetime import timedelta

    report = ev.container.evidence.integrity.sweep_staging(ev.clock.now() + timedelta(days=400 * 30))
    assert report.counts["sessions_removed"] == 1
    assert staged_files(ev) == []
    assert ev.client.get(f"/api/v1/evidence/uploads/{sid}", headers=h).status_code == 404


def test_legal_hold_and_erasure_for_retention(ev):
    incident = new_incident(ev)
    item = upload(ev, incident).json()
    svc = ev.container.evidence.erasure
    with ev.container.records.unit_of_work() as uow:
        assert svc.set_legal_hold(uow, None, "northwind", incident, True, "Crown Court trial T2026-114") == 1
    ev.clock.advance(days=2200)
    with pytest.raises(Conflict, match="legal hold"), ev.container.records.unit_of_work() as uow:
        svc.erase_for_incident(uow, "northwind", incident, "evidence-6y")
    with ev.container.records.unit_of_work() as uow:
        svc.set_legal_hold(uow, None, "northwind", incident, False, "Trial concluded")
    events = [
        e["event"] for e in ev.client.get(f"/api/v1/evidence/{item['id']}/custody", headers=headers(ev, INVESTIGATOR)).json()["events"]
    ]
    assert events[-2:] == ["held", "released"]
    with ev.container.records.unit_of_work() as uow:
        assert uow.get("sequences", "northwind", f"exhibit/{incident}") is not None  # ST/1 was numbered
        assert svc.erase_for_incident(uow, "northwind", incident, "evidence-6y") == 1
        assert items_of_incident(uow, "northwind", incident) == []
        assert uow.count("custody", ["northwind"], []) == 0
        assert uow.get("sequences", "northwind", f"exhibit/{incident}") is None  # nothing left naming the incident
    assert committed_keys(ev) == []


def test_erasure_before_the_retention_date_is_refused(ev):
    incident = new_incident(ev)
    upload(ev, incident)
    with pytest.raises(Conflict, match="protected until"), ev.container.records.unit_of_work() as uow:
        ev.container.evidence.erasure.erase_for_incident(uow, "northwind", incident, "subject request")
    assert len(committed_keys(ev)) == 1


def test_a_download_answers_with_a_content_type_its_openapi_documents(ev):
    """A PNG comes back as image/png: the document must list it, or clients generated from
    it refuse the answer (found by tools/attack_stamp.py on a live stamp)."""
    incident = new_incident(ev)
    item = upload(ev, incident, data=png(), content_type="image/png").json()
    got = ev.client.get(f"/api/v1/evidence/{item['id']}/content", headers=headers(ev, INVESTIGATOR))
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    part = ev.client.get(f"/api/v1/evidence/{item['id']}/content", headers=headers(ev, INVESTIGATOR, Range="bytes=0-9"))
    assert part.status_code == 206
    op = ev.client.app.openapi()["paths"]["/api/v1/evidence/{evidence_id}/content"]["get"]
    for status in ("200", "206"):
        assert "image/png" in op["responses"][status]["content"], status
        assert "video/mp4" in op["responses"][status]["content"], status


def test_a_malformed_content_digest_is_a_documented_400_and_stores_nothing(ev):
    """A Content-Digest that is not an RFC 9530 dictionary is 400 problem details naming the
    header, nothing is stored, and the upload route documents the 400 (the live-stamp
    attack run found it answered but undocumented)."""
    incident = new_incident(ev)
    r = upload(ev, incident, **{"Content-Digest": "0" * 80})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [{"field": "Content-Digest"}]
    assert ev.client.get(f"/api/v1/incidents/{incident}/evidence", headers=headers(ev, INVESTIGATOR)).json()["items"] == []
    op = ev.client.app.openapi()["paths"]["/api/v1/incidents/{incident_id}/evidence"]["post"]
    assert "application/problem+json" in op["responses"]["400"]["content"]
