"""Stored evidence is checked as it is served: a file that went missing or was altered
is never handed out as if intact, neither alone nor inside a court package, and the
failure lands in the item's custody and the integrity alerts."""

from __future__ import annotations

import io
import zipfile

import pytest

from shared.domain.errors import IntegrityFailure
from shared.services.evidence import access
from tests.evidence.conftest import MP4, PURPOSE, headers, new_incident, tamper, upload
from tests.evidence.matrix_rows import NW_REPORTER as INVESTIGATOR


def _remove(stamp, evidence_id: str) -> None:
    """Lose the stored object out of band, as a storage fault would."""
    blobs = stamp.container.evidence_blobs
    if stamp.backend == "local":
        blobs._object(evidence_id).unlink()
    else:
        blobs.evidence.get_blob_client(evidence_id).delete_blob()


def _events(stamp, evidence_id: str) -> list[dict]:
    r = stamp.client.get(f"/api/v1/evidence/{evidence_id}/custody", headers=headers(stamp))
    return r.json()["events"]


def _failure_recorded(stamp, evidence_id: str, during: str) -> None:
    last = [e for e in _events(stamp, evidence_id) if e["event"] == "verified"][-1]
    assert last["details"]["result"] == "mismatch" and last["actor_user"] != "system"
    alerts = stamp.container.evidence.integrity.alerts("northwind")
    assert [(a["evidence_id"], a["during"]) for a in alerts] == [(evidence_id, during)]
    item = stamp.client.get(f"/api/v1/evidence/{evidence_id}", headers=headers(stamp)).json()
    assert item["last_verification"] == "mismatch"


def test_a_tampered_file_is_refused_before_any_byte_is_sent(ev):
    incident = new_incident(ev)
    item = upload(ev, incident).json()
    assert ev.client.get(f"/api/v1/evidence/{item['id']}/content", headers=headers(ev)).content == MP4
    tamper(ev, item["id"])
    for extra in ({}, {"Range": "bytes=0-99"}):
        r = ev.client.get(f"/api/v1/evidence/{item['id']}/content", headers=headers(ev, **extra))
        assert r.status_code == 409, r.text
        assert r.headers["content-type"].startswith("application/problem+json") and "no longer matches" in r.json()["detail"]
    _failure_recorded(ev, item["id"], "download")
    assert [e["event"] for e in _events(ev, item["id"])].count("downloaded") == 1  # only the intact one


def test_a_tampered_large_file_never_arrives_whole(ev, monkeypatch):
    monkeypatch.setattr(access, "VERIFY_BEFORE_SENDING", 0)  # stream-checked, as a long video is
    incident = new_incident(ev)
    item = upload(ev, incident).json()
    tamper(ev, item["id"])
    d = ev.container.evidence.access.download(INVESTIGATOR, item["id"], None, None)
    sent = bytearray()
    with pytest.raises(IntegrityFailure):
        for chunk in d.body:
            sent += chunk
    # The reader is left short of the declared length, so no client takes it as complete.
    assert len(sent) < d.length
    _failure_recorded(ev, item["id"], "download")


def test_a_package_with_a_missing_file_is_refused_whole(ev):
    incident = new_incident(ev)
    kept = upload(ev, incident).json()
    lost = upload(ev, incident).json()
    _remove(ev, lost["id"])
    r = ev.client.get(f"/api/v1/incidents/{incident}/package", headers=headers(ev), params=PURPOSE)
    assert r.status_code == 409, r.text
    assert r.json()["missing"] == [lost["id"]] and r.headers["content-type"].startswith("application/problem+json")
    # Nothing was exported: no custody event says a package went out.
    assert "exported" not in [e["event"] for e in _events(ev, kept["id"])]
    last = [e for e in _events(ev, lost["id"]) if e["event"] == "verified"][-1]
    assert last["details"]["missing"] is True


def test_a_file_altered_after_the_check_stops_the_package_stream(ev):
    incident = new_incident(ev)
    item = upload(ev, incident).json()
    tamper(ev, item["id"])  # same size, so only the hash shows it
    pkg = ev.container.evidence.package.build(INVESTIGATOR, incident, None)
    sent = bytearray()
    with pytest.raises(IntegrityFailure):
        for chunk in pkg.body:
            sent += chunk
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(bytes(sent)))
    _failure_recorded(ev, item["id"], "package")
