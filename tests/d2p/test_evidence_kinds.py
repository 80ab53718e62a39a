"""The declared kind of evidence must fit its bytes: two text files declared `cctv` and
`suspect_image` are refused, so they can never meet the D2P evidence rules."""

from __future__ import annotations

from tests.d2p.helpers import CCTV_CLIP, STILL_IMAGE, add_evidence, report

INV = ("northwind", "Retailer.Investigator")
NOTE = b"This is not CCTV, just a note typed at the till.\n" * 20


def _upload(stamp, incident, kind, data, content_type):
    headers = {**stamp.auth(*INV), "Content-Type": content_type, "X-Filename": "file", "X-Evidence-Kind": kind}
    return stamp.client.post(f"/api/v1/incidents/{incident['id']}/evidence", content=data, headers=headers)


def _items(stamp, incident):
    return stamp.client.get(f"/api/v1/incidents/{incident['id']}/evidence", headers=stamp.auth(*INV)).json()["items"]


def test_text_files_declared_cctv_and_suspect_image_are_refused(stamp):
    incident = report(stamp)
    for kind in ("cctv", "suspect_image"):
        r = _upload(stamp, incident, kind, NOTE, "text/plain")
        assert r.status_code == 422, r.text
        problem = r.json()
        assert kind in problem["detail"] and "text/plain" in problem["detail"]
        assert problem["kind"] == kind and problem["detected"] == "text/plain"
        assert problem["errors"][0]["field"] == "X-Evidence-Kind"
    assert _items(stamp, incident) == []
    d2p = stamp.client.get(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth(*INV)).json()
    assert d2p["eligible"] is False
    assert {r["rule"] for r in d2p["rules"] if not r["passed"]} >= {"cctv", "suspect_image"}


def test_wrong_media_for_the_kind_is_refused_and_right_media_accepted(stamp):
    incident = report(stamp)
    assert _upload(stamp, incident, "cctv", STILL_IMAGE, "image/jpeg").status_code == 422
    assert _upload(stamp, incident, "suspect_image", CCTV_CLIP, "video/mp4").status_code == 422
    # A text file of another kind (a statement) is still welcome.
    assert _upload(stamp, incident, "statement", NOTE, "text/plain").status_code == 201
    items = add_evidence(stamp, incident, "cctv", "suspect_image")
    assert [(i["kind"], i["media"]) for i in items] == [("cctv", "video"), ("suspect_image", "image")]
    d2p = stamp.client.get(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth(*INV)).json()
    assert d2p["eligible"] is True


def test_resumable_upload_refuses_a_kind_its_file_does_not_fit(stamp):
    incident = report(stamp)
    h = stamp.auth(*INV)
    start = f"/api/v1/incidents/{incident['id']}/evidence/uploads"
    refused = stamp.client.post(
        start, json={"filename": "n.txt", "content_type": "text/plain", "size": len(NOTE), "kind": "cctv"}, headers=h
    )
    assert refused.status_code == 422 and refused.json()["detected"] == "text/plain"
    # A session opened before the rule (kind changed underneath) is still refused at commit.
    session = stamp.client.post(start, json={"filename": "n.txt", "content_type": "text/plain", "size": len(NOTE)}, headers=h).json()
    with stamp.container.records.unit_of_work() as uow:
        doc = uow.get("evidence_uploads", "northwind", session["id"])
        uow.replace("evidence_uploads", "northwind", {**doc, "kind": "suspect_image"}, if_match=None)
    chunk = {**h, "Content-Range": f"bytes 0-{len(NOTE) - 1}/{len(NOTE)}"}
    assert stamp.client.put(f"/api/v1/evidence/uploads/{session['id']}/chunks", content=NOTE, headers=chunk).status_code == 200
    commit = stamp.client.post(f"/api/v1/evidence/uploads/{session['id']}/commit", headers=h)
    assert commit.status_code == 422, commit.text
    assert commit.json()["kind"] == "suspect_image" and commit.json()["detected"] == "text/plain"
    assert _items(stamp, incident) == []
