"""Console sign-in in Azure: msal's authorization code flow with PKCE against a fake
OpenID Connect provider shaped like Entra ID (tests/fakes_oidc.py), end to end: the
browser's trip to the authorize endpoint, the callback, the ID token checks, and the
claims the console builds its principal from, which must be the API's for the same person."""

from __future__ import annotations

import datetime
import html.parser
import json
import urllib.parse

import httpx
import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from shared.adapters.azure.console_signin import FLOW_LIFETIME_SECONDS, MsalConsoleSignIn, client_credential_from_settings
from shared.bootstrap import Container
from shared.domain.errors import Unauthorized, Unavailable
from shared.domain.signin import safe_next_path
from shared.domain.tenancy import Role
from shared.settings import Settings
from tests.fakes_oidc import FakeOpenIdProvider

CLIENT_ID = "0c0e1a3e-console-app"
CALLBACK = "https://vigil.example.net/signin/callback"
CASE_LINK = "/cases/inc-123?from=email"


@pytest.fixture
def idp(tmp_path):
    provider = FakeOpenIdProvider(tmp_path, client_id=CLIENT_ID, redirect_uris=[CALLBACK])
    yield provider
    provider.close()


def _signin(idp: FakeOpenIdProvider, credential: dict | None = None, **kw) -> MsalConsoleSignIn:
    return MsalConsoleSignIn(
        CLIENT_ID,
        idp.authority,
        credential or {"client_assertion": idp.managed_identity_token},
        http_client=_session(idp),
        # Test-only: msal checks authorities against Entra's list of clouds; the fake is not one.
        validate_authority=False,
        **kw,
    )


def _session(idp: FakeOpenIdProvider) -> requests.Session:
    session = requests.Session()
    # trust_env off: requests would otherwise prefer REQUESTS_CA_BUNDLE to the session's own bundle.
    session.trust_env = False
    session.verify = idp.ca_file
    return session


def _person(stamp, org="northwind", *, oid="4b1e-person-oid", roles=("Retailer.Investigator",), **extra) -> dict:
    return {"oid": oid, "tid": stamp.container.directory.organisation(org).idp_tenant_id, "roles": list(roles), **extra}


