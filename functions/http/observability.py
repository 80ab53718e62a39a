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

from opentelemetry import trace

ACCESS = logging.getLogger("vigil.http.access")
REQUEST_ID_HEADER = b"x-request-id"
# Letters, digits and . _ : - only, up to 128: anything else (spaces, newlines, quotes) could
# forge or break log lines, so it is replaced rather than echoed.
_WELL_FORMED = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("vigil_request_id", default=None)
# The ids learnt while a request is handled (organisation, incident_id, dispatch_id): one
# dict per request, shared with the handler threads, which get a copy of the context but
# the same dict, so what a dependency learns in a thread reaches the access line and span.
request_ids: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("vigil_request_ids", default=None)
# The ids a request's log lines end with, in this order.
_REQUEST_KEYS = ("organisation", "incident_id", "dispatch_id", "evidence_id", "request_id")
# Path parameters that name the case a request is about, as their log field names.
_ID_PARAMS = {"incident_id": "incident_id", "dispatch_id": "dispatch_id", "evidence_id": "evidence_id"}

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName", "vigil_ids"}


def note_ids(**ids: str | None) -> None:
    """Put ids (organisation, incident_id, dispatch_id) on the current request's later log
    lines and on its span; outside a request, nothing happens."""
    bound = request_ids.get()
    if bound is not None:
        bound.update({k: v for k, v in ids.items() if v})


def extra_fields(record: logging.LogRecord) -> dict:
    """A record's `extra=` fields, then the ids of the request it was made in (its own
    fields win), without the attributes every record has."""
    fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k not in _REQUEST_KEYS and v is not None}
    ids = {**(getattr(record, "vigil_ids", None) or {}), "request_id": getattr(record, "request_id", None)}
    fields.update({k: v for k in _REQUEST_KEYS if (v := record.__dict__.get(k, ids.get(k))) is not None})
    return fields


def install_request_ids() -> None:
    """Give every log record a `request_id` attribute (None outside a request). Idempotent."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_vigil_request_ids", False):
        return

    def make(*args, **kwargs):
        record = factory(*args, **kwargs)
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        # Kept apart from the record's own attributes: `extra=` may name the same fields
        # (logging refuses an `extra=` key the record already has).
        record.vigil_ids = dict(request_ids.get() or {})
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
        # The request's ids last, the request id at the very end, where they are easy to find.
        fields = extra_fields(record)
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


def _annotate_span(ids: dict[str, str]) -> None:
    """The request's ids as attributes of its span (customDimensions of the request in
    Application Insights); without telemetry the current span records nothing."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(ids)  # the names log lines use, so one query finds both


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
        ids_token = request_ids.set({})
        started = time.perf_counter()
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Now, not after the answer: the request span ends with the answer's last byte.
                self._note_path_ids(scope)
                _annotate_span({"request_id": rid, "route": self._template(scope), **(request_ids.get() or {})})
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
            self._note_path_ids(scope)
            ACCESS.info(
                "access",
                extra={
                    "method": scope.get("method"),
                    "route": self._template(scope),
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_ids.reset(ids_token)
            request_id.reset(token)

    @staticmethod
    def _note_path_ids(scope) -> None:
        note_ids(**{field: str(v) for p, field in _ID_PARAMS.items() if (v := scope.get("path_params", {}).get(p))})

    def _template(self, scope) -> str:
        """The matched route's path template (included routes keep theirs without the prefix)."""
        path = getattr(scope.get("route"), "path", None)
        if not path:
            return "(no route)"
        return path if path.startswith(self.route_prefix) else self.route_prefix + path
