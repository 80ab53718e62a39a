"""The court package is built once into the package store and handed out from there:
locally the app streams the stored file; in Azure (Azurite here) the first request
answers 202 while a queue job builds it, then 303 to a short-lived link to the blob.
Every handout is recorded like a download; new evidence means a new package; a built
package goes after a day, and with its incident."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import uuid
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.storage.blob import BlobServiceClient

from functions import jobs
from shared.adapters.azure.blob_evidence import AzureBlobEvidenceStore
from shared.adapters.local.file_evidence import FileEvidenceStore
from shared.services.evidence.package_delivery import PACKAGE_QUEUE, PREFIX, PackageDelivery, erase_built
from tests.evidence.conftest import MP4, POLICE, PURPOSE, headers, new_incident, tamper, upload


def _built(stamp) -> list[str]:
    store = stamp.container.package_store
    return sorted(n for n in store.objects(_dt(1970), _dt(9999)) if n.startswith(PREFIX))


def _dt(year: int):
    from datetime import UTC, datetime

    return datetime(year, 1, 1, tzinfo=UTC)


def _exported(stamp, evidence_id: str) -> list[dict]:
    events = stamp.client.get(f"/api/v1/evidence/{evidence_id}/custody", headers=headers(stamp)).json()["events"]
    return [e for e in events if e["event"] == "exported"]


def _package_entries(stamp, incident: str) -> list[dict]:
    """The audit trail's record of package handouts, as the owner's admin reads it."""
    admin = stamp.auth("northwind", "Retailer.Admin")
    audit = stamp.client.get("/api/v1/audit", params={"entity": f"incident/{incident}"}, headers=admin).json()
    return [e for e in audit["items"] if e["operation"] == "evidence.package"]


def _package(stamp, incident: str):
    return stamp.client.get(f"/api/v1/incidents/{incident}/package", headers=headers(stamp, POLICE), params=PURPOSE)


def _dispatched(stamp) -> tuple[str, str]:
    """An incident with one file, which the force may ask a package of."""
    incident = new_incident(stamp)
    return incident, upload(stamp, incident, **{"X-Evidence-Kind": "cctv"}).json()["id"]


def test_the_package_is_built_once_served_again_from_the_store_and_each_handout_recorded(ev):
    incident, evidence_id = _dispatched(ev)
    first = _package(ev, incident)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/zip"
    assert first.headers["repr-digest"] == f"sha-256=:{_b64(hashlib.sha256(first.content).digest())}:"
    assert int(first.headers["content-length"]) == len(first.content)
    ev.clock.advance(minutes=30)
    again = _package(ev, incident)
    # The same bytes from the store: not built again, though time has moved on.
    assert again.content == first.content and len(_built(ev)) == 2  # the zip and its record
    assert len(_package_entries(ev, incident)) == 2
    exported = _exported(ev, evidence_id)
    assert len(exported) == 2 and {e["details"]["manifest_sha256"] for e in exported} == {first.headers["x-manifest-sha256"]}
    assert exported[-1]["details"]["package_sha256"] == hashlib.sha256(first.content).hexdigest()

    # New evidence: a new package, which lists the new file.
    upload(ev, incident, data=MP4 + b"another angle")
    third = _package(ev, incident)
    assert third.status_code == 200 and third.content != first.content
    with zipfile.ZipFile(io.BytesIO(third.content)) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert len([f for f in manifest["files"] if f["path"].startswith("evidence/")]) == 2
    assert len(_built(ev)) == 4


def test_a_built_package_goes_after_a_day_and_the_next_request_builds_it_afresh(ev):
    incident, _ = _dispatched(ev)
    first = _package(ev, incident)
    assert first.status_code == 200
    ev.clock.advance(hours=25)
    report = jobs_run(ev, "staging-sweep")
    assert report.counts["court_packages_removed"] == 2 and _built(ev) == []
    fresh = _package(ev, incident)
    assert fresh.status_code == 200 and fresh.content != first.content  # generated now, not a day ago


def test_an_erased_incident_takes_its_built_packages_with_it(ev):
    incident, _ = _dispatched(ev)
    other, _ = _dispatched(ev)
    assert _package(ev, incident).status_code == 200 and _package(ev, other).status_code == 200
    assert erase_built(ev.container.evidence.package.deps, incident) == 2
    assert len(_built(ev)) == 2  # the other incident's stay


def test_a_file_altered_before_its_package_is_built_is_refused_and_stays_refused(ev):
    incident, evidence_id = _dispatched(ev)
    tamper(ev, evidence_id)
    for _ in range(2):
        refused = _package(ev, incident)
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert _exported(ev, evidence_id) == []
    assert [k for k in _built(ev) if not k.endswith("-m")] == []  # no zip was kept


def test_the_same_package_whichever_path_builds_it(ev, tmp_path):
    """The queue job's build and the request's build write the same bytes for the same
    reader and records (the clock stands still here; the job runs first, as building
    records nothing in custody and handing out does)."""
    incident, _ = _dispatched(ev)
    police = _principal("officer-1")
    delivery = ev.container.evidence.package_delivery
    key = delivery.key(police, incident, PURPOSE["purpose"])
    elsewhere = FileEvidenceStore(tmp_path / "elsewhere", clock=ev.clock)
    other = PackageDelivery(dataclasses.replace(delivery.deps, package_store=lambda: elsewhere), delivery.packages)
    message = {"incident_id": incident, "purpose": PURPOSE["purpose"], "key": key, "principal": police.model_dump(mode="json")}
    assert other.build_job(message) == "built"
    assert other.build_job(message) == "already built"
    by_job = json.loads(b"".join(elsewhere.open(f"{key}-m")))
    by_request = ev.client.get(f"/api/v1/incidents/{incident}/package", headers=ev.auth(*POLICE, user="officer-1"), params=PURPOSE)
    assert by_request.status_code == 200
    assert f"{key}-m" in _built(ev)
    assert hashlib.sha256(by_request.content).hexdigest() == by_job["sha256"]


def _principal(user: str):
    from shared.domain.tenancy import OrgKind, Principal, Role

    org, role = POLICE
    return Principal(user_id=user, organisation_id=org, organisation_kind=OrgKind.POLICE_FORCE, roles=frozenset({Role(role)}))


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()


def jobs_run(stamp, name: str):
    jobs.load_all()
    return jobs.run_job(stamp.container, name, stamp.clock.now())


# ---- Azure: built by the queue job, handed out as a link -----------------------------


@pytest.fixture
def linked(ev, request):
    """`ev` with its package store on Azurite (a store that gives links)."""
    if ev.backend != "azure":
        pytest.skip("links come from Blob Storage")
    service = BlobServiceClient.from_connection_string(request.getfixturevalue("azurite"))
    store = AzureBlobEvidenceStore(service, azurite=True, immutable=False, evidence_container=f"packages-{uuid.uuid4().hex[:12]}")
    store.evidence.create_container()
    ev.container.__dict__["package_store"] = store
    return ev


def _drain_packages(stamp) -> list[str]:
    jobs.load_all()
    handler = jobs.QUEUE_HANDLERS[PACKAGE_QUEUE]
    handled = []
    for message in stamp.container.queue.receive(PACKAGE_QUEUE, max_messages=16, visibility_seconds=0):
        handler(stamp.container, message.body, message.delivery_count)
        stamp.container.queue.complete(message)
        handled.append(message.message_id)
    return handled


@pytest.mark.azure
def test_in_azure_the_package_is_built_by_the_job_then_handed_out_as_a_short_lived_link(linked):
    stamp = linked
    incident, evidence_id = _dispatched(stamp)
    first = _package(stamp, incident)
    assert first.status_code == 202, first.text
    assert first.headers["location"].startswith(f"/api/v1/incidents/{incident}/package?purpose=")
    assert int(first.headers["retry-after"]) > 0 and first.json()["status"] == "building"
    # Asking again while it is built sends no second build.
    assert _package(stamp, incident).status_code == 202
    assert len(_drain_packages(stamp)) == 1
    assert _exported(stamp, evidence_id) == []  # building is not handing out

    ready = stamp.client.get(first.headers["location"], headers=headers(stamp, POLICE), follow_redirects=False)
    assert ready.status_code == 303, ready.text
    url = ready.headers["location"]
    query = parse_qs(urlsplit(url).query)
    assert query["sp"] == ["r"] and "sig" in query and "se" in query
    got = requests.get(url, timeout=30)
    assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
    assert ready.headers["repr-digest"] == f"sha-256=:{_b64(hashlib.sha256(got.content).digest())}:"
    with zipfile.ZipFile(io.BytesIO(got.content)) as z:
        assert z.testzip() is None
        manifest_sha = hashlib.sha256(z.read("manifest.json")).hexdigest()
    assert manifest_sha == ready.headers["x-manifest-sha256"]
    exported = _exported(stamp, evidence_id)
    assert len(exported) == 1 and exported[0]["details"]["link_expires_at"]
    assert len(_package_entries(stamp, incident)) == 1


def test_a_package_past_its_day_is_built_afresh_even_before_the_sweep(ev):
    incident, evidence_id = _dispatched(ev)
    first = _package(ev, incident)
    ev.clock.advance(hours=24, seconds=1)
    again = _package(ev, incident)
    assert again.status_code == 200 and again.content != first.content
    assert len(_built(ev)) == 2  # the old one went when the new one was built


def test_the_job_builds_nothing_for_a_file_gone_missing_or_an_incident_gone(ev):
    incident, evidence_id = _dispatched(ev)
    police = _principal("officer-1")
    delivery = ev.container.evidence.package_delivery
    key = delivery.key(police, incident, PURPOSE["purpose"])
    message = {"incident_id": incident, "purpose": PURPOSE["purpose"], "key": key, "principal": police.model_dump(mode="json")}
    gone = {**message, "incident_id": "no-such-incident"}
    assert delivery.build_job(gone) == "gone"
    ev.container.evidence_blobs.delete(evidence_id) if ev.backend == "azure" else ev.container.evidence_blobs._object(evidence_id).unlink()
    assert delivery.build_job(message) == "refused"
    refused = ev.client.get(f"/api/v1/incidents/{incident}/package", headers=ev.auth(*POLICE, user="officer-1"), params=PURPOSE)
    assert refused.status_code == 409 and evidence_id in refused.json()["missing"]
