"""A reference receiver for Vigil's signed ANPR alerts (see docs/webhooks.md).

It does what every receiver should do, in this order:
1. read the raw body bytes (verify before parsing: re-serialised JSON would not match);
2. check `Vigil-Timestamp` is within the tolerance of its own clock (stale -> 400);
3. check `Vigil-Signature` (`v1=<hex HMAC-SHA256 over "{timestamp}.{body}">`) with a
   constant-time comparison (tampered or unsigned -> 401);
4. process each `Idempotency-Key` once: a replay inside the tolerance is answered 200
   with `"duplicate": true` and not processed again (so a sender retrying after a lost
   answer stops, and a replayed capture does nothing).

Run it: `python -m tools.webhook_receiver --port 8787 --secret whsec_...` prints each
accepted alert as a JSON line. Tests use `Receiver` and `serve()` in-process.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shared.domain.anpr import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify

MAX_BODY = 1024 * 1024


class Receiver:
    """Verification and once-only processing, independent of any HTTP server."""

    def __init__(self, secret: str, *, tolerance_seconds: int = 300, now: Callable[[], float] = time.time):
        self.secrets = [secret]
        self.tolerance = tolerance_seconds
        self.now = now
        self.accepted: list[dict[str, Any]] = []
        self.rejected: list[str] = []
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """(status, answer) for one POST; headers looked up case-insensitively."""
        h = {k.lower(): v for k, v in headers.items()}
        timestamp = h.get(TIMESTAMP_HEADER.lower(), "")
        signature = h.get(SIGNATURE_HEADER.lower(), "")
        key = h.get(IDEMPOTENCY_HEADER.lower(), "")
        now = self.now()
        problem = None
        for secret in self.secrets:
            try:
                verify(secret, timestamp, signature, body, now=now, tolerance_seconds=self.tolerance)
                problem = None
                break
            except SignatureError as exc:
                problem = str(exc)
        if problem is not None:
            self.rejected.append(problem)
            return (400 if "timestamp" in problem else 401), {"error": problem}
        if not key:
            self.rejected.append("no idempotency key")
            return 400, {"error": "Idempotency-Key missing"}
        with self._lock:
            # Keys older than the tolerance can be forgotten: their timestamps are stale anyway.
            for k, at in list(self._seen.items()):
                if at < now - 2 * self.tolerance:
                    del self._seen[k]
            if key in self._seen:
                self.rejected.append("replayed idempotency key")
                return 200, {"duplicate": True}
            self._seen[key] = now
            alert = json.loads(body)
            self.accepted.append(alert)
        return 200, {"accepted": True}


def serve(receiver: Receiver, *, host: str = "127.0.0.1", port: int = 0, path: str = "/alerts") -> ThreadingHTTPServer:
    """Start an HTTP server for `receiver` on a thread; `server.server_address` has the port."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            if self.path != path:
                self._answer(404, {"error": "not found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._answer(413, {"error": "too large"})
                return
            body = self.rfile.read(length)
            status, answer = receiver.handle(dict(self.headers.items()), body)
            self._answer(status, answer)

        def _answer(self, status: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="webhook_receiver", description="Verify and print Vigil's signed ANPR alerts.")
    parser.add_argument("--secret", required=True, help="the subscription's signing secret (whsec_...)")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--path", default="/alerts")
    parser.add_argument("--tolerance", type=int, default=300, help="seconds a timestamp may differ from this clock")
    args = parser.parse_args(argv)
    receiver = Receiver(args.secret, tolerance_seconds=args.tolerance)
    printed = 0
    server = serve(receiver, port=args.port, path=args.path)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}{args.path}", flush=True)
    try:
        while True:
            time.sleep(0.2)
            while printed < len(receiver.accepted):
                print(json.dumps(receiver.accepted[printed]), flush=True)
                printed += 1
    except KeyboardInterrupt:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
