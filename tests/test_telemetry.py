"""Telemetry: a request's span and log lines carry the ids every log line carries, `extra=`
fields reach the exporter as attributes, a D2P dispatch records its latency, the dead-letter
depth is observed, and host.json lets successful requests through to Application Insights.

OpenTelemetry's in-memory exporters and reader stand in for Application Insights here
(`fake_*` fixtures); `configure` itself runs in a subprocess, since the global providers it
sets can be set only once per process."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import telemetry
from shared.services.d2p import QUEUE
from tests.d2p.helpers import drain, eligible_report

ROOT = Path(__file__).resolve().parent.parent
INV = ("northwind", "Retailer.Investigator")


@pytest.fixture
def fake_spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


@pytest.fixture
def fake_logs():
    exporter = InMemoryLogExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    handler = telemetry.FieldsAsAttributes(LoggingHandler(logger_provider=provider))
    logger = logging.getLogger(telemetry.LOGGER)
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield exporter
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@pytest.fixture
def fake_metrics():
    reader = InMemoryMetricReader()
    instruments = telemetry.use_meter_provider(MeterProvider(metric_readers=[reader]))
    try:
        yield reader, instruments
    finally:
        telemetry.use_meter_provider(None)


def _points(reader, name):
    data = reader.get_metrics_data()
    return [
        p
        for rm in (data.resource_metrics if data else [])
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == name
        for p in m.data.data_points
    ]


def test_a_request_span_carries_request_organisation_and_incident_ids(stamp, fake_spans):
    provider, exporter = fake_spans
    incident = eligible_report(stamp)
    # The request span as the Azure Monitor distro's ASGI instrumentation makes it.
    client = TestClient(OpenTelemetryMiddleware(stamp.client.app, tracer_provider=provider))
    r = client.get(f"/api/v1/incidents/{incident['id']}", headers={**stamp.auth(*INV), "X-Request-Id": "smoke-42"})
    assert r.status_code == 200
    [server] = [s for s in exporter.get_finished_spans() if s.kind.name == "SERVER"]
    attrs = dict(server.attributes or {})
    assert attrs["request_id"] == "smoke-42"
    assert attrs["organisation"] == "northwind"
    assert attrs["incident_id"] == incident["id"]
    assert attrs["route"] == "/api/v1/incidents/{incident_id}"


def test_log_lines_reach_the_exporter_with_their_extra_fields_and_request_ids(stamp, fake_logs):
    incident = eligible_report(stamp)
    stamp.client.get(f"/api/v1/incidents/{incident['id']}", headers={**stamp.auth(*INV), "X-Request-Id": "logs-7"})
    logging.getLogger("vigil.jobs").info("job finished", extra={"job": "retention", "counts": {"swept": 2}, "stores": ["a", "b"]})
    records = [x.log_record for x in fake_logs.get_finished_logs()]
    [access] = [r for r in records if r.body == "access" and (r.attributes or {}).get("request_id") == "logs-7"]
    assert access.attributes["organisation"] == "northwind"
    assert access.attributes["incident_id"] == incident["id"]
    assert access.attributes["status"] == 200 and access.attributes["route"] == "/api/v1/incidents/{incident_id}"
    [job] = [r for r in records if r.body == "job finished"]
    # A dict is not an OpenTelemetry attribute type: it travels as JSON rather than being dropped.
    assert job.attributes["counts"] == '{"swept":2}' and list(job.attributes["stores"]) == ["a", "b"]
    assert job.attributes["job"] == "retention"


def test_a_d2p_dispatch_records_its_latency_to_the_inbox(stamp, fake_metrics):
    reader, _ = fake_metrics
    incident = eligible_report(stamp)
    r = stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth(*INV))
    assert r.status_code == 202, r.text
    stamp.clock.advance(seconds=90)
    assert drain(stamp) == ["ok"]
    [point] = _points(reader, "vigil.d2p.latency")
    assert point.count == 1 and point.sum == pytest.approx(90, abs=1)
    assert dict(point.attributes) == {"force": "devon-and-cornwall"}


def test_the_dead_letter_depth_counts_the_queues_own_and_the_recorded_ones(stamp, fake_metrics, monkeypatch):
    """One figure per queue for the alert: what the queue dead-lettered itself and what the
    Azure trigger recorded (it cannot dead-letter on the queue), read at each collection."""
    reader, _ = fake_metrics
    queue = stamp.container.queue
    queue.send(QUEUE, {"dispatch_id": "nope"}, message_id="poison-1")
    [message] = queue.receive(QUEUE, max_messages=1, visibility_seconds=0)
    queue.dead_letter(message, reason="names no dispatch")
    stamp.container.dead_letters.record(QUEUE, message_id="d7#retry9", body={"dispatch_id": "d7"}, deliveries=10, reason="x")
    stamp.container.dead_letters.record("footage_mail", message_id="footage-1", body={"request_id": "f1"}, deliveries=1, reason="y")
    # As with an Application Insights connection string, without touching the global providers.
    monkeypatch.setattr(telemetry, "configure", lambda settings, environ=None: "azure-monitor")
    assert telemetry.start(stamp.container) == "azure-monitor"
    depths = {p.attributes["queue"]: p.value for p in _points(reader, "vigil.queue.dead_letters")}
    assert depths[QUEUE] == 2 and depths["footage_mail"] == 1 and depths["anpr_alerts"] == 0


def test_an_unreadable_queue_does_not_stop_the_other_metrics(fake_metrics):
    reader, instruments = fake_metrics

    def broken():
        raise ConnectionError("namespace unreachable")

    instruments.watch_dead_letters(broken)
    instruments.watch_dead_letters(lambda: {"d2p_dispatch": 3})
    assert [p.value for p in _points(reader, "vigil.queue.dead_letters")] == [3]


_CONFIGURE = """
import json, logging, sys
from opentelemetry import trace
from shared import telemetry
from shared.settings import Settings
chosen = telemetry.configure(Settings())
again = telemetry.configure(Settings())
handlers = [type(h).__name__ for h in logging.getLogger("vigil").handlers]
print(json.dumps({"chosen": chosen, "again": again, "tracer": type(trace.get_tracer_provider()).__module__, "handlers": handlers}))
"""


def _configure_in_subprocess(**env: str) -> dict:
    import os

    clean = {k: v for k, v in os.environ.items() if k != telemetry.CONNECTION_STRING_ENV and not k.startswith("VIGIL_TELEMETRY")}
    out = subprocess.run(
        [sys.executable, "-c", _CONFIGURE],
        cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_with_a_connection_string_azure_monitor_is_configured_once():
    # An unroutable ingestion endpoint: configuring must not need Application Insights to answer.
    conn = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/"
    got = _configure_in_subprocess(APPLICATIONINSIGHTS_CONNECTION_STRING=conn)
    assert got["chosen"] == got["again"] == "azure-monitor"
    assert got["tracer"].startswith("opentelemetry.sdk")
    assert "FieldsAsAttributes" in got["handlers"] and "LoggingHandler" not in got["handlers"]


def test_locally_telemetry_is_off_unless_the_console_is_asked_for():
    off = _configure_in_subprocess()
    assert off["chosen"] == "off" and not off["tracer"].startswith("opentelemetry.sdk") and off["handlers"] == []
    console = _configure_in_subprocess(VIGIL_TELEMETRY_CONSOLE="true")
    assert console["chosen"] == "console" and console["tracer"].startswith("opentelemetry.sdk")
    assert console["handlers"] == ["FieldsAsAttributes"]


def test_host_json_keeps_successful_request_telemetry():
    logging_cfg = json.loads((ROOT / "host.json").read_text())["logging"]
    levels = logging_cfg["logLevel"]
    order = ["Trace", "Debug", "Information", "Warning", "Error", "Critical", "None"]
    # Host.Results is the category of the host's request telemetry: above Information, a
    # successful request never reaches Application Insights.
    for category in ("Host.Results", "Host.Aggregator"):
        assert order.index(levels.get(category, levels["default"])) <= order.index("Information"), category
    sampling = logging_cfg["applicationInsights"]["samplingSettings"]
    assert not sampling.get("isEnabled", True) or "Request" in sampling.get("excludedTypes", "").split(";")


def test_a_handler_logging_the_same_field_as_the_request_ids_keeps_its_own_value(stamp, fake_logs, monkeypatch):
    search = stamp.container.incidents.search
    real = search.find

    def find(*args, **kwargs):
        logging.getLogger("vigil.incidents").info("searching", extra={"organisation": "asked-about"})
        return real(*args, **kwargs)

    monkeypatch.setattr(search, "find", find)
    r = stamp.client.get("/api/v1/incidents", headers={**stamp.auth(*INV), "X-Request-Id": "same-1"})
    assert r.status_code == 200
    [line] = [x.log_record for x in fake_logs.get_finished_logs() if x.log_record.body == "searching"]
    assert line.attributes["organisation"] == "asked-about" and line.attributes["request_id"] == "same-1"


def test_start_without_application_insights_or_console_exports_nothing(stamp, fake_metrics):
    reader, _ = fake_metrics
    assert telemetry.start(stamp.container, environ={}) == "off"
    assert _points(reader, "vigil.queue.dead_letters") == []
