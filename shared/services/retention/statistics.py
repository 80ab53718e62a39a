"""Statistics that outlive deletion: incidents per month, store and category, those still
kept (from the retention index) plus those deleted (from counts kept at deletion)."""

from __future__ import annotations

from typing import Any

from shared.domain.errors import Invalid, NotFound
from shared.domain.tenancy import Principal, Role
from shared.ports import Where, iterate_all
from shared.records import RETENTION_COUNTS, RETENTION_INDEX
from shared.services.retention.deps import RetentionDeps
from shared.services.retention.sweep import retailers


class Statistics:
    def __init__(self, deps: RetentionDeps):
        self.deps = deps

    def organisation(self, principal: Principal, organisation: str | None) -> str:
        """Whose statistics the caller may read: a retailer its own; the operator any retailer here."""
        if not principal.has(Role.PLATFORM_OPERATOR):
            if organisation not in (None, principal.organisation_id):
                raise NotFound(f"Organisation {organisation} was not found.")
            return principal.organisation_id
        if organisation is None:
            raise Invalid("Name the organisation (query parameter 'organisation').", errors=[{"field": "organisation"}])
        if organisation not in retailers(self.deps):
            raise NotFound(f"Organisation {organisation} was not found.")
        return organisation

    def rows(self, org: str, from_month: str, to_month: str) -> list[dict[str, Any]]:
        """Incidents per month, store and category: those still held plus those deleted."""
        rows: dict[tuple[str, str, str], dict[str, Any]] = {}

        def row(month: str, store: str, category: str) -> dict[str, Any]:
            return rows.setdefault(
                (month, store, category),
                {"month": month, "store_id": store, "category": category, "kept": 0, "deleted": 0, "poi_images_deleted": 0},
            )

        where = [Where("month", "ge", from_month), Where("month", "le", to_month)]
        with self.deps.records.read_only() as uow:
            for e in iterate_all(uow, RETENTION_INDEX.name, [org], where, limit=1000):
                row(e["month"], e["store_id"], e["category"])["kept"] += 1
            for c in iterate_all(uow, RETENTION_COUNTS.name, [org], where, limit=1000):
                r = row(c["month"], c["store_id"], c["category"])
                r["deleted"] += c.get("deleted", 0)
                r["poi_images_deleted"] += c.get("poi_images_deleted", 0)
        out = sorted(rows.values(), key=lambda r: (r["month"], r["store_id"], r["category"]))
        for r in out:
            r["total"] = r["kept"] + r["deleted"]
        return out
