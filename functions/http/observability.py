"""Request ids, one access line per request, and log lines that keep their fields.

- Each request gets an id: the caller's `X-Request-Id` when well-formed (a gateway's or a
  client's, so their logs and ours join), otherwise a fresh one. It is echoed in the
  answer's `X-Request-Id` and put on every log record made while the request is handled
  (`request_id`), including records from handlers running in the thread pool.
- One access line per request: method, the route's template (never the raw path or query:
  plates and other personal data travel in both), status and duration.
- `KeyValueFormatter` prints a record's `extra=` fields as `key=value` after the message
  (the stock formatter drops them).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid

ACCESS = logging.getLogger("vigil.http.access")
REQUEST_ID_HEADER = b"x-request-id"
# Letters, digits and . _ : - only, up to 128: anything else (spaces, newlines, quotes) could
# forge or break log lines, so it is replaced rather than echoed.
_WELL_FORMED = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("vigil_request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


def install_request_ids() -> None:
    """Give every log record a `request_id` attribute (None outside a request). Idempotent."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_vigil_request_ids", False):
        return

    def make(*args, **kwargs):
        record = factory(*args, **kwargs)
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return record

    make._vigil_request_ids = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make)


def _value(value) -> str:
    if not isinstance(value, str):
        return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)
    if value == "" or any(c in value for c in ' ="\n\r\t'):
        return json.dumps(value, ensure_ascii=False)
    return value


class KeyValueFormatter(logging.Formatter):
    """`2026-11-23T12:00:00.123Z INFO vigil.jobs job finished job=retention counts={...} request_id=...`"""

    converter = time.gmtime  # type: ignore[assignment]  # logging's documented way to log in UTC

    def __init__(self):
        super().__init__(fmt="%(asctime)s %(levelname)s %(name)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")

    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's naming
        return f"{super().formatTime(record, datefmt)}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k != "request_id" and v is not None}
        request_id = getattr(record, "request_id", None)
        if request_id:
            fields["request_id"] = request_id  # last, where it is easy to find
        if fields:
            extra = " ".join(f"{k}={_value(v)}" for k, v in fields.items())
            head, sep, rest = line.partition("\n")  # a traceback stays below the line
            line = f"{head} {extra}{sep}{rest}"
        return line


def configure_logging(level: str) -> None:
    """Process logging for `make run`: key=value lines on stderr, request ids on every line."""
    install_request_ids()
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Client libraries log each HTTP call (azure-core: URLs and headers) at INFO.
    for noisy in ("httpx", "httpcore", "azure", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class RequestContext:
    """ASGI middleware: the request id, the `X-Request-Id` answer header and the access line."""

    def __init__(self, app, *, route_prefix: str = ""):
        self.app = app
        self.route_prefix = route_prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = next((v for k, v in scope.get("headers", ()) if k == REQUEST_ID_HEADER), None)
        rid = incoming.decode("ascii") if incoming is not None and _WELL_FORMED.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != REQUEST_ID_HEADER]
                message = {**message, "headers": [*headers, (REQUEST_ID_HEADER, rid.encode("ascii"))]}
            await send(message)

        started_answer = False

        async def send_tracking(message):
            nonlocal started_answer
            started_answer = started_answer or message["type"] == "http.response.start"
            await send_with_id(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            # Answered here rather than by the outermost error middleware, so the error's log
            # line and the 500 carry the request id too.
            from functions.http.problems import unexpected_error

            logging.getLogger("vigil.http").exception("unhandled error", extra={"route": self._template(scope)})
            if started_answer:
                raise
            await unexpected_error(scope.get("path"))(scope, receive, send_with_id)
        finally:
            ACCESS.info(
                "access",
                extra={
                    "method": scope.get("method"),
                    "route": self._template(scope),
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id.reset(token)

    def _template(self, scope) -> str:
        """The matched route's path template (included routes keep theirs without the prefix)."""
        path = getattr(scope.get("route"), "path", None)
        if not path:
            return "(no route)"
        return path if path.startswith(self.route_prefix) else self.route_prefix + path
