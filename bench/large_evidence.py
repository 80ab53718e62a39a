"""Large evidence through the Azure blob adapter on Azurite: server memory stays flat.

In one process (the app under Starlette's TestClient, evidence bytes in Azurite through
the real azure-storage-blob SDK, records local), for each size:
  - upload: open a resumable session, send the file in chunks of the session's
    `max_chunk_bytes` (32 MiB), commit (the server re-hashes the staged blob as a stream);
  - download: GET /evidence/{id}/content answers a 302 to a version-pinned read-only SAS;
    the file is then read from Azurite with httpx, outside the app, and its SHA-256 compared.
Prints the Python heap's peak (tracemalloc) during each phase, the process's peak RSS,
and throughput. The client's copies of a chunk are part of the figures (client and
server share the process, and TestClient hands the app the whole chunk as the Functions
host does), so what matters is that they do not grow with the file size.

    python bench/large_evidence.py --sizes 256M,1G
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from benchkit import machine  # noqa: E402

MiB = 1024 * 1024
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MiB, "G": 1024 * MiB}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def synthetic(size: int, start: int, length: int, block: bytes) -> Iterator[bytes]:
    """Bytes [start, start+length) of a file: an MP4 head, then a repeated random block."""
    at = start
    end = start + length
    while at < end:
        piece = (MP4_HEAD + block)[: len(block)] if at == 0 else block
        take = min(len(piece), end - at)
        yield piece[:take]
        at += take


def run(stamp, size: int) -> dict:
    conftest = importlib.import_module("tests.evidence.conftest")
    INVESTIGATOR, headers = conftest.INVESTIGATOR, conftest.headers

    block = os.urandom(MiB)
    digest = hashlib.sha256()
    for piece in synthetic(size, 0, size, block):
        digest.update(piece)
    auth = headers(stamp, INVESTIGATOR)
    incident = stamp.client.post("/api/v1/incidents", json=stamp.example("IncidentIn"), headers=auth).json()["id"]

    tracemalloc.start()
    started = time.perf_counter()
    session = stamp.client.post(
        f"/api/v1/incidents/{incident}/evidence/uploads",
        json={"filename": "cctv.mp4", "content_type": "video/mp4", "size": size},
        headers=auth,
    ).json()
    step = session["max_chunk_bytes"]
    for first in range(0, size, step):
        length = min(step, size - first)
        h = {**auth, "Content-Range": f"bytes {first}-{first + length - 1}/{size}"}
        r = stamp.client.put(session["chunks_url"], content=b"".join(synthetic(size, first, length, block)), headers=h)
        assert r.status_code == 200, r.text
        del r  # the bench's own copy of the chunk: not the server's to keep
    item = stamp.client.post(session["commit_url"], headers=auth).json()
    upload_s = time.perf_counter() - started
    upload_peak = tracemalloc.get_traced_memory()[1]
    assert item["sha256"] == digest.hexdigest(), item

    tracemalloc.reset_peak()
    started = time.perf_counter()
    r = stamp.client.get(f"/api/v1/evidence/{item['id']}/content", headers=auth, follow_redirects=False)
    assert r.status_code == 302, r.text
    issue_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    served = hashlib.sha256()
    with httpx.stream("GET", r.headers["location"], timeout=600) as answer:
        for chunk in answer.iter_bytes(4 * MiB):
            served.update(chunk)
    download_s = time.perf_counter() - started
    assert served.hexdigest() == digest.hexdigest()
    return {
        "size_mib": size // MiB,
        "chunk_mib": step // MiB,
        "upload_mib_s": size / MiB / upload_s,
        "upload_heap_peak_mib": upload_peak / MiB,
        "link_heap_peak_mib": issue_peak / MiB,
        "download_mib_s": size / MiB / download_s,
        "rss_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="256M,1G")
    args = parser.parse_args()
    # Imported by name: the test fixtures are not part of what mypy checks.
    emulators = importlib.import_module("tests.emulators")
    azure_store = importlib.import_module("tests.evidence.conftest").azure_store
    make_stamp = importlib.import_module("tests.fixtures_http").make_stamp

    print(machine())
    azurite = emulators.start_azurite()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sizes = [parse_size(s) for s in args.sizes.split(",")]
            stamp = make_stamp(Path(tmp), evidence_max_bytes=max(sizes))
            stamp.container.__dict__["evidence_blobs"] = azure_store(emulators.azurite_connection_string(azurite))
            stamp.backend = "azure"
            try:
                # A first small file loads the PDF fonts, templates and SDK modules, so the
                # figures below compare sizes, not a cold process with a warm one.
                run(stamp, 16 * MiB)
                for size in sizes:
                    figures = run(stamp, size)
                    print("  ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()), flush=True)
            finally:
                stamp.container.close()
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
