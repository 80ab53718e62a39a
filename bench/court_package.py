"""A court package built once into Blob Storage (Azurite), then handed out as a link: the
building job's memory stays flat whatever the exhibits weigh.

In one process (the app under Starlette's TestClient, evidence and built packages in
Azurite through the real azure-storage-blob SDK, records local):
  - the exhibits are uploaded as resumable sessions (not measured);
  - `GET /incidents/{id}/package` answers 202 and sends the build message;
  - the `court_packages` queue job builds the zip blob to blob (measured: the Python
    heap's peak with tracemalloc, wall time, the process's peak RSS);
  - the same request then answers 303 to a read-only link, and the zip is read from
    Azurite with httpx outside the app, checked as a zip and against `Repr-Digest`.

    python bench/court_package.py --exhibits 3x100M
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib
import os
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from benchkit import machine  # noqa: E402

MiB = 1024 * 1024
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
PURPOSE = {"purpose": "Case file for CPS charging decision"}


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MiB, "G": 1024 * MiB}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def upload(stamp, auth: dict, incident: str, size: int, block: bytes) -> None:
    session = stamp.client.post(
        f"/api/v1/incidents/{incident}/evidence/uploads",
        json={"filename": f"camera-{uuid.uuid4().hex[:4]}.mp4", "content_type": "video/mp4", "size": size, "kind": "cctv"},
        headers=auth,
    ).json()
    step = session["max_chunk_bytes"]
    for first in range(0, size, step):
        length = min(step, size - first)
        body = bytearray()
        while len(body) < length:
            body += block
        if first == 0:
            body[: len(MP4_HEAD)] = MP4_HEAD
        h = {**auth, "Content-Range": f"bytes {first}-{first + length - 1}/{size}"}
        r = stamp.client.put(session["chunks_url"], content=bytes(body[:length]), headers=h)
        assert r.status_code == 200, r.text
    done = stamp.client.post(session["commit_url"], headers=auth)
    assert done.status_code == 201, done.text


def run(stamp, count: int, size: int) -> dict:
    conftest = importlib.import_module("tests.evidence.conftest")
    jobs = importlib.import_module("functions.jobs")
    jobs.load_all()
    auth = conftest.headers(stamp, conftest.INVESTIGATOR)
    police = conftest.headers(stamp, conftest.POLICE)
    incident = stamp.client.post("/api/v1/incidents", json=stamp.example("IncidentIn"), headers=auth).json()["id"]
    block = os.urandom(MiB)
    for _ in range(count):
        upload(stamp, auth, incident, size, block)

    asked = stamp.client.get(f"/api/v1/incidents/{incident}/package", headers=police, params=PURPOSE)
    assert asked.status_code == 202, asked.text
    handler = jobs.QUEUE_HANDLERS["court_packages"]
    (message,) = stamp.container.queue.receive("court_packages", max_messages=1, visibility_seconds=600)
    tracemalloc.start()
    started = time.perf_counter()
    handler(stamp.container, message.body, message.delivery_count)
    build_s = time.perf_counter() - started
    build_peak = tracemalloc.get_traced_memory()[1]
    stamp.container.queue.complete(message)

    tracemalloc.reset_peak()
    ready = stamp.client.get(asked.headers["location"], headers=police, follow_redirects=False)
    link_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert ready.status_code == 303, ready.text
    served, length = hashlib.sha256(), 0
    started = time.perf_counter()
    with httpx.stream("GET", ready.headers["location"], timeout=600) as answer:
        for chunk in answer.iter_bytes(4 * MiB):
            served.update(chunk)
            length += len(chunk)
    download_s = time.perf_counter() - started
    assert ready.headers["repr-digest"] == f"sha-256=:{base64.b64encode(served.digest()).decode()}:"
    return {
        "exhibits_mib": count * size // MiB,
        "package_mib": length / MiB,
        "build_s": build_s,
        "build_mib_s": length / MiB / build_s,
        "build_heap_peak_mib": build_peak / MiB,
        "link_heap_peak_mib": link_peak / MiB,
        "download_mib_s": length / MiB / download_s,
        "rss_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exhibits", default="3x100M", help="comma-separated <count>x<size> runs, e.g. 1x16M,3x100M")
    args = parser.parse_args()
    # Imported by name: the test fixtures are not part of what mypy checks.
    emulators = importlib.import_module("tests.emulators")
    make_stamp = importlib.import_module("tests.fixtures_http").make_stamp
    from azure.storage.blob import BlobServiceClient

    from shared.adapters.azure.blob_evidence import BLOCK, AzureBlobEvidenceStore

    print(machine())
    azurite = emulators.start_azurite()
    try:
        connection = emulators.azurite_connection_string(azurite)
        runs = [(int(c), parse_size(s)) for c, s in (r.split("x") for r in args.exhibits.split(","))]
        # The transfer sizes the app sets in Azure (AzureBlobEvidenceStore.from_settings):
        # 4 MiB per GET and per block, so one read or write never holds more.
        sizes: dict[str, Any] = {"max_single_get_size": BLOCK, "max_chunk_get_size": BLOCK, "max_block_size": BLOCK}
        with tempfile.TemporaryDirectory() as tmp:
            stamp = make_stamp(Path(tmp), evidence_max_bytes=max(s for _, s in runs))
            suffix = uuid.uuid4().hex[:12]
            evidence = AzureBlobEvidenceStore(
                BlobServiceClient.from_connection_string(connection, **sizes),
                azurite=True,
                evidence_container=f"evidence-{suffix}",
                staging_container=f"staging-{suffix}",
            )
            evidence.create_containers()
            stamp.container.__dict__["evidence_blobs"] = evidence
            packages = AzureBlobEvidenceStore(
                BlobServiceClient.from_connection_string(connection, **sizes),
                azurite=True,
                immutable=False,
                evidence_container=f"packages-{suffix}",
            )
            packages.evidence.create_container()
            stamp.container.__dict__["package_store"] = packages
            stamp.backend = "azure"
            try:
                # A first small package loads the PDF fonts, templates and SDK modules, so
                # the figures below compare sizes, not a cold process with a warm one.
                run(stamp, 1, 8 * MiB)
                for count, size in runs:
                    figures = run(stamp, count, size)
                    print("  ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()), flush=True)
            finally:
                stamp.container.close()
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
