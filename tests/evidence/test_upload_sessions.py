"""A resumable upload belongs to the person who opened it, and each chunk is kept whole
or not at all."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.evidence.conftest import MP4, new_incident

RR = "Retailer.Reporter"


def _open(stamp, incident_id, auth) -> str:
    r = stamp.client.post(
        f"/api/v1/incidents/{incident_id}/evidence/uploads",
        json={"filename": "cam.mp4", "content_type": "video/mp4", "size": len(MP4)},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _chunk(stamp, sid, auth, data: bytes, first: int, last: int):
    h = {**auth, "Content-Range": f"bytes {first}-{last}/{len(MP4)}"}
    return stamp.client.put(f"/api/v1/evidence/uploads/{sid}/chunks", content=data, headers=h)


def test_only_the_opener_may_use_an_upload_session(ev):
    opener = ev.auth("northwind", RR, user="till-alice", stores=["nw-plymouth"])
    incident = new_incident(ev)  # filed by the default reporter; an investigator opens the upload
    investigator = ev.auth("northwind", "Retailer.Investigator", user="inv-dana")
    sid = _open(ev, incident, investigator)
    assert _chunk(ev, sid, investigator, MP4[:40000], 0, 39999).status_code == 200
    colleague = ev.auth("northwind", "Retailer.Investigator", user="inv-eric")
    for auth in (colleague, opener):
        # The session id alone opens nothing: someone else who learns it gets a 404.
        assert ev.client.get(f"/api/v1/evidence/uploads/{sid}", headers=auth).status_code == 404
        assert ev.client.head(f"/api/v1/evidence/uploads/{sid}", headers=auth).status_code == 404
        assert _chunk(ev, sid, auth, MP4[40000:], 40000, len(MP4) - 1).status_code == 404
        assert ev.client.post(f"/api/v1/evidence/uploads/{sid}/commit", headers=auth).status_code == 404
        assert ev.client.delete(f"/api/v1/evidence/uploads/{sid}", headers=auth).status_code == 404
    # None of that touched the opener's upload.
    assert ev.client.get(f"/api/v1/evidence/uploads/{sid}", headers=investigator).json()["received"] == 40000
    assert _chunk(ev, sid, investigator, MP4[40000:], 40000, len(MP4) - 1).status_code == 200
    done = ev.client.post(f"/api/v1/evidence/uploads/{sid}/commit", headers=investigator)
    assert done.status_code == 201 and done.json()["created_by"] == "inv-dana"


def test_a_short_chunk_is_refused_and_nothing_of_it_is_kept(ev):
    incident = new_incident(ev)
    auth = ev.auth("northwind", "Retailer.Investigator")
    sid = _open(ev, incident, auth)
    short = _chunk(ev, sid, auth, MP4[:30000], 0, 39999)
    assert short.status_code == 422, short.text
    assert short.json()["errors"][0]["field"] == "Content-Range" and "30000" in short.json()["detail"]
    assert ev.client.head(f"/api/v1/evidence/uploads/{sid}", headers=auth).headers["upload-offset"] == "0"
    assert _chunk(ev, sid, auth, MP4[:40000], 0, 39999).status_code == 200
    # A non-final chunk cut short later on: the upload stays at the last whole chunk.
    cut = _chunk(ev, sid, auth, MP4[40000:60000], 40000, 79999)
    assert cut.status_code == 422 and cut.json()["received"] == 40000
    assert ev.client.get(f"/api/v1/evidence/uploads/{sid}", headers=auth).json()["received"] == 40000
    assert _chunk(ev, sid, auth, MP4[40000:], 40000, len(MP4) - 1).json()["received"] == len(MP4)
    done = ev.client.post(f"/api/v1/evidence/uploads/{sid}/commit", headers=auth)
    assert done.status_code == 201, done.text
    assert done.json()["sha256"] == hashlib.sha256(MP4).hexdigest()


@pytest.mark.azure
def test_an_upload_staged_as_an_append_blob_is_a_clear_conflict(azurite):
    from shared.domain.errors import Conflict
    from tests.evidence.conftest import azure_store

    store = azure_store(azurite)
    upload_id = uuid.uuid4().hex
    store.staging.get_blob_client(upload_id).create_append_blob()
    with pytest.raises(Conflict, match="older format"):
        store.stage(upload_id, 0, [b"x" * 10])


def test_opening_an_upload_again_with_the_same_key_answers_the_same_session(ev):
    _same_key_same_session(ev)


@pytest.mark.azure
def test_opening_an_upload_again_with_the_same_key_answers_the_same_session_on_cosmos(tmp_path, cosmos_emulator, azurite):
    from tests.evidence.conftest import azure_store
    from tests.fixtures_http import AZURE_CHAIN_KEYS, local_checkpoints, make_stamp

    def prepare(container) -> None:
        # Before the seed, whose onboarding builds the services on these adapters.
        local_checkpoints(container, tmp_path)
        container.__dict__["evidence_blobs"] = azure_store(azurite)

    stamp = make_stamp(
        tmp_path,
        prepare=prepare,
        backend="azure",
        cosmos_endpoint=cosmos_emulator.endpoint,
        cosmos_key=cosmos_emulator.key,
        cosmos_database_prefix="u" + uuid.uuid4().hex[:12],
        **AZURE_CHAIN_KEYS,
    )
    try:
        assert type(stamp.container.records).__name__ == "CosmosRecordStore"
        _same_key_same_session(stamp)
    finally:
        try:
            stamp.container.records.client().delete_database(stamp.container.records.database_name)
        finally:
            stamp.container.close()


def _same_key_same_session(ev) -> None:
    incident = new_incident(ev)
    auth = {**ev.auth("northwind", "Retailer.Investigator"), "Idempotency-Key": "vms-export-cam2-0001"}
    declared = {"filename": "cam.mp4", "content_type": "video/mp4", "size": len(MP4)}
    url = f"/api/v1/incidents/{incident}/evidence/uploads"
    first = ev.client.post(url, json=declared, headers=auth)
    assert first.status_code == 201, first.text
    sid = first.json()["id"]
    assert _chunk(ev, sid, auth, MP4[:40000], 0, 39999).status_code == 200
    # The answer to the open was lost; the exporter retries it as it was.
    again = ev.client.post(url, json=declared, headers=auth)
    assert again.status_code == 201, again.text
    assert again.json()["id"] == sid and again.json()["received"] == 40000
    assert again.headers["Location"] == first.headers["Location"]
    with ev.container.records.read_only() as uow:
        assert uow.count("evidence_uploads", ["northwind"]) == 1
    # The same key for another file is refused, and opens nothing.
    other = ev.client.post(url, json={**declared, "filename": "cam3.mp4"}, headers=auth)
    assert other.status_code == 422 and other.json()["errors"] == [{"field": "Idempotency-Key"}]
    # Cancelled since: the retry is told so, and no session is opened in its place.
    assert ev.client.delete(f"/api/v1/evidence/uploads/{sid}", headers=auth).status_code == 204
    gone = ev.client.post(url, json=declared, headers=auth)
    assert gone.status_code == 410, gone.text
    with ev.container.records.read_only() as uow:
        assert uow.count("evidence_uploads", ["northwind"]) == 0
    # Without a key, each open is its own session (as before).
    plain = ev.auth("northwind", "Retailer.Investigator")
    assert ev.client.post(url, json=declared, headers=plain).json()["id"] != ev.client.post(url, json=declared, headers=plain).json()["id"]


def test_a_chunk_over_the_hosts_limit_is_a_413_naming_the_limit_and_nothing_is_kept(ev, monkeypatch):
    from shared.services.evidence import uploads

    incident = new_incident(ev)
    auth = ev.auth("northwind", "Retailer.Investigator")
    sid = _open(ev, incident, auth)
    # The session tells a client how large a chunk may be before it sends one.
    assert ev.client.get(f"/api/v1/evidence/uploads/{sid}", headers=auth).json()["max_chunk_bytes"] == 32 * 1024 * 1024
    # The fixture's files are small: a smaller limit shows the same refusal.
    monkeypatch.setattr(uploads, "MAX_CHUNK_BYTES", 30_000)
    r = _chunk(ev, sid, auth, MP4[:40000], 0, 39999)
    assert r.status_code == 413, r.text
    problem = r.json()
    assert problem["max_chunk_bytes"] == 30_000
    assert "30000 bytes" in problem["detail"] and f"/api/v1/evidence/uploads/{sid}/chunks" in problem["detail"]
    assert ev.client.head(f"/api/v1/evidence/uploads/{sid}", headers=auth).headers["upload-offset"] == "0"
    # Within the limit the same bytes go through.
    assert _chunk(ev, sid, auth, MP4[:30000], 0, 29999).status_code == 200
