"""Bounds enforced before any handler runs: request headers (431) and JSON bodies (413,
enforced while the body arrives)."""

from __future__ import annotations

import json
from collections.abc import Callable


class BodyLimit:
    """ASGI middleware: refuse bodies over `max_bytes`, by Content-Length or as they stream.

    Paths under `exempt_prefixes` (streamed evidence uploads) carry their own bound.
    """

    def __init__(self, app, *, max_bytes: int, exempt: Callable[[str], bool] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt or (lambda path: False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.exempt(scope.get("path", "")):
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    return await self._too_large(scope, send)
        # JSON bodies are small by bound: read the whole body first (stopping at the bound),
        # then hand it on, so the 413 is decided before any handler runs.
        chunks: list[bytes] = []
        seen = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                return await self._too_large(scope, send)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope, send):
        body = json.dumps(
            {
                "type": "/api/v1/problems/payload-too-large",
                "title": "Request too large",
                "status": 413,
                "detail": f"JSON bodies are limited to {self.max_bytes} bytes.",
                "instance": scope.get("path"),
                "errors": [],
                "max_bytes": self.max_bytes,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class HeaderLimit:
    """ASGI middleware: refuse requests with more than `max_count` header fields, or whose
    header fields (names and values) total more than `max_bytes`: 431 problem details.

    The HTTP server bounds what it buffers before the app sees a request (uvicorn's
    h11_max_incomplete_event_size under `make run`; the Functions host in Azure); this is
    the app's own, smaller bound, the same on every host."""

    def __init__(self, app, *, max_count: int, max_bytes: int):
        self.app = app
        self.max_count = max_count
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = scope.get("headers", ())
            if len(headers) > self.max_count:
                return await self._too_large(
                    scope, send, f"Requests may carry at most {self.max_count} header fields; this one has {len(headers)}."
                )
            total = sum(len(k) + len(v) for k, v in headers)
            if total > self.max_bytes:
                return await self._too_large(
                    scope, send, f"Request header fields may total at most {self.max_bytes} bytes; these are {total}."
                )
        await self.app(scope, receive, send)

    async def _too_large(self, scope, send, detail: str):
        body = json.dumps(
            {
                "type": "/api/v1/problems/request-header-fields-too-large",
                "title": "Request header fields too large",
                "status": 431,
                "detail": detail,
                "instance": scope.get("path"),
                "errors": [{"field": "headers", "message": detail}],
                "max_header_count": self.max_count,
                "max_header_bytes": self.max_bytes,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 431,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
