"""OpenTelemetry for Vigil: Application Insights in Azure, off (or the console) locally.

- `configure(settings)` runs once at start-up. With `APPLICATIONINSIGHTS_CONNECTION_STRING`
  set (the Functions host's setting, from infra/main.bicep) the Azure Monitor distro sends
  requests, dependencies (azure-core, requests and httpx calls), exceptions, Vigil's log
  lines and the metrics below. Without it, nothing is exported, unless
  `VIGIL_TELEMETRY_CONSOLE` asks for spans, logs and metrics printed on stdout.
- Log records carry their `extra=` fields and the ids of the request they belong to as
  attributes (customDimensions in Application Insights): `FieldsAsAttributes` turns what
  OpenTelemetry cannot carry as an attribute (dicts, lists of mixed values) into JSON text
  rather than let the SDK drop it.
- Metrics: `vigil.d2p.latency` (seconds from a report's dispatch being created to the
  force's inbox accepting the email) and `vigil.queue.dead_letters` (each queue's dead
  letters, those the Azure trigger recorded and those in its dead-letter queue, read when
  the exporter collects).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import metrics

CONNECTION_STRING_ENV = "APPLICATIONINSIGHTS_CONNECTION_STRING"
# Vigil's loggers all sit under this one: the SDKs' own chatter (azure-core logs every
# HTTP call with its headers) stays out of Application Insights.
LOGGER = "vigil"
METER = "vigil"

_lock = threading.Lock()
_configured: str | None = None

log = logging.getLogger("vigil.telemetry")


def configure(settings: Any, *, environ: dict[str, str] | None = None) -> str:
    """Set up OpenTelemetry for this process, once; returns what was chosen
    ("azure-monitor", "console" or "off"). Later calls return the first choice."""
    global _configured
    env = os.environ if environ is None else environ
    with _lock:
        if _configured is not None:
            return _configured
        connection = env.get(CONNECTION_STRING_ENV, "").strip()
        if connection:
            _configure_azure_monitor(connection)
            _configured = "azure-monitor"
        elif getattr(settings, "telemetry_console", False):
            _configure_console()
            _configured = "console"
        else:
            _configured = "off"
        return _configured


def _configure_azure_monitor(connection: str) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    # Requests (FastAPI), azure-core (Cosmos, Blob, Service Bus, Key Vault), requests and
    # urllib come with the distro; httpx (SendGrid, webhooks) is added here.
    vigil = logging.getLogger(LOGGER)
    before = list(vigil.handlers)
    configure_azure_monitor(connection_string=connection, logger_name=LOGGER)
    HTTPXClientInstrumentor().instrument()
    # The handlers the distro attached are OpenTelemetry's: give them the fields in types they keep.
    vigil.handlers[:] = [h if h in before else FieldsAsAttributes(h) for h in vigil.handlers]


def _configure_console() -> None:
    from opentelemetry import trace
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import ConsoleLogExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[PeriodicExportingMetricReader(ConsoleMetricExporter())]))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(ConsoleLogExporter()))
    set_logger_provider(logger_provider)
    logging.getLogger(LOGGER).addHandler(FieldsAsAttributes(LoggingHandler(logger_provider=logger_provider)))
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    FastAPIInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()


def _attribute(value: Any) -> Any:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)


class FieldsAsAttributes(logging.Handler):
    """Hands a copy of each record to an OpenTelemetry handler with its `extra=` fields in
    types OpenTelemetry keeps (the copy, so other handlers still print the originals)."""

    def __init__(self, inner: logging.Handler):
        super().__init__(inner.level)
        self.inner = inner

    def emit(self, record: logging.LogRecord) -> None:
        from functions.http.observability import extra_fields

        clone = copy.copy(record)
        clone.__dict__.pop("vigil_ids", None)
        for key, value in extra_fields(record).items():
            setattr(clone, key, _attribute(value))
        for key in [k for k, v in clone.__dict__.items() if v is None and k not in _KEEP_NONE]:
            delattr(clone, key)  # OpenTelemetry drops None attributes with a warning each
        self.inner.handle(clone)

    def flush(self) -> None:
        self.inner.flush()


# LogRecord attributes the OpenTelemetry handler reads even when None.
_KEEP_NONE = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)


# ---- metrics ------------------------------------------------------------------------


class Instruments:
    """Vigil's metric instruments, made from one meter provider (the global one, or a
    test's own)."""

    def __init__(self, provider: metrics.MeterProvider | None = None):
        meter = (provider or metrics.get_meter_provider()).get_meter(METER)
        self.d2p_latency = meter.create_histogram(
            "vigil.d2p.latency",
            unit="s",
            description="From a dispatch being created to the force's inbox accepting its email",
        )
        self._meter = meter
        self._dead_letter_readers: list[Callable[[], dict[str, int]]] = []
        meter.create_observable_gauge(
            "vigil.queue.dead_letters",
            callbacks=[self._observe_dead_letters],
            unit="{message}",
            description="Dead letters of each queue: recorded by the host or held in its dead-letter queue",
        )

    def watch_dead_letters(self, read: Callable[[], dict[str, int]]) -> None:
        """Report the depths `read` returns ({queue: messages}) each time metrics are collected."""
        self._dead_letter_readers.append(read)

    def _observe_dead_letters(self, _options: Any) -> Iterable[metrics.Observation]:
        for read in self._dead_letter_readers:
            try:
                depths = read()
            except Exception:  # a queue that cannot be read now must not stop the other metrics
                log.warning("dead-letter depth unreadable", exc_info=True)
                continue
            for queue, depth in depths.items():
                yield metrics.Observation(depth, {"queue": queue})


_instruments = Instruments()


def instruments() -> Instruments:
    """The instruments in use (the global provider's unless `use_meter_provider` chose another)."""
    return _instruments


def use_meter_provider(provider: metrics.MeterProvider | None) -> Instruments:
    """Make the instruments from `provider` (None: the global one again); tests use this
    with an in-memory reader."""
    global _instruments
    _instruments = Instruments(provider)
    return _instruments


def start(container: Any, *, environ: dict[str, str] | None = None) -> str:
    """At a host's start-up: configure telemetry and, when it exports, watch the dead-letter
    depth of every queue of `container`. Returns what `configure` chose."""
    from shared.names import QUEUES

    chosen = configure(container.settings, environ=environ)
    if chosen != "off":
        # Read at the first collection, not here: the container builds adapters lazily, and
        # start-up must not open a Service Bus connection. Both kinds of dead letter count.
        instruments().watch_dead_letters(lambda: container.dead_letters.depths(list(QUEUES)))
    return chosen
