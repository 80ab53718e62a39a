"""Console sign-in through Entra ID with msal: OpenID Connect authorization code flow with
PKCE, the ID token checked here (msal no longer validates ID tokens), its claims mapped to
the ones the API reads from an access token."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
import msal
from jwt import PyJWK, PyJWKSet

from shared.domain.errors import Unauthorized, Unavailable
from shared.domain.signin import safe_next_path
from shared.ports import SignInStart
from shared.settings import Settings

# What msal's acquire_token_by_auth_code_flow reads back from the flow it made. The rest of
# its flow dict (the authorize URL, which repeats all of these) is not kept: the state lives
# in the browser's session cookie, capped at about 4 KB with everything else it holds.
_FLOW_KEYS = ("state", "redirect_uri", "scope", "code_verifier", "nonce")
# The parameters an authorize answer may carry; anything else the browser brings is dropped
# before msal sees it.
_ANSWER_KEYS = ("code", "state", "error", "error_description", "error_uri", "session_state", "client_info")
# A sign-in not finished in this time is refused: the person started it, so they can start
# again, and an old flow state found in a cookie later is worth nothing to whoever found it.
FLOW_LIFETIME_SECONDS = 15 * 60
# Entra ID signs its tokens with RSA keys; nothing weaker or symmetric is accepted.
_ALGORITHMS = ["RS256"]
# The audience of a managed identity token exchanged for an app's credential (public cloud).
FEDERATED_TOKEN_AUDIENCE = "api://AzureADTokenExchange"


class _NoTokenCache(msal.TokenCache):
    """The console keeps no tokens: it needs the ID token once, to sign the person in.
    msal's default cache would otherwise hold every signed-in person's refresh token in
    this process's memory, for as long as it runs."""

    def add(self, event: dict[str, Any], **kwargs: Any) -> None:
        return None


