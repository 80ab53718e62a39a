"""Rerun the hardening attacks against a real local stamp: schemathesis, every admitted role.

Usage (from the repository root, after `make venv`; docs/security.md):

    PYTHONPATH=. .venv/bin/python tools/attack_stamp.py                  # a fresh stamp, all routes
    PYTHONPATH=. .venv/bin/python tools/attack_stamp.py --only incidents # routes whose path contains it
    PYTHONPATH=. .venv/bin/python tools/attack_stamp.py --phases examples,coverage,fuzzing,stateful --max-examples 40
    PYTHONPATH=. .venv/bin/python tools/attack_stamp.py --url http://127.0.0.1:7071 --data-dir var

Without --url it starts the platform as `make run` does (`python -m functions.local_runner`)
on a temp data dir and a free port, with the demo seed, and stops it afterwards. Tokens are
minted with `python -m functions.cli token` for each role, in the role's own organisation
(the authorization matrix's "own" side, tests/http/test_authz_matrix.py).

For every operation of the live stamp's OpenAPI document and every role the matrix admits
for it, `schemathesis run` sends the examples, the coverage phase (boundary values, nulls,
wrong types, missing and extra fields) and `--max-examples` fuzzed cases, with the checks
not_a_server_error, status_code_conformance (every status documented),
content_type_conformance and response_schema_conformance. Path ids name real objects (a
fresh northwind incident per role with CCTV and a suspect image, sent to the force for
police roles; the role's own organisation), so cases reach the handlers, not only the
404 of an unknown id. Routes with no token
(health, SendGrid's signed webhook) run once without a token.

The per-person write budget is lifted on the stamp it starts (as the intake bench does):
otherwise most writes would answer the documented 429 and the fuzzer would never reach the
handlers behind it. Takes about six minutes on two cores: not part of `make test`; the
in-process schemathesis test (tests/http/test_openapi.py) is the CI guard.

Prints the cases sent, how many were answered 5xx, and each failed check (operation, role,
request and status); exits 1 if any check failed, a schemathesis error left an operation
untested, or the stamp exited. Each role's ndjson report, its log (with a curl line per
failure) and the stamp's stderr are kept under --report-dir (var/attack-reports).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
API = "/api/v1"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(base: str, proc: subprocess.Popen | None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the stamp exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + API + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the stamp did not become ready")


def mint(data_dir: Path, org: str, role: str) -> str:
    env = {**os.environ, "VIGIL_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "functions.cli", "token", "--org", org, "--role", role]
    return subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def _matrix() -> Any:
    """The authorization matrix (which roles each route admits, and each role's own
    organisation): imported at run time, as test code it is not type-checked with the tools."""
    return importlib.import_module("tests.http.test_authz_matrix")


def plan(only: str | None) -> dict[str | None, list[str]]:
    """Operation names ("GET /api/v1/incidents") to run, grouped by role (None: no token)."""
    matrix = _matrix()
    by_role: dict[str | None, list[str]] = defaultdict(list)
    for method, path in matrix.ROUTES:
        if only and only not in path:
            continue
        row = matrix.MATRIX[(method, path)]
        for role in [None] if row.public else sorted(row.allowed):
            by_role[role].append(f"{method} {path}")
    return by_role


def _call(base: str, method: str, path: str, token: str, *, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        base + API + path, data=body, method=method, headers={"Authorization": f"Bearer {token}", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read())


# Small files whose first bytes are a real MP4 and a real JPEG (uploads are sniffed): CCTV
# and a still of the suspect make a report eligible for direct reporting to the force.
CCTV_CLIP = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 64
STILL_IMAGE = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


def real_objects(base: str, tokens: dict[str, str], role: str | None, own: dict[str, str]) -> dict[str, str]:
    """Path parameters naming real objects, so the cases reach the handlers and not only
    the 404 of an unknown id. Each role gets a fresh northwind incident (a role's run may
    change or erase it), reported by the role itself for store staff (they reach their own
    reports only), with CCTV and a suspect image; for police roles it is sent to
    devon-and-cornwall and the driver waits until the stamp's queue worker has sent it
    (outcomes, legal holds and acknowledgements are the receiving force's)."""
    with urllib.request.urlopen(base + API + "/openapi.json", timeout=30) as r:
        example = json.loads(r.read())["components"]["schemas"]["IncidentIn"]["examples"][0]
    creator = tokens["Retailer.Reporter"] if role == "Retailer.Reporter" else tokens["Retailer.Investigator"]
    incident = _call(base, "POST", "/incidents", creator, body=json.dumps(example).encode(), headers={"Content-Type": "application/json"})
    evidence = [
        _call(
            base,
            "POST",
            f"/incidents/{incident['id']}/evidence",
            creator,
            body=data,
            headers={"Content-Type": content_type, "X-Filename": name, "X-Evidence-Kind": kind},
        )
        for kind, data, content_type, name in (
            ("cctv", CCTV_CLIP, "video/mp4", "till camera 2.mp4"),
            ("suspect_image", STILL_IMAGE, "image/jpeg", "suspect.jpg"),
        )
    ]
    found = {"incident_id": incident["id"], "evidence_id": evidence[0]["id"], "owner_id": "northwind", "force_id": "devon-and-cornwall"}
    if role is not None:
        found["org_id"] = own[role]
    if role is not None and role.startswith("Police."):
        dispatch = _call(base, "POST", f"/incidents/{incident['id']}/d2p", tokens["Retailer.Investigator"])
        found["dispatch_id"] = dispatch["id"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            report = _call(base, "GET", f"/incidents/{incident['id']}/d2p", tokens["Retailer.Investigator"])
            if any(d["status"] == "sent" for d in report["dispatches"]):
                break
            time.sleep(0.5)
        else:
            print(f"  (dispatch {dispatch['id']} not sent within 30 s: the force's routes may answer 409)", flush=True)
    return found


def run_role(
    base: str, role: str | None, token: str | None, names: list[str], report: Path, args: argparse.Namespace, parameters: dict[str, str]
) -> None:
    config = report.with_suffix(".toml")
    config.write_text("[parameters]\n" + "".join(f'"path.{k}" = {json.dumps(v)}\n' for k, v in parameters.items()))
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{base}{API}/openapi.json",
        "--phases",
        args.phases,
        "--checks",
        CHECKS,
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--workers",
        str(args.workers),
        "--request-timeout",
        "30",
        "--continue-on-failure",
        "--suppress-health-check",
        "all",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    if token:
        cmd += ["--header", f"Authorization: Bearer {token}"]
    for name in names:
        cmd += ["--include-name", name]
    started = time.monotonic()
    # In the report directory: schemathesis keeps a cache of failing cases where it runs.
    out = subprocess.run(cmd, cwd=report.parent, capture_output=True, text=True)
    log = report.with_suffix(".log")
    log.write_text(out.stdout + out.stderr)
    print(
        f"  {role or 'no token':<22} {len(names):>3} operations  exit {out.returncode}  {time.monotonic() - started:6.0f} s  ({log})",
        flush=True,
    )


def failures(report: Path) -> tuple[int, list[dict], int]:
    """Cases sent, the failed checks found and the 5xx answers seen in one ndjson report."""
    server_errors = 0
    cases = 0
    found: list[dict] = []
    if not report.exists():
        return 0, [{"operation": "?", "check": "report missing", "message": str(report), "request": ""}], 0
    for line in report.read_text().splitlines():
        event = json.loads(line)
        error = event.get("NonFatalError") or event.get("FatalError")
        if error:
            # The tool itself failed on an operation: that operation went untested.
            value = error.get("value") or {}
            found.append(
                {
                    "operation": error.get("label") or "?",
                    "check": f"schemathesis error ({error.get('phase') or 'run'})",
                    "message": f"{value.get('type')}: {value.get('message')}",
                    "request": "",
                    "code": None,
                }
            )
            continue
        body = event.get("ScenarioFinished")
        if not body:
            continue
        recorder = body.get("recorder") or {}
        cases += len(recorder.get("cases") or {})
        for interaction in (recorder.get("interactions") or {}).values():
            if ((interaction or {}).get("response") or {}).get("status_code", 0) >= 500:
                server_errors += 1
        for case_id, checks in (recorder.get("checks") or {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                interaction = (recorder.get("interactions") or {}).get(case_id) or {}
                request = interaction.get("request") or {}
                response = interaction.get("response") or {}
                info = check.get("failure_info") or {}
                failure = info.get("failure") or {}
                found.append(
                    {
                        "operation": recorder.get("label"),
                        "check": check.get("name"),
                        "message": failure.get("title") or failure.get("message") or json.dumps(info)[:300],
                        "request": f"{request.get('method')} {request.get('uri')} -> {response.get('status_code')}",
                        "code": info.get("code"),
                    }
                )
    return cases, found, server_errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="attack a stamp already running there (with --data-dir to mint its tokens)")
    ap.add_argument("--data-dir", help="the running stamp's VIGIL_DATA_DIR (with --url)")
    ap.add_argument("--only", help="only routes whose path contains this text")
    ap.add_argument("--max-examples", type=int, default=10, help="fuzzed cases per operation (the coverage phase sends all of its own)")
    ap.add_argument("--phases", default="examples,coverage,fuzzing", help="schemathesis phases; add stateful for sequences")
    ap.add_argument("--seed", type=int, default=12)
    # One worker: hypothesis describes filters by parsing source with `ast`, which is not
    # thread-safe on Python 3.11 (a SystemError that leaves an operation untested).
    ap.add_argument("--workers", default="1")
    ap.add_argument("--report-dir", default="var/attack-reports")
    args = ap.parse_args()

    own = _matrix().OWN
    report_dir = Path(args.report_dir).resolve()
    shutil.rmtree(report_dir, ignore_errors=True)
    report_dir.mkdir(parents=True)
    tmp: Path | None = None
    proc: subprocess.Popen | None = None
    try:
        if args.url:
            base = args.url.rstrip("/")
            data_dir = Path(args.data_dir or "var").resolve()
        else:
            tmp = Path(tempfile.mkdtemp(prefix="vigil-attack-"))
            data_dir = tmp
            base = f"http://127.0.0.1:{free_port()}"
            env = {
                **os.environ,
                "VIGIL_DATA_DIR": str(tmp),
                "PORT": base.rsplit(":", 1)[1],
                "PYTHONPATH": str(ROOT),
                "VIGIL_LOG_LEVEL": "WARNING",
                "VIGIL_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
                "VIGIL_HTTP_WRITE_BURST": "1000000",
                "VIGIL_HTTP_WRITES_PER_MINUTE": "1000000",
            }
            proc = subprocess.Popen(
                [sys.executable, "-m", "functions.local_runner"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=(report_dir / "stamp.log").open("w"),
                start_new_session=True,
            )
        wait_ready(base, proc)
        creators = {r: mint(data_dir, "northwind", r) for r in ("Retailer.Investigator", "Retailer.Reporter")}
        started = time.monotonic()
        total_cases = 0
        total_5xx = 0
        all_failures: list[tuple[str, dict]] = []
        for role, names in sorted(plan(args.only).items(), key=lambda kv: kv[0] or ""):
            token = mint(data_dir, own[role], role) if role else None
            report = report_dir / f"{role or 'public'}.ndjson"
            parameters = real_objects(base, creators, role, own)
            run_role(base, role, token, names, report, args, parameters)
            cases, found, fives = failures(report)
            total_cases += cases
            total_5xx += fives
            all_failures += [(role or "no token", f) for f in found]
            if proc is not None and proc.poll() is not None:
                print(f"the stamp exited with {proc.returncode} (an outage): see {report_dir / 'stamp.log'}")
                return 1
        print(f"\n{total_cases} cases in {time.monotonic() - started:.0f} s: {total_5xx} answered 5xx, {len(all_failures)} failed checks")
        for role, f in all_failures:
            print(f"  {role:<22} {f['operation']}: {f['check']}: {f['message']}\n    {f['request']}\n    {f.get('code') or ''}")
        return 1 if all_failures else 0
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
