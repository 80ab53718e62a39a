"""Smoke test of a deployed stamp, run by an operator after each deployment:

    make smoke URL=https://vigil-uk.example.net TENANT=<Entra tenant id>
    make smoke URL=http://127.0.0.1:7071 TENANT=local

Signs in (msal client credentials in Azure; the local stamp's own token command locally),
reports an incident, uploads two evidence items and checks their write-once protection
(the API's evidence metadata and verify route; the blob version's immutability policy and
legal hold with the Azure SDK where credentials allow), sends the report to the force's
inbox by D2P and waits until it is sent, reads everything back, looks for the requests in
Application Insights, and says what it leaves behind. Each check prints one line, `ok`,
`skip` (with the reason) or `FAIL`; the exit status is 1 when any check failed.

Environment (Azure):
- VIGIL_SMOKE_CLIENT_ID and VIGIL_SMOKE_CLIENT_SECRET, or VIGIL_SMOKE_CLIENT_CERTIFICATE
  (a PEM file with key and certificate) and VIGIL_SMOKE_CLIENT_CERTIFICATE_THUMBPRINT: an
  app registration holding the Retailer.Investigator app role on the API, for a retailer
  whose store's force has a test inbox (see docs/deploy.md).
- VIGIL_SMOKE_SCOPE: the API's scope, `api://vigil/.default` unless set.
- VIGIL_SMOKE_STORE: the store to report from (the documented example's otherwise).
- VIGIL_SMOKE_EVIDENCE_ACCOUNT: the evidence storage account's name, for the blob checks
  (with the operator's Azure credentials; skipped without).
- VIGIL_SMOKE_APPINSIGHTS_ID: the Application Insights resource id, for the telemetry
  check (needs azure-monitor-query; skipped without).
Locally: VIGIL_SMOKE_TOKEN, or a token from `python -m functions.cli token` over the
stamp's VIGIL_DATA_DIR.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
API = "/api/v1"
ROLE = "Retailer.Investigator"
# Small files whose first bytes are a real MP4 and a real JPEG (the upload sniffs them).
CCTV_CLIP = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 64
STILL_IMAGE = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


class Skip(Exception):
    """A check that cannot run against this stamp; the message says why."""


@dataclass
class Smoke:
    url: str
    tenant: str
    env: dict[str, str]
    timeout: float = 120.0
    out: Callable[[str], None] = print
    results: list[tuple[str, str, str]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    left: list[str] = field(default_factory=list)
    http: httpx.Client | None = None

    @property
    def local(self) -> bool:
        return self.tenant == "local"

    def check(self, name: str, step: Callable[[], str]) -> bool:
        try:
            detail = step()
            status = "ok"
        except Skip as exc:
            status, detail = "skip", str(exc)
        except Exception as exc:  # noqa: BLE001 - every failure is reported, and the run goes on where it can
            status, detail = "FAIL", f"{type(exc).__name__}: {exc}"
        self.results.append((status, name, detail))
        self.out(f"{status:<4} {name}: {detail}")
        return status == "ok"

    # ---- steps --------------------------------------------------------------------

    def sign_in(self) -> str:
        token = self.env.get("VIGIL_SMOKE_TOKEN") or (self._local_token() if self.local else self._msal_token())
        self.http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        return "local token" if self.local else f"client credentials for tenant {self.tenant}"

    def _local_token(self) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "functions.cli", "token", "--org", self.env.get("VIGIL_SMOKE_ORG", "northwind"), "--role", ROLE],
            cwd=ROOT,
            env={**self.env, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the local token command failed: {done.stderr.strip()[-300:]}")
        return done.stdout.strip().splitlines()[-1]

    def _msal_token(self) -> str:
        import msal

        client_id = self.env.get("VIGIL_SMOKE_CLIENT_ID", "")
        if not client_id:
            raise RuntimeError("set VIGIL_SMOKE_CLIENT_ID and a secret or certificate (docs/deploy.md)")
        credential: Any = self.env.get("VIGIL_SMOKE_CLIENT_SECRET", "")
        if not credential and self.env.get("VIGIL_SMOKE_CLIENT_CERTIFICATE"):
            credential = {
                "private_key": Path(self.env["VIGIL_SMOKE_CLIENT_CERTIFICATE"]).read_text(),
                "thumbprint": self.env.get("VIGIL_SMOKE_CLIENT_CERTIFICATE_THUMBPRINT", ""),
            }
        app = msal.ConfidentialClientApplication(
            client_id, authority=f"https://login.microsoftonline.com/{self.tenant}", client_credential=credential
        )
        got = app.acquire_token_for_client(scopes=[self.env.get("VIGIL_SMOKE_SCOPE", "api://vigil/.default")])
        if "access_token" not in got:
            raise RuntimeError(f"sign-in refused: {got.get('error')}: {got.get('error_description', '')[:300]}")
        return got["access_token"]

    def _call(self, method: str, path: str, expect: tuple[int, ...] = (200,), **kw) -> httpx.Response:
        assert self.http is not None, "sign in first"
        r = self.http.request(method, API + path, **kw)
        if r.status_code not in expect:
            raise RuntimeError(f"{method} {path} answered {r.status_code}: {r.text[:300]}")
        return r

    def report_incident(self) -> str:
        from shared.domain.incident_report import IncidentIn

        schema_extra: Any = IncidentIn.model_config["json_schema_extra"]
        body = dict(schema_extra["examples"][0])
        if self.env.get("VIGIL_SMOKE_STORE"):
            body["store_id"] = self.env["VIGIL_SMOKE_STORE"]
        body["external_reference"] = f"SMOKE-{uuid.uuid4().hex[:12]}"
        incident = self._call("POST", "/incidents", (201,), json=body).json()
        self.state["incident"] = incident
        self.left.append(f"incident {incident['id']} ({incident.get('reference')}): kept until its retention lane sweeps it")
        return f"incident {incident['id']}"

    def upload_evidence(self) -> str:
        incident = self.state["incident"]
        items = []
        for kind, content, media, name in (
            ("cctv", CCTV_CLIP, "video/mp4", "smoke.mp4"),
            ("suspect_image", STILL_IMAGE, "image/jpeg", "smoke.jpg"),
        ):
            headers = {"Content-Type": media, "X-Filename": name, "X-Evidence-Kind": kind}
            items.append(self._call("POST", f"/incidents/{incident['id']}/evidence", (201,), content=content, headers=headers).json())
        self.state["evidence"] = items
        self.left.append(f"evidence {', '.join(i['id'] for i in items)}: write-once, deletable only by retention after its date")
        return f"{len(items)} items"

    def evidence_protected(self) -> str:
        for item in self.state["evidence"]:
            meta = self._call("GET", f"/evidence/{item['id']}").json()
            if not meta.get("retention_until") or meta["sha256"] != item["sha256"]:
                raise RuntimeError(f"evidence {item['id']} has no retention date or another hash: {meta}")
            verified = self._call("POST", f"/evidence/{item['id']}/verify").json()
            if verified.get("result") != "match":
                raise RuntimeError(f"evidence {item['id']} does not verify: {verified}")
            custody = self._call("GET", f"/evidence/{item['id']}/custody").json()
            if custody.get("verified") is False:
                raise RuntimeError(f"evidence {item['id']}'s custody chain does not verify")
        return "retention date set, bytes re-hashed and matching, custody verifies"

    def blob_immutability(self) -> str:
        if self.local:
            raise Skip("local stamp: evidence is kept on write-once files, there is no blob version to inspect")
        account = self.env.get("VIGIL_SMOKE_EVIDENCE_ACCOUNT")
        if not account:
            raise Skip("set VIGIL_SMOKE_EVIDENCE_ACCOUNT (and sign in to Azure) to inspect the blob versions")
        from azure.identity import DefaultAzureCredential
        from azure.storage.blob import BlobServiceClient

        from shared.names import BLOB_CONTAINERS

        service = BlobServiceClient(f"https://{account}.blob.core.windows.net", credential=DefaultAzureCredential())
        container = service.get_container_client(BLOB_CONTAINERS["evidence"])
        seen = 0
        for item in self.state["evidence"]:
            for blob in container.list_blobs(name_starts_with=item["id"], include=["immutabilitypolicy", "legalhold", "versions"]):
                seen += 1
                policy = blob.immutability_policy
                if not policy or not policy.expiry_time:
                    raise RuntimeError(f"blob {blob.name} (version {blob.version_id}) has no immutability policy")
        if not seen:
            raise RuntimeError("no evidence blob found under the items' ids")
        return f"{seen} blob version(s) under an immutability policy"

    def send_d2p(self) -> str:
        incident = self.state["incident"]
        dispatch = self._call("POST", f"/incidents/{incident['id']}/d2p", (200, 202)).json()
        self.left.append(f"D2P dispatch {dispatch['id']}: an email in the force's test inbox, and its audit entries")
        deadline = time.monotonic() + self.timeout
        while True:
            status = self._call("GET", f"/incidents/{incident['id']}/d2p").json()["dispatches"][0]["status"]
            if status in ("sent", "acknowledged"):
                return f"dispatch {dispatch['id']} {status}"
            if status == "failed" or time.monotonic() > deadline:
                raise RuntimeError(f"dispatch {dispatch['id']} is {status}")
            time.sleep(1)

    def read_back(self) -> str:
        incident = self.state["incident"]
        got = self._call("GET", f"/incidents/{incident['id']}").json()
        if got["id"] != incident["id"] or got.get("external_reference") != incident.get("external_reference"):
            raise RuntimeError("the incident read back is not the one reported")
        listed = {e["id"] for e in self._call("GET", f"/incidents/{incident['id']}/evidence").json()["items"]}
        missing = {i["id"] for i in self.state["evidence"]} - listed
        if missing:
            raise RuntimeError(f"evidence missing from the incident: {sorted(missing)}")
        return "incident and evidence read back"

    def telemetry_arrived(self) -> str:
        if self.local:
            raise Skip("local stamp: no Application Insights (VIGIL_TELEMETRY_CONSOLE prints telemetry instead)")
        resource = self.env.get("VIGIL_SMOKE_APPINSIGHTS_ID")
        if not resource:
            raise Skip("set VIGIL_SMOKE_APPINSIGHTS_ID to the Application Insights resource id to look for the requests")
        try:
            from azure.identity import DefaultAzureCredential
            from azure.monitor.query import LogsQueryClient  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError:
            raise Skip("azure-monitor-query is not installed (pip install azure-monitor-query)") from None
        incident = self.state["incident"]
        query = f'AppRequests | where Properties.incident_id == "{incident["id"]}" | count'
        deadline = time.monotonic() + max(self.timeout, 300)  # ingestion takes minutes
        client = LogsQueryClient(DefaultAzureCredential())
        while True:
            result = client.query_resource(resource, query, timespan=3600)
            count = result.tables[0].rows[0][0] if result.tables and result.tables[0].rows else 0
            if count:
                return f"{count} request(s) of the incident in Application Insights"
            if time.monotonic() > deadline:
                raise RuntimeError("no request of the smoke incident reached Application Insights")
            time.sleep(15)

    def run(self) -> int:
        """Run every check in order; those that need an earlier one's result are skipped
        when it failed. Returns the exit status."""
        if not self.check("sign in", self.sign_in):
            return 1
        self.check("health", lambda: self._call("GET", "/healthz").json().get("status", "answered"))
        if self.check("report an incident", self.report_incident) and self.check("upload evidence", self.upload_evidence):
            self.check("evidence protected (API)", self.evidence_protected)
            self.check("blob immutability (Azure SDK)", self.blob_immutability)
            self.check("D2P to the test inbox", self.send_d2p)
            self.check("read back", self.read_back)
            self.check("telemetry arrived", self.telemetry_arrived)
        for what in self.left:
            self.out(f"left {what}")
        counts = {status: sum(1 for s, _, _ in self.results if s == status) for status in ("ok", "FAIL", "skip")}
        self.out(f"smoke: {counts['ok']} passed, {counts['FAIL']} failed, {counts['skip']} skipped")
        failed = counts["FAIL"]
        return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the stamp's base URL")
    parser.add_argument("--tenant", required=True, help="the Entra tenant id, or 'local' for a local stamp")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the D2P email")
    args = parser.parse_args(argv)
    return Smoke(url=args.url.rstrip("/"), tenant=args.tenant, env=dict(os.environ), timeout=args.timeout).run()


if __name__ == "__main__":
    sys.exit(main())
