"""What every retention use case shares, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.ports import Clock, RecordStore

if TYPE_CHECKING:
    from shared.services.audit import AuditTrail
    from shared.services.directory import Directory
    from shared.services.incidents import IncidentService
    from shared.services.messagebus import MessageBus

SYSTEM_ACTOR = "retention-timer"


@dataclass
class RetentionDeps:
    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    region: str
    defaults: dict[str, int]
    bounds: dict[str, list[int]]
    # Holds find incidents with the same 404 rule as every other read.
    incidents: IncidentService
    # Evidence and other dependents hear of erasures and holds through domain events.
    bus: MessageBus
    batch: int = 100  # index entries (or items) per unit of work in the sweep
    # An approved region schedule change takes effect this many days later (cancellable until then).
    schedule_delay_days: int = 7
    audit_batch: int = 500  # audit entries pruned per unit of work
