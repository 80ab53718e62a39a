"""Package shares on the Azure backend: records in Cosmos DB (emulator), evidence and the
built package in Blob Storage (Azurite). The download is a redirect to a short-lived SAS
URL: the bytes come from storage, not through the app.

Azurite has no Entra ID, so it cannot issue a user delegation key: against Azurite the
SAS is signed with the account key (the adapter's Azurite path). The user delegation
path, the one Azure runs, is checked by building a URL with the real azure-storage-blob
client whose HTTP transport answers Get User Delegation Key as the service does."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.core.pipeline.transport import RequestsTransport, RequestsTransportResponse
from azure.storage.blob import BlobServiceClient

from shared.adapters.azure.blob_evidence import AzureBlobEvidenceStore
from tests.console.conftest import Browser
from tests.disclosure.helpers import FORCE, SHARE, dispatched_incident
from tests.evidence.conftest import azure_store
from tests.fixtures_http import make_cosmos_stamp


@pytest.fixture
def azure_stamp(tmp_path, cosmos_emulator, azurite):
    s = make_cosmos_stamp(tmp_path, cosmos_emulator)
    s.container.__dict__["evidence_blobs"] = azure_store(azurite)
    service = BlobServiceClient.from_connection_string(azurite)
    packages = AzureBlobEvidenceStore(service, azurite=True, immutable=False, evidence_container=f"packages-{uuid.uuid4().hex[:12]}")
    packages.evidence.create_container()
    s.container.__dict__["package_store"] = packages
    yield s
    s.container.records.client().delete_database(s.container.records.database_name)
    s.container.close()


@pytest.mark.azure
def test_download_redirects_to_a_storage_url_that_serves_the_package_then_the_link_expires(azure_stamp):
    stamp = azure_stamp
    incident = dispatched_incident(stamp)
    made = stamp.client.post(f"/api/v1/incidents/{incident['id']}/package-shares", json=SHARE, headers=stamp.auth(FORCE, "Police.Officer"))
    assert made.status_code == 201, made.text
    made = made.json()
    token = made["link"].rsplit("/", 1)[1]
    recipient = Browser(stamp)
    assert recipient.get(f"/shared/{token}").status_code == 200
    assert recipient.post(f"/shared/{token}/code", {"code": made["code"]}, csrf=False).status_code == 303
    answer = recipient.get(f"/shared/{token}/package")
    assert answer.status_code == 303
    url = answer.headers["location"]
    query = parse_qs(urlsplit(url).query)
    assert query["sp"] == ["r"] and "sig" in query
    got = requests.get(url, timeout=30)
    assert got.status_code == 200
    assert hashlib.sha256(got.content).hexdigest() == made["share"]["package_sha256"]
    assert "attachment" in got.headers["Content-Disposition"]

    stamp.clock.advance(days=14, seconds=1)
    assert recipient.get(f"/shared/{token}/package").status_code == 410
    assert stamp.container.disclosure.upkeep.sweep(stamp.clock.now()).counts["packages_removed"] == 1
    assert stamp.container.package_store.size(f"share-{made['share']['id']}") is None


class DelegationTransport(RequestsTransport):
    """Answers Get User Delegation Key as Blob Storage does; records the requests."""

    def __init__(self):
        super().__init__()
        self.sent = []

    def send(self, request, **kwargs):
        self.sent.append(request)
        raw = requests.Response()
        raw.status_code = 200
        value = base64.b64encode(b"d" * 32).decode()
        raw._content = (
            "<?xml version='1.0' encoding='utf-8'?><UserDelegationKey>"
            "<SignedOid>11111111-2222-3333-4444-555555555555</SignedOid>"
            "<SignedTid>66666666-7777-8888-9999-000000000000</SignedTid>"
            "<SignedStart>2026-11-30T00:00:00Z</SignedStart><SignedExpiry>2026-12-01T00:00:00Z</SignedExpiry>"
            f"<SignedService>b</SignedService><SignedVersion>2025-01-05</SignedVersion><Value>{value}</Value>"
            "</UserDelegationKey>"
        ).encode()
        raw.headers.update(
            {
                "Content-Type": "application/xml",
                "x-ms-request-id": "spy",
                "x-ms-version": "2025-01-05",
                "Date": format_datetime(datetime.now(UTC), usegmt=True),
            }
        )
        raw.url = request.url
        return RequestsTransportResponse(request, raw)


class _Token:
    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        return AccessToken("managed-identity-token", int((datetime.now(UTC) + timedelta(hours=1)).timestamp()))


def test_in_azure_the_url_is_signed_with_a_user_delegation_key_https_only_and_read_only_transport_replaced():
    spy = DelegationTransport()
    service = BlobServiceClient("https://vigilevidence.blob.core.windows.net", credential=_Token(), transport=spy)
    store = AzureBlobEvidenceStore(service, immutable=False, evidence_container="packages")
    url = store.download_url(
        "share-" + "a" * 32, valid_for=timedelta(minutes=5), filename="NW-1-evidence-package.zip", content_type="application/zip"
    )
    assert url is not None and url.startswith("https://vigilevidence.blob.core.windows.net/packages/share-")
    query = parse_qs(urlsplit(url).query)
    assert query["sp"] == ["r"] and query["spr"] == ["https"] and query["sr"] == ["b"]
    assert query["skoid"] == ["11111111-2222-3333-4444-555555555555"]
    assert query["rscd"] == ['attachment; filename="NW-1-evidence-package.zip"']
    expiry = datetime.fromisoformat(query["se"][0].replace("Z", "+00:00"))
    assert timedelta(minutes=4) < expiry - datetime.now(UTC) <= timedelta(minutes=5)
    assert [r for r in spy.sent if "comp=userdelegationkey" in r.url]
    # One key serves the next URL too: no second round trip.
    store.download_url("share-" + "b" * 32, valid_for=timedelta(minutes=5), filename="x.zip", content_type="application/zip")
    assert len([r for r in spy.sent if "comp=userdelegationkey" in r.url]) == 1
