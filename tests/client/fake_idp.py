"""A fake OAuth 2.0 identity provider for the sign-in tests (test-only): OpenID discovery,
the client-credentials grant and the device authorization grant. The access tokens it
hands out are ones the local stamp accepts (minted by the stamp's own token command), so
a token msal obtained here is used against the real stamp."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(folder: Path) -> tuple[str, str]:
    """A certificate and key for localhost (PEM files in `folder`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "idp-cert.pem", folder / "idp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def send_json(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    """A JSON answer from a fake provider's request handler."""
    raw = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class FakeIdentityProvider:
    def __init__(self, mint: Callable[[], str], cert_dir: Path, *, client_secret: str = "s3cret", tenant: str = "northwind-tenant"):
        self.mint = mint
        self.client_secret = client_secret
        self.tenant = tenant
        self.token_requests: list[dict[str, str]] = []
        self.approved = threading.Event()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                send_json(self, status, body)

            def do_GET(self) -> None:
                if self.path.split("?")[0].endswith("/.well-known/openid-configuration"):
                    base = provider.authority
                    self._send(
                        200,
                        {
                            "issuer": base,
                            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                            "token_endpoint": f"{base}/oauth2/v2.0/token",
                            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                        },
                    )
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if self.path.endswith("/devicecode"):
                    self._send(
                        200,
                        {
                            "device_code": "dev-code-1",
                            "user_code": "ABCD-EFGH",
                            "verification_uri": f"{provider.authority}/device",
                            "expires_in": 60,
                            "interval": 1,
                            "message": "To sign in, open the device page and enter ABCD-EFGH.",
                        },
                    )
                    return
                provider.token_requests.append(form)
                grant = form.get("grant_type")
                if grant == "client_credentials":
                    if form.get("client_secret") != provider.client_secret and "client_assertion" not in form:
                        self._send(401, {"error": "invalid_client", "error_description": "wrong secret"})
                        return
                elif grant == "urn:ietf:params:oauth:grant-type:device_code":
                    if not provider.approved.is_set():
                        self._send(400, {"error": "authorization_pending"})
                        return
                elif grant != "refresh_token":
                    self._send(400, {"error": "unsupported_grant_type"})
                    return
                body: dict[str, Any] = {"token_type": "Bearer", "access_token": provider.mint(), "expires_in": 3600}
                if grant != "client_credentials":
                    body["refresh_token"] = "refresh-1"
                    body["id_token"] = provider.id_token()
                    body["client_info"] = provider.client_info()
                self._send(200, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # msal only speaks to https authorities: a self-signed certificate for localhost,
        # trusted by the test's own requests session (`ca_file`).
        self.ca_file, key_file = self_signed(cert_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.authority = f"https://localhost:{self._server.server_address[1]}/{tenant}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def client_info(self) -> str:
        return _b64({"uid": "amy", "utid": self.tenant})

    def id_token(self) -> str:
        part = _b64

        now = int(time.time())
        claims = {
            "iss": self.authority,
            "sub": "amy",
            "aud": "vigil-till",
            "iat": now,
            "exp": now + 3600,
            "preferred_username": "amy@northwind",
        }
        return f"{part({'alg': 'none'})}.{part(claims)}."

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
