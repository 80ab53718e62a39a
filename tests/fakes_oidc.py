"""A fake OpenID Connect provider shaped like Entra ID, for the console sign-in tests
(test-only): discovery document, JWKS, an authorize endpoint that consents at once and
sends the browser back with a code (query or form_post), and a token endpoint that checks what Entra checks
(the code's redirect URI, the PKCE verifier, the client's assertion) before it hands out an
RS256 ID token. It serves https (msal speaks to https authorities only) with a self-signed
certificate the test trusts through `ca_file`."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.client.fake_idp import self_signed, send_json

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FEDERATED_AUDIENCE = "api://AzureADTokenExchange"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class FakeOpenIdProvider:
    """One app registration (`client_id`, its redirect URIs) and whoever signs in next
    (`user`). Its authority is multi-tenant like Entra's `organizations`: the discovery
    document's issuer holds `{tenantid}`, and each ID token's issuer names the user's tid.

    The client proves itself with either credential Entra offers the console: a federated
    assertion (a token of the "managed identity" `managed_identity_token` mints, trusted for
    `federated_subject`) or a certificate assertion (signed by a key whose certificate is in
    `certificates`)."""

    def __init__(self, cert_dir: Path, *, client_id: str, redirect_uris: list[str], federated_subject: str = "stamp-identity"):
        self.client_id = client_id
        self.redirect_uris = list(redirect_uris)
        self.federated_subject = federated_subject
        self.certificates: list[Any] = []  # public keys of certificates registered on the app
        self.user: dict[str, Any] = {}
        self.deny = False
        # Claims the next ID tokens get instead of the true ones (an answer for another app, a wrong nonce).
        self.id_token_overrides: dict[str, Any] = {}
        self.token_requests: list[dict[str, str]] = []
        self.refusals: list[str] = []
        self._codes: dict[str, dict[str, Any]] = {}
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "fake-idp-key-1"
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                send_json(self, status, body)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                if url.path.endswith("/v2.0/.well-known/openid-configuration"):
                    self._json(200, provider.discovery(url.path.split("/")[1]))
                elif url.path == "/common/discovery/v2.0/keys":
                    self._json(200, provider.jwks())
                elif url.path.endswith("/oauth2/v2.0/authorize"):
                    status, headers, body = provider.authorize(dict(urllib.parse.parse_qsl(url.query)))
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if not self.path.endswith("/oauth2/v2.0/token"):
                    self._json(404, {"error": "not_found"})
                    return
                status, body = provider.token(form)
                self._json(status, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.ca_file, key_file = self_signed(cert_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.base = f"https://localhost:{self._server.server_address[1]}"
        self.authority = f"{self.base}/organizations"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    # ---- endpoints -----------------------------------------------------------------------

    def discovery(self, tenant: str) -> dict[str, Any]:
        issuer_tenant = "{tenantid}" if tenant in ("organizations", "common") else tenant
        return {
            "issuer": f"{self.base}/{issuer_tenant}/v2.0",
            "authorization_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/authorize",
            "token_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/token",
            "jwks_uri": f"{self.base}/common/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if query.get("client_id") != self.client_id:
            return 400, {"Content-Type": "text/plain"}, b"AADSTS700016: application not found"
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris:
            return 400, {"Content-Type": "text/plain"}, b"AADSTS50011: redirect URI not registered"
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {"Content-Type": "text/plain"}, b"AADSTS9002325: PKCE is required"
        answer: dict[str, str] = {"state": query.get("state", "")}
        if self.deny:
            answer.update(error="access_denied", error_description="AADSTS65004: User declined to consent.")
        else:
            code = secrets.token_urlsafe(24)
            self._codes[code] = {
                "redirect_uri": redirect_uri,
                "code_challenge": query["code_challenge"],
                "nonce": query.get("nonce"),
                "user": dict(self.user),
            }
            answer["code"] = code
        if query.get("response_mode") == "form_post":
            # Entra's form_post answer: a page whose form posts the answer to the redirect URI.
            fields = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in answer.items())
            page = f'<html><body onload="document.forms[0].submit()"><form method="POST" action="{html.escape(redirect_uri)}">{fields}</form></body></html>'
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()
        location = f"{redirect_uri}?{urllib.parse.urlencode(answer)}"
        return 302, {"Location": location}, b""

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        if form.get("grant_type") != "authorization_code":
            return self._refuse("unsupported_grant_type", "only the authorization code grant")
        if form.get("client_id") != self.client_id or form.get("client_assertion_type") != JWT_BEARER:
            return self._refuse("invalid_client", "no client assertion")
        why = self._client_assertion_problem(form.get("client_assertion", ""))
        if why:
            return self._refuse("invalid_client", why)
        grant = self._codes.pop(form.get("code", ""), None)  # single use, as Entra's codes are
        if grant is None:
            return self._refuse("invalid_grant", "unknown or used code")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return self._refuse("invalid_grant", "redirect_uri differs from the authorize request's")
        verifier = form.get("code_verifier", "")
        if _b64url(hashlib.sha256(verifier.encode()).digest()) != grant["code_challenge"]:
            return self._refuse("invalid_grant", "PKCE code_verifier does not match the code_challenge")
        user = grant["user"]
        return 200, {
            "token_type": "Bearer",
            "scope": form.get("scope", ""),
            "expires_in": 3600,
            "access_token": "opaque-graph-token",
            "id_token": self.id_token(user, nonce=grant["nonce"]),
            "client_info": _b64url(json.dumps({"uid": user.get("oid"), "utid": user.get("tid")}).encode()),
        }

    # ---- tokens --------------------------------------------------------------------------

    def id_token(self, user: dict[str, Any], *, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": f"{self.base}/{user['tid']}/v2.0",
            "aud": self.client_id,
            # Pairwise, as Entra's is: this app's sub for the user, never their oid.
            "sub": f"pairwise-{user['oid']}-{self.client_id}",
            "oid": user["oid"],
            "tid": user["tid"],
            "nonce": nonce,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": user.get("name", "A Person"),
            "ver": "2.0",
        }
        if user.get("roles"):
            claims["roles"] = list(user["roles"])
        if "stores" in user:
            claims["stores"] = user["stores"]
        claims.update(self.id_token_overrides)
        return self.sign(claims)

    def sign(self, claims: dict[str, Any], *, key: Any = None) -> str:
        pem = (key or self._key).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": self.kid})

    def managed_identity_token(self, *, subject: str | None = None) -> str:
        """What the stamp's managed identity endpoint would give for api://AzureADTokenExchange."""
        now = int(time.time())
        claims = {"iss": f"{self.base}/managed-identities/v2.0", "sub": subject or self.federated_subject, "aud": FEDERATED_AUDIENCE}
        return self.sign({**claims, "iat": now, "exp": now + 600})

    def _client_assertion_problem(self, assertion: str) -> str | None:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return "client assertion is not a JWT"
        if "x5t#S256" in header or "x5t" in header:
            for public_key in self.certificates:
                try:
                    claims = jwt.decode(
                        assertion, public_key, algorithms=["PS256", "RS256"], audience=f"{self.authority}/oauth2/v2.0/token"
                    )
                except jwt.PyJWTError:
                    continue
                return None if claims.get("iss") == claims.get("sub") == self.client_id else "certificate assertion names another client"
            return "certificate assertion signed by no registered certificate"
        try:
            claims = jwt.decode(assertion, self._key.public_key(), algorithms=["RS256"], audience=FEDERATED_AUDIENCE)
        except jwt.PyJWTError as exc:
            return f"federated assertion does not verify ({exc})"
        return None if claims.get("sub") == self.federated_subject else "federated assertion from an identity the app does not trust"

    def _refuse(self, error: str, why: str) -> tuple[int, dict[str, Any]]:
        self.refusals.append(why)
        return 400, {"error": error, "error_description": why}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