class _AnswerForm(html.parser.HTMLParser):
    """The auto-submitting form of a form_post answer, as a browser reads it."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.method = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action, self.method = a.get("action", ""), a.get("method", "").upper()
        elif tag == "input":
            self.fields[a["name"]] = a.get("value", "")


def _browser(idp: FakeOpenIdProvider, url: str) -> dict[str, str]:
    """What the browser posts back to the callback after the authorize endpoint."""
    with httpx.Client(verify=idp.ca_file, follow_redirects=False) as browser:
        r = browser.get(url)
    assert r.status_code == 200, r.text
    form = _AnswerForm()
    form.feed(r.text)
    assert (form.method, form.action) == ("POST", CALLBACK)
    return form.fields


def _round_trip(idp, signin, next_path=CASE_LINK):
    start = signin.begin(CALLBACK, next_path)
    # The flow state goes into the session cookie, JSON as the lead's session keeps it.
    cookie_state = json.loads(json.dumps(start.flow_state))
    return start, cookie_state, _browser(idp, start.url)


def test_sign_in_round_trip_maps_the_id_token_to_vigil_claims(stamp, idp):
    idp.user = _person(stamp, stores="nw-exeter, nw-plymouth")
    signin = _signin(idp)
    start, state, answer = _round_trip(idp, signin)
    sent = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.url).query))
    assert sent["code_challenge_method"] == "S256" and sent["code_challenge"] and sent["nonce"]
    # The answer is posted back: the code never appears in a URL (history, Referer, request logs).
    assert sent["response_mode"] == "form_post" and sent["redirect_uri"] == CALLBACK
    # Sign-in only: no refresh token asked for, no API permission.
    assert set(sent["scope"].split()) == {"openid", "profile"}
    # Small enough for a cookie beside the session's own claims, and no authorize URL in it.
    assert len(json.dumps(state)) < 600 and "auth_uri" not in state
    assert state["next"] == CASE_LINK

    claims = signin.complete(state, answer)

    assert claims == {
        "sub": "4b1e-person-oid",
        "tid": idp.user["tid"],
        "roles": ["Retailer.Investigator"],
        "stores": "nw-exeter, nw-plymouth",
    }
    principal = stamp.container.directory.principal_from_claims(claims)
    assert principal.organisation_id == "northwind" and principal.user_id == "4b1e-person-oid"
    assert principal.stores == frozenset({"nw-exeter", "nw-plymouth"})
    # The code went to the token endpoint with the verifier and the managed identity's assertion.
    request = idp.token_requests[-1]
    assert request["redirect_uri"] == CALLBACK and request["code_verifier"]
    assert request["client_assertion"] and "client_secret" not in request


def test_the_console_principal_is_the_one_the_api_builds_for_the_same_person(stamp, idp):
    """Same person, API access token and console ID token: one user, one organisation, the
    same roles (Entra gives each app its own pairwise `sub`; both paths key on `oid`)."""
    idp.user = _person(stamp, "devon-and-cornwall", roles=["Police.Officer"])
    signin = _signin(idp)
    _, state, answer = _round_trip(idp, signin)
    console = stamp.container.directory.principal_from_claims(signin.complete(state, answer))

    s = stamp.container.settings
    now = int(datetime.datetime.now(datetime.UTC).timestamp())
    access = {
        "iss": s.auth_issuer,
        "aud": s.auth_audience,
        "sub": "pairwise-sub-of-the-api-app",
        "oid": idp.user["oid"],
        "tid": idp.user["tid"],
        "roles": ["Police.Officer"],
        "iat": now,
        "exp": now + 3600,
    }
    kid = json.loads(stamp.container.local_keys.jwks_path.read_text())["keys"][0]["kid"]
    token = jwt.encode(access, stamp.container.local_keys.private_path.read_bytes(), algorithm="RS256", headers={"kid": kid})
    api = stamp.container.directory.principal_from_claims(stamp.container.token_verifier.verify(token))

    assert console == api
    assert console.user_id == idp.user["oid"] and console.roles == frozenset({Role("Police.Officer")})


def test_a_person_with_no_app_roles_signs_in_with_none(stamp, idp):
    idp.user = _person(stamp, roles=())
    signin = _signin(idp)
    _, state, answer = _round_trip(idp, signin)
    claims = signin.complete(state, answer)
    assert claims["roles"] == []
    principal = stamp.container.directory.principal_from_claims(claims)
    assert principal.roles == frozenset() and principal.organisation_id == "northwind"


def test_a_tampered_state_is_refused_before_any_code_is_redeemed(stamp, idp):
    idp.user = _person(stamp)
    signin = _signin(idp)
    _, state, answer = _round_trip(idp, signin)
    for forged in ({**answer, "state": "someone-elses-state"}, {k: v for k, v in answer.items() if k != "state"}):
        with pytest.raises(Unauthorized, match="does not belong to the sign-in this browser started"):
            signin.complete(state, forged)
    # The flow state in the cookie changed instead: the same refusal.
    with pytest.raises(Unauthorized, match="does not belong"):
        signin.complete({**state, "state": "edited"}, answer)
    assert idp.token_requests == []


def test_a_wrong_pkce_verifier_is_refused_by_the_provider(stamp, idp):
    """Proves the verifier is sent and checked: the code alone redeems nothing."""
    idp.user = _person(stamp)
    signin = _signin(idp)
    _, state, answer = _round_trip(idp, signin)
    with pytest.raises(Unauthorized, match=r"refused the sign-in code \(invalid_grant\)"):
        signin.complete({**state, "code_verifier": "x" * 43}, answer)
    assert idp.refusals == ["PKCE code_verifier does not match the code_challenge"]


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"aud": "another-apps-client-id"}, "issued to another application"),
        ({"nonce": "0" * 64}, "not made for this sign-in"),
        ({"iss": "https://login.example.org/evil/v2.0"}, "issuer this console does not trust"),
        ({"exp": 1_700_000_000, "iat": 1_699_996_400, "nbf": 1_699_996_400}, "expired"),
        ({"oid": None}, "names no user object id"),
    ],
)
def test_an_id_token_not_for_this_sign_in_is_refused(stamp, idp, override, reason):
    idp.user = _person(stamp)
    idp.id_token_overrides = override
    signin = _signin(idp)
    _, state, answer = _round_trip(idp, signin)
    with pytest.raises(Unauthorized, match=reason):
        signin.complete(state, answer)


def test_an_id_token_signed_by_another_key_is_refused(stamp, idp, monkeypatch):
    idp.user = _person(stamp)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    real_sign = idp.sign
    monkeypatch.setattr(idp, "sign", lambda claims, key=None: real_sign(claims, key=other))
    signin = _signin(idp, credential={"client_assertion": lambda: real_sign(_mi_claims(idp))})
    _, state, answer = _round_trip(idp, signin)
    with pytest.raises(Unauthorized, match="signature"):
        signin.complete(state, answer)


def _mi_claims(idp):
    now = int(datetime.datetime.now(datetime.UTC).timestamp())
    return {"iss": "mi", "sub": idp.federated_subject, "aud": "api://AzureADTokenExchange", "iat": now, "exp": now + 600}


def test_declined_consent_and_a_stale_or_missing_flow_are_plain_refusals(stamp, idp):
    idp.user = _person(stamp)
    idp.deny = True
    signin = _signin(idp)
    _, state, answer = _round_trip(idp, signin)
    with pytest.raises(Unauthorized, match="consent to Vigil was declined"):
        signin.complete(state, answer)

    idp.deny = False
    clock = [1_800_000_000.0]
    late = _signin(idp, clock=lambda: clock[0])
    _, state, answer = _round_trip(idp, late)
    clock[0] += FLOW_LIFETIME_SECONDS + 1
    with pytest.raises(Unauthorized, match="expired"):
        late.complete(state, answer)
    for lost in ({}, {"state": "only"}, None):
        with pytest.raises(Unauthorized, match="No sign-in was started"):
            signin.complete(lost, answer)  # type: ignore[arg-type]
    assert idp.token_requests == []


def test_a_federated_assertion_from_another_identity_is_refused(stamp, idp):
    idp.user = _person(stamp)
    signin = _signin(idp, credential={"client_assertion": lambda: idp.managed_identity_token(subject="some-other-identity")})
    _, state, answer = _round_trip(idp, signin)
    with pytest.raises(Unauthorized, match=r"\(invalid_client\)"):
        signin.complete(state, answer)
    assert idp.refusals == ["federated assertion from an identity the app does not trust"]


def _certificate_pem() -> tuple[str, object]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigil-console")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    # As Key Vault hands out a certificate with the PEM content type: the key, then the certificate.
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return pem + cert.public_bytes(serialization.Encoding.PEM).decode(), key.public_key()


def test_the_certificate_credential_from_settings_signs_the_console_in(stamp, idp):
    pem, public_key = _certificate_pem()
    settings = Settings(backend="azure", console_client_id=CLIENT_ID, console_credential="certificate", console_client_certificate=pem)
    credential = client_credential_from_settings(settings)
    idp.user = _person(stamp)
    signin = _signin(idp, credential=credential)

    _, state, answer = _round_trip(idp, signin)
    with pytest.raises(Unauthorized, match=r"\(invalid_client\)"):
        signin.complete(state, answer)  # the certificate is not registered on the app yet

    idp.certificates.append(public_key)
    _, state, answer = _round_trip(idp, signin)
    assert signin.complete(state, answer)["sub"] == idp.user["oid"]
    assert jwt.get_unverified_header(idp.token_requests[-1]["client_assertion"])["alg"] == "PS256"


def test_a_certificate_setting_without_key_and_certificate_is_a_clear_error():
    settings = Settings(backend="azure", console_client_id=CLIENT_ID, console_credential="certificate", console_client_certificate="")
    with pytest.raises(ValueError, match="VIGIL_CONSOLE_CLIENT_CERTIFICATE"):
        client_credential_from_settings(settings)


def test_only_the_azure_backend_with_a_console_app_gets_an_oidc_sign_in(tmp_path):
    assert Container(Settings(backend="local", data_dir=tmp_path, console_client_id=CLIENT_ID)).console_signin is None
    assert Container(Settings(backend="azure", data_dir=tmp_path)).console_signin is None
    built = Container(
        Settings(backend="azure", data_dir=tmp_path, console_client_id=CLIENT_ID, azure_client_id="mi-client-id")
    ).console_signin
    assert isinstance(built, MsalConsoleSignIn)


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        (CASE_LINK, CASE_LINK),
        ("/cases/inc-1/evidence/ev-2", "/cases/inc-1/evidence/ev-2"),
        ("https://evil.example/cases", "/"),
        ("//evil.example/cases", "/"),
        ("/\\evil.example", "/"),
        ("/cases/x\r\nSet-Cookie: a=b", "/"),
        ("cases/inc-1", "/"),
        ("/" + "a" * 5000, "/"),
        (None, "/"),
    ],
)
def test_only_a_path_on_this_site_survives_the_round_trip(stamp, idp, asked, kept):
    assert safe_next_path(asked) == kept
    if asked is not None and kept == "/":
        assert _signin(idp).begin(CALLBACK, asked).flow_state["next"] == "/"


def test_a_failing_managed_identity_is_unavailable_not_a_crash(stamp, idp, monkeypatch):
    """The federated credential's assertion comes from the stamp's identity endpoint; when
    that fails the person gets 503 (try again), not a 500."""
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ManagedIdentityCredential

    def unreachable(self, *scopes, **kw):
        raise ClientAuthenticationError("identity endpoint unreachable")

    monkeypatch.setattr(ManagedIdentityCredential, "get_token", unreachable)
    credential = client_credential_from_settings(Settings(backend="azure", console_client_id=CLIENT_ID, azure_client_id="mi-client-id"))
    idp.user = _person(stamp)
    signin = _signin(idp, credential=credential)
    _, state, answer = _round_trip(idp, signin)
    with pytest.raises(Unavailable, match="cannot prove itself"):
        signin.complete(state, answer)


# ---- through the console's own routes: /signin, Entra, /signin/callback, the deep link ----------


def _azure_console(stamp, idp, monkeypatch):
    """The stamp's console as on the azure backend, signing in through the fake provider."""
    from tests.console.conftest import Browser

    settings = stamp.container.settings
    azure = settings.model_copy(
        update={"backend": "azure", "region_base_urls": {**settings.region_base_urls, "uk": "https://vigil.example.net"}}
    )
    monkeypatch.setattr(stamp.container, "settings", azure)
    stamp.container.__dict__["console_signin"] = _signin(idp)
    return Browser(stamp)


