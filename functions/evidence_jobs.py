"""Evidence timers (the daily rolling integrity check, the staging sweep, the settling
sweep) and the queue handlers of the video pipeline and of court packages."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from functions.jobs import queue_handler, timer
from shared.bootstrap import Container
from shared.ports import JobReport

log = logging.getLogger("vigil.evidence")


@queue_handler("evidence_video")
def process_video(container: Container, body: dict[str, Any], delivery_count: int) -> None:
    """Probe an uploaded video and make its playable copy, poster and thumbnail strip.
    A named failure is recorded on the item; anything else raises so the queue retries."""
    deliveries = container.settings.queue_max_deliveries()["evidence_video"]
    outcome = container.evidence.video.process(body, delivery_count, max_deliveries=deliveries)
    log.info("video job handled", extra={"evidence_id": body.get("evidence_id"), "outcome": outcome, "delivery": delivery_count})


@queue_handler("court_packages")
def build_court_package(container: Container, body: dict[str, Any], delivery_count: int) -> None:
    """Build a court package a reader asked for into the package store, once."""
    outcome = container.evidence.package_delivery.build_job(body)
    log.info("court package job handled", extra={"key": body.get("key"), "outcome": outcome, "delivery": delivery_count})


@timer("evidence-verify", "0 0 4 * * *")
def evidence_verify(container: Container, as_of: datetime) -> JobReport:
    """Re-hash the least recently verified items; a mismatch raises an alert record."""
    return container.evidence.integrity.verify_sample(as_of)


@timer("staging-sweep", "0 40 * * * *")
def staging_sweep(container: Container, as_of: datetime) -> JobReport:
    """Remove staged bytes of abandoned uploads and expired upload sessions, and court
    packages built more than a day ago."""
    report = container.evidence.integrity.sweep_staging(as_of)
    report.counts["court_packages_removed"] = container.evidence.package_delivery.sweep(as_of)
    return report


@timer("evidence-settle", "0 20 * * * *")
def evidence_settle(container: Container, as_of: datetime) -> JobReport:
    """Finish or remove evidence records an interrupted upload left pending, and deal with
    stored objects that no record points at."""
    return container.evidence.settling.sweep(as_of)
