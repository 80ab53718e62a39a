"""Sign-in chosen by configuration: msal client credentials (secret or certificate) and
device code against a fake OAuth 2.0 identity provider whose tokens the real stamp
accepts, with the persistent 0600 token cache; the local stamp's development tokens."""

from __future__ import annotations

import stat
import threading

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.client.fake_idp import FakeIdentityProvider
from vigil_client import SignInError, VigilClient
from vigil_client.config import load_settings, token_provider

# One real stamp serves the folder: keep its tests on one xdist worker.
pytestmark = pytest.mark.xdist_group("client-stamp")

REPORT = {
    "store_id": "nw-plymouth",
    "category": "shop_theft",
    "occurred_at": "2026-11-20T14:32:00+00:00",
    "narrative": "Signed in with msal: took two bottles of gin.",
    "reporter": {"name": "Sam Taylor"},
}


@pytest.fixture
def idp(stamp, tmp_path, monkeypatch):
    minted = stamp.token()
    provider = FakeIdentityProvider(minted.token, tmp_path)
    # msal talks to the identity provider through requests, which trusts this bundle.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", provider.ca_file)
    for name in ("VIGIL_CONFIG_FILE", "VIGIL_TOKEN", "VIGIL_APP_CLIENT_SECRET", "VIGIL_APP_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VIGIL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("VIGIL_AUTHORITY", provider.authority)
    monkeypatch.setenv("VIGIL_VALIDATE_AUTHORITY", "false")
    monkeypatch.setenv("VIGIL_SCOPES", "api://vigil/.default")
    monkeypatch.setenv("VIGIL_API_URL", stamp.url)
    yield provider
    provider.close()


def _certificate(tmp_path) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "till-app.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(path)


@pytest.mark.parametrize("credential", ["secret", "certificate"])
def test_client_credentials_sign_in_reports_and_reuses_the_cached_token(idp, tmp_path, monkeypatch, credential):
    monkeypatch.setenv("VIGIL_AUTH_MODE", "client-credentials")
    monkeypatch.setenv("VIGIL_APP_CLIENT_ID", "northwind-till")
    if credential == "secret":
        monkeypatch.setenv("VIGIL_APP_CLIENT_SECRET", idp.client_secret)
    else:
        monkeypatch.setenv("VIGIL_APP_CERT_FILE", _certificate(tmp_path))
        monkeypatch.setenv("VIGIL_APP_CERT_THUMBPRINT", "A1" * 20)
    settings = load_settings()
    with VigilClient(settings.url, token_provider(settings)) as client:
        made = client.report_incident(REPORT)
    assert made["reference"]
    sent = idp.token_requests[0]
    assert sent["grant_type"] == "client_credentials"
    assert ("client_assertion" in sent) == (credential == "certificate")
    cache = settings.token_cache_path
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    # A restarted till signs in from the cache, not the identity provider.
    again = token_provider(load_settings())
    assert again is not None and again.token() and len(idp.token_requests) == 1
    # A token the API refused (401) is dropped and a fresh one fetched.
    again.invalidate()
    assert again.token() and len(idp.token_requests) == 2


def test_device_code_sign_in_prompts_once_then_signs_in_silently(idp, monkeypatch):
    monkeypatch.setenv("VIGIL_AUTH_MODE", "device-code")
    monkeypatch.setenv("VIGIL_APP_CLIENT_ID", "vigil-cli")
    settings = load_settings()
    provider = token_provider(settings)
    prompts: list[str] = []

    def shown(message: str) -> None:
        prompts.append(message)
        # The person opens the page and enters the code a moment later.
        threading.Timer(0.3, idp.approved.set).start()

    provider._prompt = shown  # type: ignore[union-attr]
    with VigilClient(settings.url, provider) as client:
        assert client.get_incident(client.report_incident(REPORT)["id"])["narrative"] == REPORT["narrative"]
    assert len(prompts) == 1 and "ABCD-EFGH" in prompts[0]
    later = token_provider(load_settings())
    later._prompt = lambda message: pytest.fail("asked to sign in again")  # type: ignore[union-attr]
    assert later.token()


def test_a_missing_setting_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("VIGIL_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("VIGIL_AUTH_MODE", "client-credentials")
    for name in ("VIGIL_AUTHORITY", "VIGIL_APP_CLIENT_ID", "VIGIL_SCOPES"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SignInError, match="VIGIL_AUTHORITY"):
        token_provider(load_settings())


def test_a_config_file_profile_chooses_the_local_stamp_tokens(stamp, tmp_path, monkeypatch):
    for name in ("VIGIL_AUTH_MODE", "VIGIL_API_URL", "VIGIL_LOCAL_ORG", "VIGIL_LOCAL_ROLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VIGIL_CONFIG_DIR", str(tmp_path))
    (tmp_path / "config.toml").write_text(
        f'url = "https://vigil.example"\nauth = "device-code"\n\n[profiles.dev]\nurl = "{stamp.url}"\nauth = "local"\n'
        f'local_org = "northwind"\nlocal_role = "Retailer.Reporter"\nlocal_repo = "{stamp.token().repo}"\ndata_dir = "{stamp.data_dir}"\n'
    )
    settings = load_settings(profile="dev")
    with VigilClient(settings.url, token_provider(settings)) as client:
        assert client.report_incident(REPORT)["store_id"] == "nw-plymouth"
