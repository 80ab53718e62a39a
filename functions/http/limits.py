"""Body-size bound for JSON routes, enforced while the body arrives (413)."""

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
