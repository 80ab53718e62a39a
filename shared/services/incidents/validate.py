"""Checking a report without recording it (POST /incidents/validate): the same rules as
reporting, nothing written, nothing audited (nothing is collected), no event raised."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.incident_report import IncidentIn
from shared.domain.tenancy import Principal
from shared.services.incidents.common import IncidentDeps, check_offenders
from shared.services.incidents.report import check_report


@dataclass
class ValidateReport:
    deps: IncidentDeps

    def check(self, principal: Principal, body: IncidentIn) -> None:
        """Raise what `report.submit` would for this report (Invalid naming the field,
        Forbidden for a store the caller does not report for); return when it would be
        accepted. The report is not kept, in any form."""
        check_report(self.deps, principal, body, self.deps.clock.now())
        with self.deps.records.read_only() as uow:
            # A dump is a fresh copy: the ids check_offenders gives new persons go nowhere.
            check_offenders(uow, principal.organisation_id, body.model_dump(mode="json")["persons"])
