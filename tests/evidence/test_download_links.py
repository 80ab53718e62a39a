"""In Azure a download is a redirect to a short-lived read-only link to the stored blob
version, so the bytes never pass through the Functions host; issuing the link is audited
like a download. Locally the host streams the file as before, and everywhere files up to
8 MiB are still checked and sent by the host."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.evidence.conftest import INVESTIGATOR, MP4, headers, new_incident, upload


@pytest.fixture(autouse=True)
def _links_for_every_size(monkeypatch):
    # Only files above 8 MiB go by link; the fixture's files are small.
    from shared.services.evidence import access

    monkeypatch.setattr(access, "LINK_ABOVE", 0)


def _stored(ev) -> str:
    incident = new_incident(ev)
    r = upload(ev, incident, who=INVESTIGATOR)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _download_entries(ev, evidence_id: str) -> list[dict]:
    admin = ev.auth("northwind", "Retailer.Admin")
    audit = ev.client.get("/api/v1/audit", params={"entity": f"evidence/{evidence_id}"}, headers=admin).json()
    return [e for e in audit["items"] if e["operation"] == "evidence.download"]


def test_a_download_redirects_to_a_read_only_link_storage_serves_and_is_audited(ev):
    evidence_id = _stored(ev)
    r = ev.client.get(f"/api/v1/evidence/{evidence_id}/content", headers=headers(ev, INVESTIGATOR), follow_redirects=False)
    if ev.backend == "local":
        # No storage link for local files: the host streams them.
        assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == hashlib.sha256(MP4).hexdigest()
        assert len(_download_entries(ev, evidence_id)) == 1
        return
    assert r.status_code == 302, r.text
    assert r.headers["x-evidence-sha256"] == hashlib.sha256(MP4).hexdigest() and r.content == b""
    link = r.headers["location"]
    sas = parse_qs(urlparse(link).query)
    assert sas["sp"] == ["r"]  # read only
    expires = datetime.fromisoformat(sas["se"][0].replace("Z", "+00:00"))
    assert datetime.now(UTC) < expires <= datetime.now(UTC) + timedelta(minutes=5, seconds=5)
    assert sas["rscd"] == ['attachment; filename="till camera 2.mp4"']
    # Storage (Azurite, through the real SDK's SAS) serves exactly the recorded bytes.
    served = httpx.get(link)
    assert served.status_code == 200 and hashlib.sha256(served.content).hexdigest() == r.headers["x-evidence-sha256"]
    assert served.headers["content-disposition"] == 'attachment; filename="till camera 2.mp4"'
    # A Range sent to storage is served there.
    assert httpx.get(link, headers={"Range": "bytes=0-9"}).content == MP4[:10]
    # The link cannot write: overwriting or deleting evidence with it is refused.
    put = httpx.put(link, content=b"forged", headers={"x-ms-blob-type": "BlockBlob"})
    assert put.status_code == 403
    assert httpx.delete(link).status_code == 403
    assert hashlib.sha256(httpx.get(link).content).hexdigest() == r.headers["x-evidence-sha256"]
    # Issuing the link is the download: one audit entry, as a streamed download makes.
    entries = _download_entries(ev, evidence_id)
    assert len(entries) == 1 and entries[0]["action"] == "consultation"
    custody = ev.client.get(f"/api/v1/evidence/{evidence_id}/custody", headers=headers(ev, INVESTIGATOR)).json()
    assert [e["event"] for e in custody["events"]].count("downloaded") == 1


def test_a_client_that_cannot_follow_redirects_gets_the_link_as_json(ev):
    evidence_id = _stored(ev)
    r = ev.client.get(f"/api/v1/evidence/{evidence_id}/content", params={"redirect": "false"}, headers=headers(ev, INVESTIGATOR))
    if ev.backend == "local":
        assert r.status_code == 200 and r.content == MP4
        return
    assert r.status_code == 200, r.text
    link = r.json()
    assert link["sha256"] == hashlib.sha256(MP4).hexdigest() and link["size"] == len(MP4)
    assert hashlib.sha256(httpx.get(link["url"]).content).hexdigest() == link["sha256"]
    assert len(_download_entries(ev, evidence_id)) == 1


@pytest.mark.azure
def test_a_link_names_the_blob_version_where_storage_keeps_versions(azurite, monkeypatch):
    """Azurite keeps no versions: the version the service would report is supplied, and the
    SAS signed by the real SDK must be scoped to it (sr=bv) and the URL must ask for it."""
    from azure.storage.blob import BlobClient

    from tests.evidence.conftest import azure_store

    store = azure_store(azurite)
    store.evidence.upload_blob("e-1", b"bytes")
    real = BlobClient.get_blob_properties

    def with_version(self, **kwargs):
        props = real(self, **kwargs)
        props.version_id = "2026-11-30T18:00:00.0000000Z"
        return props

    monkeypatch.setattr(BlobClient, "get_blob_properties", with_version)
    link = store.download_url("e-1", valid_for=timedelta(minutes=5), filename="a.bin", content_type="application/octet-stream")
    query = parse_qs(urlparse(link).query)
    assert query["sr"] == ["bv"] and query["versionid"] == ["2026-11-30T18:00:00.0000000Z"] and query["sp"] == ["r"]


def test_a_small_file_is_still_checked_and_sent_by_the_host(ev, monkeypatch):
    from shared.services.evidence import access

    monkeypatch.setattr(access, "LINK_ABOVE", len(MP4))
    evidence_id = _stored(ev)
    r = ev.client.get(f"/api/v1/evidence/{evidence_id}/content", headers=headers(ev, INVESTIGATOR), follow_redirects=False)
    assert r.status_code == 200 and r.content == MP4


@pytest.mark.azure
def test_a_link_to_a_missing_object_is_not_found(azurite):
    from shared.domain.errors import NotFound
    from tests.evidence.conftest import azure_store

    store = azure_store(azurite)
    with pytest.raises(NotFound, match="missing from storage"):
        store.download_url("gone", valid_for=timedelta(minutes=5), filename="a.bin", content_type="application/octet-stream")


def test_console_pages_still_stream_the_bytes_themselves(ev):
    # Console pages play and save evidence from the app's own origin: no link for them.
    from tests.evidence.matrix_rows import NW_REPORTER

    evidence_id = _stored(ev)
    d = ev.container.evidence.access.download(NW_REPORTER, evidence_id, None, None, link=False)
    assert d.url is None and b"".join(d.body) == MP4