class MsalConsoleSignIn:
    """`ConsoleSignIn` with msal's `ConfidentialClientApplication` against an Entra ID
    authority (https://login.microsoftonline.com/<tenant or organizations>).

    `http_client` (a requests session) and `validate_authority=False` exist for tests
    against a local provider; a stamp uses msal's own session and authority validation."""

    def __init__(
        self,
        client_id: str,
        authority: str,
        client_credential: dict[str, Any],
        *,
        http_client: Any = None,
        validate_authority: bool = True,
        leeway_seconds: int = 120,
        clock: Callable[[], float] = time.time,
    ):
        if not client_id:
            raise ValueError("VIGIL_CONSOLE_CLIENT_ID is required for console sign-in on the azure backend")
        self._client_id = client_id
        self._authority = authority.rstrip("/")
        self._credential = client_credential
        self._http_client = http_client
        self._validate_authority = validate_authority
        self._leeway = leeway_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._app: msal.ConfidentialClientApplication | None = None
        self._issuer: str | None = None
        self._jwks_uri: str | None = None
        self._keys: dict[str, PyJWK] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> MsalConsoleSignIn:
        """The console's sign-in as the stamp's settings describe it."""
        return cls(settings.console_client_id, settings.console_authority, client_credential_from_settings(settings))

    # ---- the port -----------------------------------------------------------------------

    def begin(self, redirect_uri: str, next_path: str) -> SignInStart:
        """See `shared.ports.ConsoleSignIn.begin`."""
        app = self._application()
        # response_mode "form_post": the code comes back in a POST body, never in a URL, so
        # it is not written to browser history, Referer headers, or request telemetry
        # (Application Insights records request URLs) (RFC 9700 4.3.1, and msal's advice).
        # That POST is cross-site (from the identity provider), so the flow state must be in
        # a cookie that travels with it: not the SameSite=Lax session cookie (docs/tenancy.md).
        flow = app.initiate_auth_code_flow(scopes=[], redirect_uri=redirect_uri, response_mode="form_post")
        state = {key: flow[key] for key in _FLOW_KEYS}
        state["next"] = safe_next_path(next_path)
        state["started_at"] = int(self._clock())
        return SignInStart(url=flow["auth_uri"], flow_state=state)

    def complete(self, flow_state: dict[str, Any], callback_params: dict[str, str]) -> dict[str, Any]:
        """See `shared.ports.ConsoleSignIn.complete`."""
        flow = self._flow(flow_state)
        answer = {key: callback_params[key] for key in _ANSWER_KEYS if isinstance(callback_params.get(key), str)}
        # msal checks the state too; checked here first so a forged or stale callback never
        # reaches the identity provider and gets a plain answer.
        if not hmac.compare_digest(str(answer.get("state", "")).encode(), str(flow["state"]).encode()):
            raise Unauthorized("This sign-in answer does not belong to the sign-in this browser started. Sign in again.")
        if "error" in answer:
            if answer["error"] == "access_denied":
                raise Unauthorized("Sign-in was cancelled, or consent to Vigil was declined. Sign in again, or ask your administrator.")
            raise Unauthorized(f"The identity provider refused the sign-in ({_code(answer['error'])}). Sign in again.")
        if not answer.get("code"):
            raise Unauthorized("The sign-in answer carries no authorization code. Sign in again.")
        app = self._application()
        try:
            result = app.acquire_token_by_auth_code_flow(dict(flow), answer)
        except ValueError as exc:
            raise Unauthorized("This sign-in answer does not belong to the sign-in this browser started. Sign in again.") from exc
        except RuntimeError as exc:
            # msal raises RuntimeError for an ID token whose nonce is not this flow's.
            raise Unauthorized("The identity provider's answer was not made for this sign-in (nonce). Sign in again.") from exc
        except OSError as exc:
            raise Unavailable("The identity provider cannot be reached. Try again in a minute.") from exc
        if "error" in result:
            raise Unauthorized(f"The identity provider refused the sign-in code ({_code(result['error'])}). Sign in again.")
        id_token = result.get("id_token")
        if not isinstance(id_token, str):
            raise Unauthorized("The identity provider sent no ID token. Sign in again.")
        return vigil_claims(self._verify_id_token(id_token, nonce=str(flow["nonce"])))

    # ---- internals ----------------------------------------------------------------------

    def _flow(self, flow_state: Any) -> dict[str, Any]:
        if not isinstance(flow_state, dict) or not all(isinstance(flow_state.get(k), (str, list)) for k in _FLOW_KEYS):
            raise Unauthorized("No sign-in was started from this browser, or it was lost. Sign in again.")
        started = flow_state.get("started_at")
        if not isinstance(started, int) or not 0 <= self._clock() - started <= FLOW_LIFETIME_SECONDS:
            raise Unauthorized("This sign-in took too long and has expired. Sign in again.")
        return {key: flow_state[key] for key in _FLOW_KEYS}

    def _application(self) -> msal.ConfidentialClientApplication:
        # Built on first use: msal reads the authority's discovery document when it is made,
        # and a stamp must start (timers, queues) whether or not Entra answers.
        with self._lock:
            if self._app is None:
                try:
                    extra = {"http_client": self._http_client} if self._http_client is not None else {}
                    self._app = msal.ConfidentialClientApplication(
                        self._client_id,
                        authority=self._authority,
                        client_credential=self._credential,
                        validate_authority=self._validate_authority,
                        token_cache=_NoTokenCache(),
                        # No refresh token is wanted, so none is asked for: signing in
                        # needs the ID token alone.
                        exclude_scopes=["offline_access"],
                        **extra,
                    )
                except OSError as exc:
                    raise Unavailable("The identity provider cannot be reached. Try again in a minute.") from exc
            return self._app

    def _discovery(self) -> tuple[str, str]:
        """The issuer and the JWKS URL from the authority's OpenID configuration."""
        if self._issuer is None or self._jwks_uri is None:
            document = self._get_json(f"{self._authority}/v2.0/.well-known/openid-configuration")
            issuer, jwks_uri = document.get("issuer"), document.get("jwks_uri")
            if not isinstance(issuer, str) or not isinstance(jwks_uri, str):
                raise Unavailable("The identity provider's OpenID configuration names no issuer or keys.")
            self._issuer, self._jwks_uri = issuer, jwks_uri
        return self._issuer, self._jwks_uri

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._application().http_client.get(url)
        except OSError as exc:
            raise Unavailable("The identity provider cannot be reached. Try again in a minute.") from exc
        if response.status_code != 200:
            raise Unavailable(f"The identity provider answered {response.status_code} for its OpenID configuration or keys.")
        try:
            body = json.loads(response.text)
        except ValueError as exc:
            raise Unavailable("The identity provider's OpenID configuration or keys are not JSON.") from exc
        if not isinstance(body, dict):
            raise Unavailable("The identity provider's OpenID configuration or keys are not a JSON object.")
        return body

    def _key(self, kid: str) -> PyJWK:
        key = self._keys.get(kid)
        if key is None:
            # Entra rolls its keys: a kid not seen yet is a reason to read the set again, once.
            _, jwks_uri = self._discovery()
            try:
                keys = PyJWKSet.from_dict(self._get_json(jwks_uri)).keys
            except jwt.PyJWTError as exc:
                raise Unavailable("The identity provider's signing keys cannot be read.") from exc
            self._keys = {k.key_id: k for k in keys if k.key_id}
            key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("The ID token was signed with a key the identity provider does not publish.")
        return key

    def _verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("The ID token is not a well-formed JWT.") from exc
        if header.get("alg") not in _ALGORITHMS or not isinstance(header.get("kid"), str):
            raise Unauthorized("The ID token is not signed the way Entra ID signs (RS256, with a key id).")
        key = self._key(header["kid"])
        try:
            claims = jwt.decode(
                id_token,
                key.key,
                algorithms=_ALGORITHMS,
                audience=self._client_id,
                leeway=self._leeway,
                options={"require": ["iss", "aud", "exp", "iat", "nonce", "tid"], "verify_iss": False},
            )
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("The ID token was issued to another application.") from exc
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The ID token has expired. Sign in again.") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"The ID token lacks the {exc.claim} claim.") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("The ID token's signature or times do not verify.") from exc
        issuer, _ = self._discovery()
        # The multi-tenant ("organizations") configuration names its issuer with a {tenantid}
        # placeholder: the token's own tid fills it, so the issuer still names that tenant.
        expected = issuer.replace("{tenantid}", str(claims["tid"]))
        if claims.get("iss") != expected:
            raise Unauthorized("The ID token comes from an issuer this console does not trust.")
        # msal sends the SHA-256 of the flow's nonce; it checks it as well, but an unchecked
        # nonce would let a captured ID token be replayed into another sign-in.
        sent = hashlib.sha256(nonce.encode("ascii")).hexdigest()
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), sent.encode()):
            raise Unauthorized("The identity provider's answer was not made for this sign-in (nonce). Sign in again.")
        return claims


