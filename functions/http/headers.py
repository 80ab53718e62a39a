"""Security headers on every answer, and `Cache-Control: no-store` on API answers.

- every answer: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
  `X-Frame-Options: DENY`, `Cross-Origin-Resource-Policy: same-origin`, and a
  Content-Security-Policy that allows nothing (`default-src 'none'; frame-ancestors 'none'`)
  unless the route set its own (the docs page);
- `Strict-Transport-Security` when the request came over https (directly, or through a
  front end that says so in `X-Forwarded-Proto`); browsers ignore it over plain http;
- `Cache-Control: no-store` on every answer under the API prefix (they carry personal data:
  incidents, evidence, plates) unless the route chose its own, except the health check, the
  OpenAPI document and the docs.
"""

from __future__ import annotations

from collections.abc import Iterable

ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
DEFAULT_CSP = b"default-src 'none'; frame-ancestors 'none'"
HSTS = b"max-age=31536000; includeSubDomains"


class SecurityHeaders:
    def __init__(self, app, *, api_prefix: str, cacheable: Iterable[str]):
        self.app = app
        self.api_prefix = api_prefix
        self.cacheable = tuple(cacheable)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        private = path.startswith(self.api_prefix) and not path.startswith(self.cacheable)
        forwarded = next((v for k, v in scope.get("headers", ()) if k == b"x-forwarded-proto"), b"")
        https = scope.get("scheme") == "https" or forwarded.split(b",")[0].strip().lower() == b"https"

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in ALWAYS if k not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", DEFAULT_CSP))
                if https and b"strict-transport-security" not in present:
                    headers.append((b"strict-transport-security", HSTS))
                if private and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
