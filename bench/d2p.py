"""D2P benchmark: submission -> email written to the outbox (p50/p99, target p99 < 2 s),
then emails/s through a stub SendGrid.

    python bench/d2p.py [--n 100] [--rate 5] [--url http://127.0.0.1:7071]

Without --url it starts a local stamp itself (functions.local_runner, temp data dir, free
port). With --url it needs the stamp's data dir (--data-dir) to watch the outbox.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, cast

from benchkit import machine, start_stamp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def call(method: str, url: str, token: str, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, json.loads(r.read() or b"null"), dict(r.headers)


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


def latency_phase(base: str, data_dir: Path, n: int, rate: float) -> dict:
    api = base + "/api/v1"
    admin = token(data_dir, "devon-and-cornwall", "Police.Admin")
    inv = token(data_dir, "northwind", "Retailer.Investigator")
    # The benchmark measures the pipeline, not evidence upload: this force drops the evidence rules.
    _, rules, headers = call("GET", f"{api}/forces/devon-and-cornwall/d2p-rules", admin)
    body = rules["rules"] | {"require_cctv": False, "require_suspect_image": False}
    call(
        "PUT",
        f"{api}/forces/devon-and-cornwall/d2p-rules",
        admin,
        body,
        {"If-Match": headers["etag"] if "etag" in headers else headers["ETag"]},
    )
    # Automatic sending waits for northwind's approved DPIA (docs/go-live.md): its admin approves it first.
    nw_admin = token(data_dir, "northwind", "Retailer.Admin")
    _, made, _ = call("POST", f"{api}/organisations/northwind/dpia", nw_admin)
    call("POST", f"{api}/organisations/northwind/dpia/versions/{made['version']}/approval", nw_admin)
    call("PUT", f"{api}/organisations/northwind/d2p-settings", nw_admin, {"auto_send": True})
    from shared.domain.incident_report import IncidentIn

    example = cast(dict[str, Any], IncidentIn.model_config["json_schema_extra"])["examples"][0]
    outbox = data_dir / "outbox"
    submitted: dict[str, float] = {}
    done: dict[str, float] = {}
    stop = threading.Event()

    def watch():
        while not stop.is_set() or len(done) < len(submitted):
            if outbox.exists():
                for f in outbox.glob("[!.]*.eml"):
                    incident_id = f.name.split(".", 1)[0]
                    if incident_id not in done:
                        done[incident_id] = time.perf_counter()
            if stop.is_set() and time.perf_counter() - stop_at[0] > 30:
                break
            time.sleep(0.005)

    stop_at = [0.0]
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    interval = 1 / rate
    start = time.perf_counter()
    for i in range(n):
        target = start + i * interval
        time.sleep(max(0, target - time.perf_counter()))
        t0 = time.perf_counter()
        _, created, _ = call("POST", f"{api}/incidents", inv, example)
        submitted[created["id"]] = t0
    stop_at[0] = time.perf_counter()
    stop.set()
    watcher.join(40)
    lat = sorted(done[i] - submitted[i] for i in submitted if i in done)
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else lat * 99
    return {
        "n": n,
        "rate_per_s": rate,
        "delivered": len(lat),
        "p50_s": round(statistics.median(lat), 3),
        "p99_s": round(q[98], 3),
        "max_s": round(lat[-1], 3),
    }


def sendgrid_phase(n: int) -> dict:
    """Emails/s through the dispatch handler with SendGrid's library against a stub server."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from shared.bootstrap import Container
    from shared.services.seed import seed_directory
    from shared.settings import Settings

    class Stub(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(202)
            self.send_header("X-Message-Id", "stub")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        c = Container(
            Settings(
                data_dir=Path(tmp),
                mail_provider="sendgrid",
                sendgrid_api_key="SG.bench",
                sendgrid_host=f"http://127.0.0.1:{server.server_address[1]}",
            )
        )
        seed_directory(c)
        from shared.domain.d2p_rules import ForceRules
        from shared.domain.incident_report import IncidentIn
        from shared.domain.tenancy import OrgKind, Principal, Role

        p = Principal(
            user_id="bench", organisation_id="northwind", organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_INVESTIGATOR})
        )
        with c.records.unit_of_work() as uow:
            cur = uow.get("d2p_rules", "devon-and-cornwall", "current")
            assert cur is not None, "the seeded force has D2P rules"
            rules = ForceRules.model_validate(cur["rules"] | {"require_cctv": False, "require_suspect_image": False})
        pa = Principal(
            user_id="bench",
            organisation_id="devon-and-cornwall",
            organisation_kind=OrgKind.POLICE_FORCE,
            roles=frozenset({Role.POLICE_ADMIN}),
        )
        c.d2p.rules.put(pa, "devon-and-cornwall", rules, cur["_etag"])
        example = IncidentIn.model_validate(cast(dict[str, Any], IncidentIn.model_config["json_schema_extra"])["examples"][0])
        for _ in range(n):
            incident = c.incidents.report.submit(p, example, None).incident.body
            c.d2p.dispatch.send(p, incident["id"])
        messages = []
        while True:
            got = c.queue.receive("d2p_dispatch", max_messages=100)
            if not got:
                break
            messages.extend(got)
        t0 = time.perf_counter()
        for m in messages:
            c.d2p.delivery.handle(m.body, m.delivery_count)
            c.queue.complete(m)
        elapsed = time.perf_counter() - t0
        c.close()
    server.shutdown()
    return {"emails": len(messages), "seconds": round(elapsed, 3), "emails_per_s": round(len(messages) / elapsed, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--rate", type=float, default=5.0)
    ap.add_argument("--url")
    ap.add_argument("--data-dir")
    ap.add_argument("--sendgrid-n", type=int, default=200)
    args = ap.parse_args()
    print("machine:", machine())
    proc = None
    tmp = None
    if args.url:
        base, data_dir = args.url.rstrip("/"), Path(args.data_dir or "var")
    else:
        tmp = tempfile.TemporaryDirectory()
        data_dir = Path(tmp.name)
        proc, base = start_stamp(data_dir, ROOT)
    try:
        print("submission -> .eml:", json.dumps(latency_phase(base, data_dir, args.n, args.rate)))
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
    print("through stub SendGrid:", json.dumps(sendgrid_phase(args.sendgrid_n)))
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
