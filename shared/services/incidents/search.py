"""Searching incidents (GET /incidents): newest first, on indexed fields only, each
organisation whose incidents are returned audited for what it disclosed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.audit import AuditAction
from shared.domain.errors import Invalid
from shared.domain.incidents import Incident
from shared.domain.plates import normalise_plate
from shared.domain.tenancy import Principal, Role, ShareLevel
from shared.domain.timestamps import to_iso
from shared.ports import Where
from shared.records import INCIDENTS
from shared.services import repository
from shared.services.audit import ReadEntry
from shared.services.incidents.common import IncidentDeps, IncidentView, present


@dataclass
class Filters:
    store_id: str | None = None
    category: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    plate: str | None = None
    offender_id: str | None = None
    reference: str | None = None

    def conditions(self) -> list[Where]:
        where: list[Where] = []
        if self.store_id:
            where.append(Where("store_id", "eq", self.store_id))
        if self.category:
            where.append(Where("category", "eq", self.category))
        if self.occurred_from:
            where.append(Where("occurred_at", "ge", to_iso(self.occurred_from)))
        if self.occurred_to:
            where.append(Where("occurred_at", "lt", to_iso(self.occurred_to)))
        if self.plate:
            try:
                where.append(Where("plates", "contains", normalise_plate(self.plate)))
            except ValueError as exc:
                raise Invalid(str(exc), errors=[{"field": "plate"}]) from exc
        if self.offender_id:
            where.append(Where("offender_ids", "contains", self.offender_id))
        if self.reference:
            where.append(Where("reference", "eq", self.reference))
        return where

    def described(self) -> list[str]:
        """The names of the filters given, as the audit entry records them."""
        return sorted(k for k, v in self.__dict__.items() if v)


@dataclass(frozen=True)
class Found:
    items: list[IncidentView]
    continuation: str | None


@dataclass
class SearchIncidents:
    deps: IncidentDeps

    def find(self, principal: Principal, filters: Filters, *, limit: int, continuation: str | None, purpose: str | None) -> Found:
        """Incidents the caller may see, newest first, filtered on indexed fields only."""
        where = filters.conditions()
        directory = self.deps.directory
        if principal.is_retailer:
            tenants = [principal.organisation_id]
            if not principal.has(Role.RETAILER_INVESTIGATOR):
                where.append(Where("store_id", "in", sorted(principal.stores)))
        else:
            if not purpose:
                raise Invalid("Police searches need a stated purpose (query parameter 'purpose').", errors=[{"field": "purpose"}])
            tenants = directory.sharers_with(principal.organisation_id, ShareLevel.DESCRIPTIONS)
            where.append(Where("force_id", "eq", principal.organisation_id))
        with self.deps.records.read_only() as uow:
            page = uow.query(
                INCIDENTS.name, tenants, where, order_by="occurred_at", descending=True, limit=limit, continuation=continuation
            )
            by_owner: dict[str, list[str]] = {}
            results = []
            for doc in page.items:
                stored = repository.load(Incident, doc)
                owner = stored.record.organisation_id
                level = None if principal.is_retailer else directory.share_level(owner, principal.organisation_id)
                by_owner.setdefault(owner, []).append(stored.record.id)
                results.append(present(stored.record, stored.etag, {}, level))
        self.deps.audit.record_read(principal, _entries(principal, by_owner, filters.described(), purpose))
        return Found(items=results, continuation=page.continuation)


def _entries(principal: Principal, by_owner: dict[str, list[str]], fields: list[str], purpose: str | None) -> list[ReadEntry]:
    """One entry per organisation whose incidents were returned (the caller's own when none
    were), and for a force its own consultation entry naming everything it saw."""
    entries = []
    for owner, ids in by_owner.items() or [(principal.organisation_id, [])]:
        own = owner == principal.organisation_id
        entries.append(
            ReadEntry(
                owner_org=owner,
                action=AuditAction.CONSULTATION if own else AuditAction.DISCLOSURE,
                operation="incident.search",
                entity="incident",
                fields=fields,
                subjects=ids,
                purpose=purpose,
                recipient_org=None if own else principal.organisation_id,
            )
        )
    if principal.is_police and by_owner:
        entries.append(
            ReadEntry(
                owner_org=principal.organisation_id,
                action=AuditAction.CONSULTATION,
                operation="incident.search",
                entity="incident",
                fields=fields,
                subjects=[i for ids in by_owner.values() for i in ids],
                purpose=purpose,
            )
        )
    return entries
