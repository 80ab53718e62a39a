"""What every subject-request use case shares, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.domain.errors import NotFound
from shared.ports import Clock, RecordStore, UnitOfWork
from shared.records import SUBJECT_REQUESTS, SUBJECT_TASKS

if TYPE_CHECKING:
    from shared.services.audit import AuditTrail
    from shared.services.retention import Retention

# Longer ids are never stored: answering 404 without a read keeps junk out of the store.
MAX_ID = 64


@dataclass
class SubjectRequestDeps:
    records: RecordStore
    clock: Clock
    audit: AuditTrail
    # Matching asks which retailers the region holds; erasure goes through retention's deletion path.
    retention: Retention
    receipt_window_days: int = 7
    # Publishes what a request sets off in other capabilities (a contest suspends listings).
    bus: Any = None


def read_request(uow: UnitOfWork, tenant: str, request_id: str) -> dict[str, Any]:
    doc = uow.get(SUBJECT_REQUESTS.name, tenant, request_id) if len(request_id) <= MAX_ID else None
    # Identity checks share the partition; they are not requests.
    if doc is None or "record" in doc:
        raise NotFound(f"Subject request {request_id} was not found.")
    return doc


def read_task(uow: UnitOfWork, org: str, task_id: str) -> dict[str, Any]:
    task = uow.get(SUBJECT_TASKS.name, org, task_id) if len(task_id) <= MAX_ID else None
    if task is None:
        raise NotFound(f"Subject request task {task_id} was not found.")
    return task
