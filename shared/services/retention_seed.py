"""Demo incidents for retention and subject requests on `make run` (idempotent).

- NW "Jamie Doyle" (recent): a named person a subject request finds, reaching
  northwind as a task with a due date.
- An incident from June 2019, reported then: past its 6-year schedule, so the next retention run
  (`make job JOB=retention`) deletes it and leaves a tombstone, unless someone holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from shared.domain.incidents import IncidentIn
from shared.domain.tenancy import OrgKind, Principal, Role
from shared.ports import Where
from shared.records import INCIDENTS, PERSON_INDEX
from shared.services.incidents.report import ReportIncident

SEED_USER = Principal(
    user_id="demo-seed", organisation_id="northwind", organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_INVESTIGATOR})
)
DEMO_PERSON = "Jamie Doyle"
# Retention runs from when an incident was first reported, so the old demo incident is
# recorded as reported back then (as a migrated record would be), not today.
OLD_REPORTED_AT = datetime(2019, 6, 14, 17, 30, tzinfo=UTC)


@dataclass(frozen=True)
class _At:
    at: datetime

    def now(self) -> datetime:
        return self.at


def seed_retention_demo(container) -> int:
    """Report the demo incidents through the incident service once; returns how many were added."""
    records, incidents, clock = container.records, container.incidents, container.clock
    added = 0
    with records.unit_of_work() as uow:
        has_person = uow.count(PERSON_INDEX.name, ["northwind"], [Where("name_key", "eq", "doyle jamie")]) > 0
        has_old = uow.count(INCIDENTS.name, ["northwind"], [Where("occurred_at", "lt", "2019-07-01")]) > 0
    base = {"store_id": "nw-plymouth", "reporter": {"name": "Sam Taylor", "job_title": "Duty manager"}}
    if not has_person:
        incidents.report.submit(
            SEED_USER,
            IncidentIn.model_validate(
                {
                    **base,
                    "category": "shop_theft",
                    "occurred_at": (clock.now() - timedelta(days=3)).isoformat(),
                    "narrative": "Demo: known local shoplifter took razor blades; recognised by staff.",
                    "persons": [
                        {
                            "role": "offender",
                            "name": DEMO_PERSON,
                            "date_of_birth": "1990-04-12",
                            "description": {"build": "slim", "hair": "short, ginger"},
                        }
                    ],
                }
            ),
            None,
        )
        added += 1
    if not has_old:
        ReportIncident(replace(incidents.report.deps, clock=_At(OLD_REPORTED_AT))).submit(
            SEED_USER,
            IncidentIn.model_validate(
                {
                    **base,
                    "category": "criminal_damage",
                    "occurred_at": "2019-06-14T16:05:00+00:00",
                    "narrative": "Demo: a trolley was thrown through the front window. Past its 6-year schedule.",
                }
            ),
            None,
        )
        added += 1
    return added
