"""Incidents: report (and check a report without recording it), read, search, change and revert, history.

One module per use case; `Incidents` is what the container exposes, its attributes the
use cases (`container.incidents.report.submit(...)`). Other capabilities find an incident
they may act on through `read.locate` (also `Incidents.locate`), the one 404 rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.domain.tenancy import Principal
from shared.ports import UnitOfWork
from shared.services.incidents.change import ChangeIncident
from shared.services.incidents.common import EDITORS, READERS, REPORTERS, IncidentDeps, IncidentView, Located
from shared.services.incidents.history import IncidentHistory
from shared.services.incidents.read import ReadIncident, locate
from shared.services.incidents.report import Reported, ReportIncident
from shared.services.incidents.search import Filters, Found, SearchIncidents
from shared.services.incidents.validate import ValidateReport

__all__ = [
    "EDITORS",
    "READERS",
    "REPORTERS",
    "Filters",
    "Found",
    "IncidentDeps",
    "IncidentService",
    "IncidentView",
    "Incidents",
    "Located",
    "Reported",
    "locate",
]


@dataclass
class Incidents:
    """The incident capability: one attribute per use case."""

    deps: IncidentDeps
    report: ReportIncident = field(init=False)
    validate: ValidateReport = field(init=False)
    read: ReadIncident = field(init=False)
    search: SearchIncidents = field(init=False)
    change: ChangeIncident = field(init=False)
    history: IncidentHistory = field(init=False)

    def __post_init__(self) -> None:
        self.report = ReportIncident(self.deps)
        self.validate = ValidateReport(self.deps)
        self.read = ReadIncident(self.deps)
        self.search = SearchIncidents(self.deps)
        self.change = ChangeIncident(self.deps)
        self.history = IncidentHistory(self.deps)

    def locate(self, uow: UnitOfWork, principal: Principal, incident_id: str) -> Located:
        """Find an incident the caller may see, or NotFound as if it did not exist (see `read.locate`)."""
        return locate(uow, self.deps.directory, principal, incident_id)


# The name other capabilities type their dependency with.
IncidentService = Incidents
