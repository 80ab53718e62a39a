"""Evidence upload throughput and server memory against the physical limit.

Starts a local stamp (subprocess `python -m functions.local_runner`, data in a temp dir
on the same disk as the test file) unless --url is given, then for each size:
  - the limit: `sha256sum FILE` then `cp FILE COPY` (hash and write once, as the server must);
  - upload: POST /incidents/{id}/evidence with the file streamed as the raw body;
  - download: GET /evidence/{id}/content streamed to nowhere;
and reads the server's peak RSS (VmHWM) from /proc after each upload.

    python bench/evidence.py --sizes 100M,1G
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from benchkit import machine, start_stamp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MiB = 1024 * 1024
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MiB, "G": 1024 * MiB}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MiB)
    with open(path, "wb") as f:
        f.write(MP4_HEAD)
        left = size - len(MP4_HEAD)
        while left > 0:
            f.write(block[: min(left, MiB)])
            left -= MiB


def token(data_dir: Path, org: str, role: str) -> str:
    env = {**os.environ, "VIGIL_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "functions.cli", "token", "--org", org, "--role", role],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return 0.0


def limit(path: Path, scratch: Path) -> float:
    """Seconds for sha256sum then cp of the file on the same disk (page cache dropped is not possible unprivileged)."""
    copy = scratch / "copy.bin"
    t0 = time.perf_counter()
    subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)
    subprocess.run(["cp", str(path), str(copy)], check=True)
    os.sync()
    elapsed = time.perf_counter() - t0
    copy.unlink()
    return elapsed


def upload(base: str, tok: str, incident: str, path: Path) -> tuple[float, dict]:
    u = urllib.parse.urlparse(base)
    assert u.hostname, f"no host in {base}"
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600, blocksize=MiB)
    size = path.stat().st_size
    with open(path, "rb") as f:
        t0 = time.perf_counter()
        conn.request(
            "POST",
            f"/api/v1/incidents/{incident}/evidence",
            body=f,
            headers={
                "Authorization": f"Bearer {tok}",
                "Content-Type": "video/mp4",
                "X-Filename": path.name,
                "X-Evidence-Kind": "cctv",
                "Content-Length": str(size),
            },
        )
        r = conn.getresponse()
        body = json.loads(r.read())
        elapsed = time.perf_counter() - t0
    conn.close()
    if r.status != 201:
        raise SystemExit(f"upload failed: {r.status} {body}")
    return elapsed, body


def download(base: str, tok: str, evidence_id: str) -> tuple[float, str]:
    u = urllib.parse.urlparse(base)
    assert u.hostname, f"no host in {base}"
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    hasher = hashlib.sha256()
    t0 = time.perf_counter()
    conn.request("GET", f"/api/v1/evidence/{evidence_id}/content", headers={"Authorization": f"Bearer {tok}"})
    r = conn.getresponse()
    while chunk := r.read(MiB):
        hasher.update(chunk)
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed, hasher.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100M,1G")
    ap.add_argument("--url", help="a running stamp (its data dir must be given with --data-dir for tokens)")
    ap.add_argument("--data-dir")
    args = ap.parse_args()
    print("machine:", machine())
    with tempfile.TemporaryDirectory(dir=ROOT / "var" if (ROOT / "var").exists() else None) as tmp:
        scratch = Path(tmp)
        data_dir = Path(args.data_dir) if args.data_dir else scratch / "stamp"
        proc = None
        base = args.url
        if not base:
            proc, base = start_stamp(data_dir, ROOT)
        try:
            inv = token(data_dir, "northwind", "Retailer.Investigator")
            req = urllib.request.Request(
                base + "/api/v1/incidents",
                method="POST",
                data=json.dumps(_incident()).encode(),
                headers={"Authorization": f"Bearer {inv}", "Content-Type": "application/json"},
            )
            incident = json.loads(urllib.request.urlopen(req).read())["id"]
            rss_idle = peak_rss_mb(proc.pid) if proc else None
            print(f"server peak RSS after start: {rss_idle:.0f} MB" if rss_idle else "server RSS: not measured (--url)")
            for text in args.sizes.split(","):
                size = parse_size(text)
                path = scratch / f"cctv-{text}.mp4"
                make_file(path, size)
                t_limit = limit(path, scratch)
                t_up, item = upload(base, inv, incident, path)
                rss = peak_rss_mb(proc.pid) if proc else None
                t_down, got = download(base, inv, item["id"])
                ok = got == item["sha256"]
                mb = size / MiB
                print(
                    json.dumps(
                        {
                            "size": text,
                            "limit_MBps": round(mb / t_limit, 1),
                            "upload_MBps": round(mb / t_up, 1),
                            "ratio": round(t_limit / t_up, 2),
                            "download_MBps": round(mb / t_down, 1),
                            "download_hash_ok": ok,
                            "server_peak_rss_MB": round(rss) if rss else None,
                        }
                    )
                )
                path.unlink()
        finally:
            if proc:
                proc.terminate()
                proc.wait(timeout=30)


def _incident() -> dict:
    from functions.http.app import create_app
    from shared.bootstrap import Container
    from shared.settings import Settings

    app = create_app(Container(Settings(data_dir=Path("/nonexistent-bench"))))
    return dict(app.openapi()["components"]["schemas"]["IncidentIn"]["examples"][0])


if __name__ == "__main__":
    main()
