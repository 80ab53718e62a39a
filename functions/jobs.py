"""Timer jobs and queue handlers as plain functions over services.

The Azure trigger blueprint (functions/triggers.py), the local runner
(functions/local_runner.py) and `make job` all call these same functions. Each timer
job takes `as_of` so it can be run for any moment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.bootstrap import Container
from shared.domain.backoff import backoff_seconds
from shared.ports import JobReport, PoisonMessage
from shared.settings import Settings

log = logging.getLogger("vigil.jobs")

TimerJob = Callable[[Container, datetime], JobReport]
QueueHandler = Callable[[Container, dict[str, Any], int], None]


@dataclass(frozen=True)
class Timer:
    name: str
    default_schedule: str  # six-field NCRONTAB, UTC
    run: TimerJob
    # The Functions host's schedule monitor (a status blob read and written on every run,
    # so a run missed during a restart is made up). Off for a job whose next run does
    # the same work anyway.
    use_monitor: bool = True


TIMER_JOBS: dict[str, Timer] = {}
# Jobs that can list what they would do without doing it (`make job DRY_RUN=1`): name ->
# (container, name, as_of) -> report. The retention sweep deletes as it goes and has none yet.
DRY_RUNS: dict[str, Callable[[Container, str, datetime], JobReport]] = {}
QUEUE_HANDLERS: dict[str, QueueHandler] = {}


def timer(name: str, default_schedule: str, *, use_monitor: bool = True):
    def register(fn: TimerJob) -> TimerJob:
        TIMER_JOBS[name] = Timer(name, default_schedule, fn, use_monitor)
        return fn

    return register


def queue_handler(logical_queue: str):
    def register(fn: QueueHandler) -> QueueHandler:
        QUEUE_HANDLERS[logical_queue] = fn
        return fn

    return register


def run_job(container: Container, name: str, as_of: datetime) -> JobReport:
    """Run one timer job for `as_of`, logging its counts (no personal data)."""
    job = TIMER_JOBS[name]
    report = job.run(container, as_of)
    # A run that found nothing to do (most outbox relay runs) logs at DEBUG.
    level = logging.INFO if any(report.counts.values()) else logging.DEBUG
    log.log(level, "job finished", extra={"job": name, "as_of": as_of.isoformat(), "counts": report.counts})
    return report


@dataclass(frozen=True)
class Redelivery:
    """What becomes of a message whose handler raised: delivered again after
    `delay_seconds`, or dead-lettered with `reason`."""

    retry: bool
    delay_seconds: float
    reason: str


def after_failure(settings: Settings, logical: str, deliveries: int, error: BaseException, *, jitter: float) -> Redelivery:
    """The one redelivery policy, for the local runner and the Azure trigger alike: a
    poison message is dead-lettered at once; any other failure is retried after the
    d2p_retry_* backoff (full jitter: `jitter` is a draw from [0, 1)) until the queue's
    maximum deliveries, then dead-lettered with the last error."""
    reason = f"{type(error).__name__}: {error}"[:1000]
    if isinstance(error, PoisonMessage):
        return Redelivery(retry=False, delay_seconds=0, reason=reason)
    limit = settings.queue_max_deliveries().get(logical, settings.d2p_max_deliveries)
    if deliveries >= limit:
        return Redelivery(retry=False, delay_seconds=0, reason=f"MaxDeliveryCountExceeded ({limit}): {reason}")
    delay = backoff_seconds(deliveries, base=settings.d2p_retry_base_seconds, cap=settings.d2p_retry_cap_seconds, jitter=jitter)
    return Redelivery(retry=True, delay_seconds=delay, reason=reason)


@timer("expiry-sweep", "0 */5 * * * *")
def expiry_sweep(container: Container, as_of: datetime) -> JobReport:
    """Delete expired short-lived records (idempotency keys, seen delivery events, dead letters) in bounded batches."""
    from shared.services.expiry import sweep_expired

    return sweep_expired(container.records, as_of)


def load_all() -> None:
    """Import every module that registers jobs or handlers."""
    import importlib

    for module in JOB_MODULES:
        importlib.import_module(module)


# Capability modules that register timers and queue handlers with the decorators above.
JOB_MODULES: list[str] = [
    "functions.retention_jobs",
    "functions.d2p_jobs",
    "functions.anpr_jobs",
    "functions.evidence_jobs",
    "functions.audit_jobs",
    "functions.disclosure_jobs",
    "functions.footage_jobs",
    # Lookouts.
    "functions.lookout_jobs",
]
