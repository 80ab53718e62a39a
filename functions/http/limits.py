"""Bounds enforced around the handlers: request headers (431) and JSON bodies (413,
enforced while the body arrives) before any handler runs; how slowly a body may arrive
(408); and how many evidence uploads may stream at once (429 per user and organisation,
503 past the process's upload threads). Per-principal write budgets and image work are
bounded in shared/services/quotas.py and shared/services/evidence/image_work.py. The
policy is written up in docs/limits.md."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable

import anyio
from fastapi import Depends, Request

from functions.http.deps import principal
from shared.domain.errors import DomainError
from shared.domain.tenancy import Principal

log = logging.getLogger("vigil.http")


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


# ---- slow bodies ------------------------------------------------------------------------


class BodyTimeout(Exception):
    """The request body stopped arriving (`reason` "idle") or arrived too slowly ("rate")."""

    def __init__(self, reason: str, detail: str, *, received: int, waited: float):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.received = received
        self.waited = waited


class BodyPace:
    """How long the next wait for request body bytes may last.

    Two bounds, both on time spent *waiting for the client* (time the server spends on
    bytes it already has is not the client's fault and does not count):
    - idle: no single wait longer than `idle_seconds`;
    - rate: once `grace_seconds` of waiting have passed, the body must have averaged at
      least `min_bytes_per_second` over all the waiting so far (0: no minimum). Each byte
      received earns 1/min_bytes_per_second seconds of waiting.
    """

    def __init__(
        self, *, idle_seconds: float, min_bytes_per_second: float, grace_seconds: float, clock: Callable[[], float] = time.monotonic
    ):
        self.idle_seconds = idle_seconds
        self.min_rate = min_bytes_per_second
        self.grace_seconds = grace_seconds
        self.clock = clock
        self.received = 0
        self.waited = 0.0
        self._since: float | None = None
        self._bound = "idle"

    def begin(self) -> float:
        """Start waiting for the next piece of body: the seconds this wait may last."""
        self._since = self.clock()
        allowed, self._bound = self.idle_seconds, "idle"
        if self.min_rate > 0:
            by_rate = max(self.grace_seconds, self.received / self.min_rate) - self.waited
            if by_rate < allowed:
                allowed, self._bound = by_rate, "rate"
        return max(0.0, allowed)

    def arrived(self, size: int) -> None:
        """`size` bytes arrived, ending the wait `begin` started."""
        self.waited += self._waiting()
        self.received += size
        self._since = None

    def expired(self) -> BodyTimeout:
        """The wait `begin` started reached its allowance: the error that cuts the body."""
        waited = self.waited + self._waiting()
        if self._bound == "idle":
            detail = f"The request body stalled: nothing arrived for {self.idle_seconds:g} s (after {self.received} bytes)."
        else:
            detail = (
                f"The request body arrived too slowly: {self.received} bytes in {waited:.1f} s, "
                f"under the minimum of {self.min_rate:g} bytes/s."
            )
        return BodyTimeout(self._bound, detail, received=self.received, waited=waited)

    def _waiting(self) -> float:
        return self.clock() - self._since if self._since is not None else 0.0


def _declares_body(scope) -> bool:
    for name, value in scope.get("headers", ()):
        if (name == b"content-length" and value.strip() not in (b"", b"0")) or name == b"transfer-encoding":
            return True
    return False


class BodyTimeouts:
    """ASGI middleware: cut a request body that stalls or trickles (see `BodyPace`).

    A handler reading the body (a streamed upload on a worker thread, or the JSON bound
    reading it up front) sees `BodyTimeout` from its read; the client gets 408 problem
    details if no answer had started, and the connection is closed. Waiting for a
    disconnect after the body is complete is not timed.
    """

    def __init__(self, app, *, idle_seconds: float, min_bytes_per_second: float, grace_seconds: float):
        self.app = app
        self.idle_seconds = idle_seconds
        self.min_bytes_per_second = min_bytes_per_second
        self.grace_seconds = grace_seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not _declares_body(scope):
            return await self.app(scope, receive, send)
        pace = BodyPace(idle_seconds=self.idle_seconds, min_bytes_per_second=self.min_bytes_per_second, grace_seconds=self.grace_seconds)
        complete = False
        answered = False

        async def timed_receive():
            nonlocal complete
            if complete:
                return await receive()
            message = None
            with anyio.move_on_after(pace.begin()):
                message = await receive()
            if message is None:
                raise pace.expired()
            if message["type"] == "http.request":
                pace.arrived(len(message.get("body", b"")))
                complete = not message.get("more_body", False)
            else:
                complete = True
            return message

        async def tracking_send(message):
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, tracking_send)
        except BodyTimeout as exc:
            log.warning("request body cut", extra={"reason": exc.reason, "received_bytes": exc.received, "waited_s": round(exc.waited, 1)})
            if answered:
                raise
            await self._timed_out(scope, send, exc)

    async def _timed_out(self, scope, send, exc: BodyTimeout):
        body = json.dumps(
            {
                "type": "/api/v1/problems/request-timeout",
                "title": "Request body too slow",
                "status": 408,
                "detail": f"{exc.detail} Send it again (a resumable upload: from its received offset).",
                "instance": scope.get("path"),
                "errors": [{"field": "body", "message": exc.reason}],
                "reason": exc.reason,
                "received_bytes": exc.received,
                "idle_timeout_seconds": self.idle_seconds,
                "min_bytes_per_second": self.min_bytes_per_second,
                "grace_seconds": self.grace_seconds,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 408,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    # The rest of the body is not wanted: the server stops reading it.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# ---- concurrent uploads -----------------------------------------------------------------

# When a refused upload may try again: a slot frees as soon as one upload finishes, and a
# stalled one is cut within the body timeouts.
RETRY_AFTER_SECONDS = 5


class TooManyUploads(DomainError):
    status, slug, title = 429, "too-many-uploads", "Too many uploads in progress"
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Connection": "close"}


class UploadsBusy(DomainError):
    status, slug, title = 503, "uploads-busy", "The server is busy with other uploads"
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Connection": "close"}


class UploadSlots:
    """Evidence uploads streaming in this process: at most `threads` at once (each holds a
    handler thread while its body arrives), `per_user` per user and `per_organisation`
    per organisation. `is_upload(method, route_path)` names the routes counted."""

    def __init__(self, *, threads: int, per_user: int, per_organisation: int, is_upload: Callable[[str, str], bool]):
        self.threads = threads
        self.per_user = per_user
        self.per_organisation = per_organisation
        self.is_upload = is_upload
        # Tests serve one app from several event loops (one per client): a lock, not the loop, guards the counts.
        self._lock = threading.Lock()
        self._total = 0
        self._users: dict[tuple[str, str], int] = {}
        self._orgs: dict[str, int] = {}

    def acquire(self, p: Principal) -> None:
        user = (p.organisation_id, p.user_id)
        with self._lock:
            if self._users.get(user, 0) >= self.per_user:
                raise TooManyUploads(
                    f"You have {self.per_user} uploads in progress, the most one user may have at once: "
                    f"wait for one to finish, then try again.",
                    limit=self.per_user,
                    scope="user",
                )
            if self._orgs.get(p.organisation_id, 0) >= self.per_organisation:
                raise TooManyUploads(
                    f"Your organisation has {self.per_organisation} uploads in progress, the most it may have at once: "
                    f"wait for one to finish, then try again.",
                    limit=self.per_organisation,
                    scope="organisation",
                )
            if self._total >= self.threads:
                raise UploadsBusy(f"This server is taking {self.threads} uploads already; try again shortly.", limit=self.threads)
            self._total += 1
            self._users[user] = self._users.get(user, 0) + 1
            self._orgs[p.organisation_id] = self._orgs.get(p.organisation_id, 0) + 1

    def release(self, p: Principal) -> None:
        user = (p.organisation_id, p.user_id)
        with self._lock:
            self._total -= 1
            self._users[user] -= 1
            if not self._users[user]:
                del self._users[user]
            self._orgs[p.organisation_id] -= 1
            if not self._orgs[p.organisation_id]:
                del self._orgs[p.organisation_id]

    def in_progress(self) -> int:
        with self._lock:
            return self._total


async def upload_slot(request: Request, p: Principal = Depends(principal)) -> AsyncIterator[None]:
    """Router dependency: an upload route's request holds a slot (see `UploadSlots`) from
    after the token check until its handler returns; other routes pass through. Async, so
    a refused upload never waits for a handler thread."""
    slots: UploadSlots = request.app.state.upload_slots
    route = request.scope.get("route")
    if not slots.is_upload(request.method, getattr(route, "path", "")):
        yield
        return
    slots.acquire(p)
    try:
        yield
    finally:
        slots.release(p)
