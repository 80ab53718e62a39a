"""Every kept version of an incident (GET /incidents/{id}/history)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.tenancy import Principal
from shared.ports import Where
from shared.records import INCIDENT_VERSIONS
from shared.services import repository
from shared.services.incidents.common import IncidentDeps, read_entries
from shared.services.incidents.read import locate


@dataclass
class IncidentHistory:
    deps: IncidentDeps

    def versions(self, principal: Principal, incident_id: str) -> list[dict[str, Any]]:
        """Every version of the incident, oldest first; audited as a read."""
        with self.deps.records.read_only() as uow:
            loc = locate(uow, self.deps.directory, principal, incident_id)
            versions = uow.query(
                INCIDENT_VERSIONS.name, [loc.owner_org], [Where("incident_id", "eq", incident_id)], order_by="version", limit=1000
            ).items
        self.deps.audit.record_read(principal, read_entries(principal, loc, None, "incident.history"))
        return [{k: v for k, v in repository.body(ver).items() if k != "id"} for ver in versions]