def test_the_console_signs_in_through_entra_and_returns_to_the_deep_link(stamp, idp, monkeypatch):
    from shared.adapters.console_sessions import COOKIE

    idp.user = _person(stamp, "devon-and-cornwall", roles=("Police.Officer",))
    browser = _azure_console(stamp, idp, monkeypatch)
    away = browser.get("/?from=email")
    assert away.headers["location"] == "/signin?next=/%3Ffrom%3Demail"
    to_entra = browser.get(away.headers["location"])
    assert to_entra.status_code == 303 and to_entra.headers["location"].startswith(idp.authority)
    flow_cookie = to_entra.headers["set-cookie"]
    for attribute in ("vigil_signin=", "HttpOnly", "Secure", "SameSite=none", "Path=/signin/callback"):
        assert attribute in flow_cookie
    answer = _browser(idp, to_entra.headers["location"])
    back = browser.client.post(
        "/signin/callback",
        content=urllib.parse.urlencode(answer),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/?from=email"
    assert COOKIE in browser.client.cookies
    assert browser.get("/").headers["location"] == "/inbox"  # a police officer's home
    # The flow cookie is spent: the same answer posted again is refused.
    again = browser.client.post(
        "/signin/callback", content=urllib.parse.urlencode(answer), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert again.status_code == 401


def test_a_callback_without_the_flow_cookie_is_refused(stamp, idp, monkeypatch):
    idp.user = _person(stamp)
    browser = _azure_console(stamp, idp, monkeypatch)
    to_entra = browser.get("/signin")
    answer = _browser(idp, to_entra.headers["location"])
    browser.client.cookies.clear()
    back = browser.client.post(
        "/signin/callback", content=urllib.parse.urlencode(answer), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert back.status_code == 401
    assert "Sign in again" in back.text
