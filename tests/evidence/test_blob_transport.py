"""The Azure evidence adapter through the real azure-storage-blob client with its HTTP
transport replaced by a spy (transport replaced, no service): proves the calls Azurite
lacks (version-level immutability policy, legal hold) are made, with the right headers.
Everything else about the adapter runs against Azurite in test_locker.py."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.utils import format_datetime

import requests
from azure.core.pipeline.transport import RequestsTransport, RequestsTransportResponse
from azure.storage.blob import BlobServiceClient

from shared.adapters.azure.blob_evidence import AzureBlobEvidenceStore


class SpyTransport(RequestsTransport):
    """Records each request and answers as Blob Storage would on success."""

    def __init__(self):
        super().__init__()
        self.sent = []

    def send(self, request, **kwargs):
        self.sent.append(request)
        raw = requests.Response()
        raw.status_code = 200 if "comp=legalhold" in request.url or "comp=immutabilityPolicies" in request.url else 201
        raw.headers.update(
            {
                "ETag": '"0x8DCEVIDENCE"',
                "Last-Modified": format_datetime(datetime(2026, 11, 23, tzinfo=UTC), usegmt=True),
                "x-ms-request-id": "spy",
                "x-ms-version": "2025-01-05",
                "Content-Length": "0",
                "x-ms-legal-hold": request.headers.get("x-ms-legal-hold", "false"),
            }
        )
        raw._content = b""
        raw.url = request.url
        return RequestsTransportResponse(request, raw)


def _store(**kw):
    spy = SpyTransport()
    key = base64.b64encode(b"k" * 32).decode()
    service = BlobServiceClient(
        "https://vigilevidence.blob.core.windows.net", credential={"account_name": "vigilevidence", "account_key": key}, transport=spy
    )
    return AzureBlobEvidenceStore(service, **kw), spy


def test_commit_sends_write_once_immutability_and_legal_hold_transport_replaced():
    store, spy = _store()
    until = datetime(2032, 11, 23, 12, 0, tzinfo=UTC)
    w = store.writer("northwind-" + "b" * 32, content_type="video/mp4", retention_until=until, legal_hold=True)
    w.write(b"x" * (5 * 1024 * 1024))
    w.commit()
    blocks = [r for r in spy.sent if "comp=block&" in r.url or r.url.endswith("comp=block")]
    assert len(blocks) == 2  # 4 MiB blocks
    commit = next(r for r in spy.sent if "comp=blocklist" in r.url)
    assert "/evidence/northwind-" in commit.url
    assert commit.headers["If-None-Match"] == "*"
    assert commit.headers["x-ms-immutability-policy-mode"].lower() == "unlocked"
    assert commit.headers["x-ms-immutability-policy-until-date"].startswith("Tue, 23 Nov 2032")
    assert commit.headers["x-ms-legal-hold"] == "true"


def test_locked_policy_when_the_setting_says_so_transport_replaced():
    store, spy = _store(policy_locked=True)
    w = store.writer("northwind-" + "c" * 32, content_type="image/png", retention_until=datetime(2030, 1, 1, tzinfo=UTC), legal_hold=False)
    w.write(b"png")
    w.commit()
    commit = next(r for r in spy.sent if "comp=blocklist" in r.url)
    assert commit.headers["x-ms-immutability-policy-mode"].lower() == "locked"


def test_set_legal_hold_calls_the_service_transport_replaced():
    store, spy = _store()
    store.set_legal_hold("northwind-" + "d" * 32, True)
    hold = spy.sent[-1]
    assert "comp=legalhold" in hold.url and hold.headers["x-ms-legal-hold"] == "true"


def test_azurite_mode_skips_exactly_immutability_and_legal_hold_transport_replaced():
    store, spy = _store(azurite=True)
    w = store.writer("northwind-" + "e" * 32, content_type="text/plain", retention_until=datetime(2030, 1, 1, tzinfo=UTC), legal_hold=True)
    w.write(b"statement")
    w.commit()
    commit = next(r for r in spy.sent if "comp=blocklist" in r.url)
    assert commit.headers["If-None-Match"] == "*"  # write-once still enforced
    assert "x-ms-immutability-policy-mode" not in commit.headers and "x-ms-legal-hold" not in commit.headers
