"""An organisation's ANPR settings: how long its new reads live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Invalid
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.records import ANPR_SETTINGS
from shared.services.anpr.common import (
    AnprDeps,
    retention_days,
)


@dataclass
class AnprSettings:
    deps: AnprDeps

    def get(self, principal: Principal) -> dict[str, Any]:
        """The caller's organisation's ANPR settings, with the stamp's defaults filled in."""
        with self.deps.records.read_only() as uow:
            days = retention_days(uow, self.deps.settings, principal.organisation_id)
        return {
            "read_retention_days": days,
            "max_read_retention_days": self.deps.settings.anpr_read_retention_max_days,
            "default_read_retention_days": self.deps.settings.anpr_read_retention_days,
        }

    def set(self, principal: Principal, read_retention_days: int) -> dict[str, Any]:
        """Set how long the organisation's new reads live (existing reads keep their expiry)."""
        top = self.deps.settings.anpr_read_retention_max_days
        if not 1 <= read_retention_days <= top:
            raise Invalid(f"read_retention_days must be 1 to {top}.", errors=[{"field": "read_retention_days", "message": f"1 to {top}"}])
        org = principal.organisation_id
        with self.deps.records.unit_of_work() as uow:
            uow.upsert(
                ANPR_SETTINGS.name,
                org,
                {
                    "id": "settings",
                    "read_retention_days": read_retention_days,
                    "updated_by": principal.user_id,
                    "updated_at": to_iso(self.deps.clock.now()),
                },
            )
            self.deps.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="anpr.settings",
                entity="anpr_settings",
                fields=["read_retention_days"],
            )
        return self.get(principal)