def vigil_claims(id_token_claims: dict[str, Any]) -> dict[str, Any]:
    """The claims `Directory.principal_from_claims` reads, from a verified Entra ID token.

    `sub` is the person's object id (`oid`), not the ID token's own `sub`: Entra's `sub` is
    pairwise, different in each app registration's tokens, while `oid` is the person's one
    id in their tenant. The API keys people on `oid` too (principal_from_claims), so a
    person is one user in audit whether they use the console or the API.
    """
    oid = id_token_claims.get("oid")
    tid = id_token_claims.get("tid")
    if not isinstance(oid, str) or not oid or not isinstance(tid, str) or not tid:
        raise Unauthorized(
            "The ID token names no user object id (oid) or tenant (tid); ask your administrator to check the app registration."
        )
    claims: dict[str, Any] = {"sub": oid, "tid": tid, "roles": id_token_claims.get("roles", [])}
    # A stores claim arrives only where the tenant maps its directory attribute into tokens;
    # principal_from_claims checks its shape as it does an access token's.
    if "stores" in id_token_claims:
        claims["stores"] = id_token_claims["stores"]
    return claims


def client_credential_from_settings(settings: Settings) -> dict[str, Any]:
    """msal's client credential for the console: a federated assertion (a token of the
    stamp's managed identity, which Entra trusts through the app's federated identity
    credential: no secret exists anywhere), or a certificate from Key Vault."""
    if settings.console_credential == "federated":
        from azure.core.exceptions import ClientAuthenticationError
        from azure.identity import ManagedIdentityCredential

        identity = ManagedIdentityCredential(client_id=settings.azure_client_id or None)

        def assertion() -> str:
            # ManagedIdentityCredential caches the token until shortly before it expires.
            try:
                return identity.get_token(f"{FEDERATED_TOKEN_AUDIENCE}/.default").token
            except ClientAuthenticationError as exc:
                # The stamp's identity endpoint failing is ours to fix, not the person's: 503.
                raise Unavailable("The console cannot prove itself to the identity provider right now. Try again in a minute.") from exc

        return {"client_assertion": assertion}
    pem = settings.console_client_certificate.get_secret_value()
    key = re.search(r"-----BEGIN (?:RSA |EC )?PRIVATE KEY-----.+?-----END (?:RSA |EC )?PRIVATE KEY-----", pem, re.S)
    cert = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
    if key is None or cert is None:
        raise ValueError("VIGIL_CONSOLE_CLIENT_CERTIFICATE must hold a PEM private key and its certificate (Key Vault, PEM content type)")
    # With the certificate itself msal signs the assertion with PS256 and its SHA-256 thumbprint.
    return {"private_key": key.group(0), "public_certificate": cert.group(0)}


def _code(error: Any) -> str:
    """An OAuth error code fit to repeat to the person: short, and only its own characters."""
    return re.sub(r"[^A-Za-z0-9_.-]", "", str(error))[:60] or "unknown error"
