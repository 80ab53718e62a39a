"""Evidence fixtures: a seeded stamp whose evidence bytes live on local files or, for
the `azure` parameter, in Azurite through the Azure adapter (which then skips exactly
the calls Azurite lacks: immutability policy, legal hold, version deletes)."""

from __future__ import annotations

import os
import stat
import uuid

import pytest

from tests.fixtures_backends import BACKENDS
from tests.fixtures_http import make_stamp

REPORTER = ("northwind", "Retailer.Reporter")
INVESTIGATOR = ("northwind", "Retailer.Investigator")
POLICE = ("devon-and-cornwall", "Police.Officer")
PURPOSE = {"purpose": "Case file for CPS charging decision"}

# A minimal but real MP4 head (ftyp box) followed by filler: enough for the sniffer.
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 400


def azure_store(connection_string: str):
    from azure.storage.blob import BlobServiceClient

    from shared.adapters.azure.blob_evidence import AzureBlobEvidenceStore

    service = BlobServiceClient.from_connection_string(connection_string)
    suffix = uuid.uuid4().hex[:12]
    store = AzureBlobEvidenceStore(service, azurite=True, evidence_container=f"evidence-{suffix}", staging_container=f"staging-{suffix}")
    store.create_containers()
    return store


@pytest.fixture(params=BACKENDS)
def ev(request, tmp_path):
    """A stamp (1 MiB evidence bound, so oversize is cheap to test) on the chosen evidence backend."""
    stamp = make_stamp(tmp_path, evidence_max_bytes=1024 * 1024)
    stamp.backend = request.param
    if request.param == "azure":
        stamp.container.__dict__["evidence_blobs"] = azure_store(request.getfixturevalue("azurite"))
    yield stamp
    stamp.container.close()


@pytest.fixture
def cosmos_too(request, stamp):
    """`stamp`, whose evidence bytes go to Azurite when `@both_backends` puts its records in Cosmos DB."""
    if stamp.container.settings.backend == "azure":
        stamp.container.__dict__["evidence_blobs"] = azure_store(request.getfixturevalue("azurite"))
    return stamp


def headers(stamp, who=REPORTER, **extra):
    org, role = who
    stores = ["nw-plymouth"] if role == "Retailer.Reporter" else None
    return {**stamp.auth(org, role, stores=stores), **extra}


def new_incident(stamp) -> str:
    r = stamp.client.post("/api/v1/incidents", json=stamp.example("IncidentIn"), headers=headers(stamp))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def upload(stamp, incident_id, data=MP4, content_type="video/mp4", who=REPORTER, **extra):
    h = headers(stamp, who, **{"Content-Type": content_type, "X-Filename": "till camera 2.mp4", **extra})
    return stamp.client.post(f"/api/v1/incidents/{incident_id}/evidence", content=data, headers=h)


def tamper(stamp, evidence_id: str) -> None:
    """Change one stored byte out of band, as a disk fault or an intruder would."""
    blobs = stamp.container.evidence_blobs
    if stamp.backend == "local":
        path = blobs._object(evidence_id)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        with open(path, "r+b") as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0xFF]))
    else:
        blob = blobs.evidence.get_blob_client(evidence_id)
        data = bytearray(blob.download_blob().readall())
        data[100] ^= 0xFF
        blob.upload_blob(bytes(data), overwrite=True)


def committed_keys(stamp) -> list[str]:
    blobs = stamp.container.evidence_blobs
    if stamp.backend == "local":
        return sorted(p.name for p in (blobs.root / "objects").rglob("*") if p.is_file() and not p.name.endswith(".meta"))
    return sorted(b.name for b in blobs.evidence.list_blobs())


def staged_files(stamp) -> list[str]:
    blobs = stamp.container.evidence_blobs
    if stamp.backend == "local":
        return sorted(p.name for sub in ("staging", "uploads") for p in (blobs.root / sub).iterdir())
    return sorted(b.name for b in blobs.staging.list_blobs())
