"""Evidence timers: the daily rolling integrity check, the staging sweep and the settling sweep."""

from __future__ import annotations

from datetime import datetime

from functions.jobs import timer
from shared.bootstrap import Container
from shared.ports import JobReport


@timer("evidence-verify", "0 0 4 * * *")
def evidence_verify(container: Container, as_of: datetime) -> JobReport:
    """Re-hash the least recently verified items; a mismatch raises an alert record."""
    return container.evidence.integrity.verify_sample(as_of)


@timer("staging-sweep", "0 40 * * * *")
def staging_sweep(container: Container, as_of: datetime) -> JobReport:
    """Remove staged bytes of abandoned uploads and expired upload sessions."""
    return container.evidence.integrity.sweep_staging(as_of)


@timer("evidence-settle", "0 20 * * * *")
def evidence_settle(container: Container, as_of: datetime) -> JobReport:
    """Finish or remove evidence records an interrupted upload left pending, and deal with
    stored objects that no record points at."""
    return container.evidence.settling.sweep(as_of)
