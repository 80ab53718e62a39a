"""Audit chain timers: hourly write-once checkpoints and the daily whole-chain verification
(docs/audit.md), or `make job JOB=audit-checkpoint` / `JOB=audit-verify`."""

from __future__ import annotations

from datetime import datetime

from functions.jobs import timer
from shared.bootstrap import Container
from shared.ports import JobReport


@timer("audit-checkpoint", "0 5 * * * *")
def audit_checkpoint(container: Container, as_of: datetime) -> JobReport:
    """Publish each chain's next checkpoint once the entries since the last one verify."""
    return container.audit.checkpoint_all(as_of)


@timer("audit-verify", "0 15 3 * * *")
def audit_verify(container: Container, as_of: datetime) -> JobReport:
    """Walk every audit chain whole and record whether it verifies."""
    return container.audit.verify_all(as_of)
