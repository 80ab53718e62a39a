"""Audit chain timers: write-once checkpoints hourly and every N entries, and the daily
whole-chain verification (docs/audit.md), or `make job JOB=audit-checkpoint` /
`JOB=audit-checkpoint-due` / `JOB=audit-verify`."""

from __future__ import annotations

from datetime import datetime

from functions.jobs import timer
from shared.bootstrap import Container
from shared.ports import JobReport


@timer("audit-checkpoint", "0 5 * * * *")
def audit_checkpoint(container: Container, as_of: datetime) -> JobReport:
    """Publish each chain's next checkpoint once the entries since the last one verify."""
    return container.audit.checkpoint_all(as_of)


@timer("audit-checkpoint-due", "0 * * * * *")
def audit_checkpoint_due(container: Container, as_of: datetime) -> JobReport:
    """Publish the next checkpoint of each chain grown by VIGIL_AUDIT_CHECKPOINT_EVERY_ENTRIES
    since its newest one: the hourly checkpoint alone would leave a busy chain's last hour
    of entries open to being cut unnoticed."""
    return container.audit.checkpoint_due(as_of, every=container.settings.audit_checkpoint_every_entries)


@timer("audit-verify", "0 15 3 * * *")
def audit_verify(container: Container, as_of: datetime) -> JobReport:
    """Walk every audit chain whole and record whether it verifies."""
    return container.audit.verify_all(as_of)
