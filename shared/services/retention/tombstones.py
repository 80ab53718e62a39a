"""Tombstones: what remains of a deleted record, proof of the deletion and nothing
personal (ids, type, when, rule, schedule version), so reading them is not audited.

A tombstone is written first and checked first by every deletion, so a re-run after a
partial commit (Cosmos has no cross-container transaction) never counts twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.domain.errors import NotFound
from shared.domain.retention import Tombstone, tombstone_id
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import UnitOfWork, Where
from shared.records import TOMBSTONES
from shared.services.repository import load
from shared.services.retention.deps import RetentionDeps


def exists(uow: UnitOfWork, org: str, record_type: str, entity_id: str) -> bool:
    return uow.get(TOMBSTONES.name, org, tombstone_id(record_type, entity_id)) is not None


def write(uow: UnitOfWork, org: str, tombstone: Tombstone) -> None:
    # Only the fields its type has: an incident's tombstone carries no audit counts, not even as nulls.
    uow.insert(TOMBSTONES.name, org, tombstone.model_dump(mode="json", exclude_unset=True))


def write_once(
    uow: UnitOfWork,
    org: str,
    record_type: str,
    entity_id: str,
    *,
    deleted_at: datetime,
    rule: str,
    schedule_version: str,
    cause: Literal["schedule", "erasure"],
) -> None:
    """A deleted record's tombstone, unless an earlier run that stopped part way wrote it."""
    if exists(uow, org, record_type, entity_id):
        return
    write(
        uow,
        org,
        Tombstone(
            id=tombstone_id(record_type, entity_id),
            entity_id=entity_id,
            type=record_type,
            deleted_at=to_iso(deleted_at),
            rule=rule,
            schedule_version=schedule_version,
            cause=cause,
        ),
    )


@dataclass(frozen=True)
class TombstonePage:
    items: list[Tombstone]
    continuation: str | None


class Tombstones:
    def __init__(self, deps: RetentionDeps):
        self.deps = deps

    def list(
        self,
        principal: Principal,
        *,
        record_type: str | None,
        deleted_from: datetime | None,
        deleted_to: datetime | None,
        limit: int,
        continuation: str | None,
    ) -> TombstonePage:
        """The caller's organisation's tombstones of every type (or `record_type`), newest first."""
        where: list[Where] = []
        if record_type:
            where.append(Where("type", "eq", record_type))
        if deleted_from:
            where.append(Where("deleted_at", "ge", to_iso(deleted_from)))
        if deleted_to:
            where.append(Where("deleted_at", "lt", to_iso(deleted_to)))
        with self.deps.records.read_only() as uow:
            page = uow.query(
                TOMBSTONES.name,
                [principal.organisation_id],
                where,
                order_by="deleted_at",
                descending=True,
                limit=limit,
                continuation=continuation,
            )
        return TombstonePage(items=[load(Tombstone, d).record for d in page.items], continuation=page.continuation)

    def incident(self, principal: Principal, incident_id: str) -> Tombstone:
        """The proof an incident of the caller's organisation was deleted (NotFound if none)."""
        with self.deps.records.read_only() as uow:
            doc = uow.get(TOMBSTONES.name, principal.organisation_id, tombstone_id("incident", incident_id))
        if doc is None:
            raise NotFound(f"No deletion of incident {incident_id} is recorded for your organisation.")
        return load(Tombstone, doc).record
