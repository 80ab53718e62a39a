"""Record first, bytes after: an item's record is written pending before its write-once
bytes and marked stored after them, so a failure anywhere leaves no object without a
record, and no reader ever sees a record without its file. The settling sweep finishes
or removes what an interrupted upload left behind."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.services.evidence import receiving
from tests.evidence.conftest import MP4, PURPOSE, committed_keys, headers, new_incident, upload


def _records(stamp) -> list[dict]:
    with stamp.container.records.read_only() as uow:
        return uow.query("evidence", ["northwind"], [], limit=100).items


def _listed(stamp, incident) -> list[dict]:
    r = stamp.client.get(f"/api/v1/incidents/{incident}/evidence", headers=headers(stamp))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _fail_once(monkeypatch, target, name):
    real = getattr(target, name)
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("injected fault")
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, failing)


def _writer_commit_fails(monkeypatch, stamp, *, after_storing: bool = False):
    blobs = stamp.container.evidence_blobs
    real_writer = blobs.writer

    def writer(key, **kwargs):
        w = real_writer(key, **kwargs)
        real_commit = w.commit

        def commit():
            if after_storing:
                real_commit()  # stored, but the answer is lost on the way back
            raise RuntimeError("injected blob fault")

        monkeypatch.setattr(w, "commit", commit)
        return w

    monkeypatch.setattr(blobs, "writer", writer)


def _settle(stamp, **later):
    return stamp.container.evidence.settling.sweep(stamp.clock.now() + timedelta(**later)).counts


def test_a_failed_record_commit_after_the_bytes_leaves_no_orphan(ev, monkeypatch):
    incident = new_incident(ev)
    # The unit that marks the item stored fails after the write-once bytes committed.
    _fail_once(monkeypatch, ev.container.evidence.intake.deps.audit, "record")
    r = upload(ev, incident)
    assert r.status_code == 500
    [pending] = _records(ev)
    assert pending["pending_since"] and committed_keys(ev) == [pending["id"]]
    # Readers never meet the half-finished item.
    assert _listed(ev, incident) == []
    assert ev.client.get(f"/api/v1/evidence/{pending['id']}", headers=headers(ev)).status_code == 404
    assert ev.client.get(f"/api/v1/evidence/{pending['id']}/content", headers=headers(ev)).status_code == 404
    # Too young to judge: an upload may still be finishing it.
    assert _settle(ev, minutes=1)["stored"] == 0 and _listed(ev, incident) == []
    counts = _settle(ev, minutes=30)
    assert counts["stored"] == 1, counts
    [item] = _listed(ev, incident)
    assert item["id"] == pending["id"] and item["sha256"] == hashlib.sha256(MP4).hexdigest()
    assert ev.client.get(f"/api/v1/evidence/{item['id']}/content", headers=headers(ev)).content == MP4
    chain = ev.client.get(f"/api/v1/evidence/{item['id']}/custody", headers=headers(ev)).json()
    assert [e["event"] for e in chain["events"]][:2] == ["received", "stored"] and chain["verified"]
    assert chain["events"][0]["actor_user"] == "evidence-settle"
    # Every object has its record, every record its object.
    assert committed_keys(ev) == [r["id"] for r in _records(ev)]
    assert _settle(ev, minutes=60) == {k: 0 for k in _settle(ev, minutes=60)}


def test_a_failed_blob_write_leaves_no_record_shown_as_stored(ev, monkeypatch):
    incident = new_incident(ev)
    _writer_commit_fails(monkeypatch, ev)
    assert upload(ev, incident).status_code == 500
    assert _records(ev) == [] and committed_keys(ev) == []
    assert _listed(ev, incident) == []


def test_a_pending_record_whose_bytes_never_landed_is_removed_by_the_sweep(ev, monkeypatch):
    incident = new_incident(ev)
    _writer_commit_fails(monkeypatch, ev)
    # The process dies before it can remove its pending record.
    monkeypatch.setattr(receiving, "forget_pending", lambda *a, **k: None)
    assert upload(ev, incident).status_code == 500
    [pending] = _records(ev)
    assert committed_keys(ev) == [] and _listed(ev, incident) == []
    pkg = ev.client.get(f"/api/v1/incidents/{incident}/package", headers=headers(ev), params=PURPOSE)
    assert pkg.status_code == 200 and pending["id"] not in pkg.text
    monkeypatch.undo()
    assert _settle(ev, minutes=30)["removed"] == 1
    assert _records(ev) == [] and committed_keys(ev) == []


def test_bytes_stored_but_reported_failed_are_kept_and_recorded(ev, monkeypatch):
    incident = new_incident(ev)
    _writer_commit_fails(monkeypatch, ev, after_storing=True)
    r = upload(ev, incident)
    assert r.status_code == 201, r.text
    assert committed_keys(ev) == [r.json()["id"]] and [i["id"] for i in _listed(ev, incident)] == [r.json()["id"]]


def test_an_interrupted_resumable_commit_is_finished_by_retrying_it(ev, monkeypatch):
    incident = new_incident(ev)
    h = headers(ev)
    sid = ev.client.post(
        f"/api/v1/incidents/{incident}/evidence/uploads",
        json={"filename": "cam.mp4", "content_type": "video/mp4", "size": len(MP4)},
        headers=h,
    ).json()["id"]
    ev.client.put(
        f"/api/v1/evidence/uploads/{sid}/chunks", content=MP4, headers={**h, "Content-Range": f"bytes 0-{len(MP4) - 1}/{len(MP4)}"}
    )
    _fail_once(monkeypatch, ev.container.evidence.uploads.deps.audit, "record")
    assert ev.client.post(f"/api/v1/evidence/uploads/{sid}/commit", headers=h).status_code == 500
    again = ev.client.post(f"/api/v1/evidence/uploads/{sid}/commit", headers=h)
    assert again.status_code == 201, again.text
    # One file, not two: the retry finished the item the first commit recorded.
    assert committed_keys(ev) == [again.json()["id"]] and [i["id"] for i in _listed(ev, incident)] == [again.json()["id"]]


def _orphan(stamp, retention_until: datetime) -> str:
    key = f"northwind-{uuid.uuid4().hex}"
    w = stamp.container.evidence_blobs.writer(key, content_type="video/mp4", retention_until=retention_until, legal_hold=False)
    w.write(MP4)
    w.commit()
    return key


def test_an_object_without_a_record_is_deleted_by_the_sweep(ev):
    # Object ages are judged on the store's own clock (Azurite's is the real one).
    ev.clock.current = datetime.now(UTC)
    incident = new_incident(ev)
    kept = upload(ev, incident).json()["id"]
    orphan = _orphan(ev, ev.clock.now() - timedelta(days=1))
    assert _settle(ev, minutes=1)["orphans_removed"] == 0  # too recent: a commit may be in flight
    assert _settle(ev, hours=1)["orphans_removed"] == 1
    assert orphan not in committed_keys(ev) and committed_keys(ev) == [kept]


@pytest.mark.parametrize("ev", ["local"], indirect=True)  # Azurite has no immutability policies
def test_a_protected_object_without_a_record_raises_one_alert(ev):
    orphan = _orphan(ev, ev.clock.now() + timedelta(days=365))
    assert _settle(ev, hours=1)["orphans_protected"] == 1
    _settle(ev, hours=2)
    alerts = ev.container.evidence.integrity.alerts("northwind")
    assert [(a["evidence_id"], a["reason"]) for a in alerts] == [(orphan, "stored object has no record")]
    assert committed_keys(ev) == [orphan]


def test_a_redaction_whose_copy_failed_leaves_the_original_untouched(ev, monkeypatch):
    from tests.evidence.test_locker import png

    incident = new_incident(ev)
    photo = upload(ev, incident, data=png(), content_type="image/png").json()
    _writer_commit_fails(monkeypatch, ev)
    body = {"method": "blur", "regions": [{"x": 0, "y": 0, "width": 8, "height": 8}], "reason": "Bystander"}
    assert ev.client.post(f"/api/v1/evidence/{photo['id']}/redactions", json=body, headers=headers(ev)).status_code == 500
    # No copy exists, so the original's custody must not say one was made.
    events = ev.client.get(f"/api/v1/evidence/{photo['id']}/custody", headers=headers(ev)).json()["events"]
    assert "redacted" not in [e["event"] for e in events]
    assert [i["id"] for i in _listed(ev, incident)] == [photo["id"]] and committed_keys(ev) == [photo["id"]]


def test_a_store_that_cannot_answer_leaves_the_pending_record_to_the_sweep(ev, monkeypatch):
    incident = new_incident(ev)
    _writer_commit_fails(monkeypatch, ev)
    blobs = ev.container.evidence_blobs

    def unreachable(key):
        raise ConnectionError("storage unreachable")

    monkeypatch.setattr(blobs, "size", unreachable)
    assert upload(ev, incident).status_code == 500
    # Whether the bytes landed is unknown, so the record is neither removed nor shown.
    [pending] = _records(ev)
    assert pending["pending_since"] and _listed(ev, incident) == []
    monkeypatch.undo()
    assert _settle(ev, minutes=30)["removed"] == 1 and _records(ev) == [] and committed_keys(ev) == []
