"""Helpers for the retention tests: a container over either record store, and incidents."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from shared.bootstrap import Container
from shared.domain.incident_report import IncidentIn
from shared.domain.tenancy import OrgKind, Principal, Role
from shared.services.seed import seed_directory
from shared.settings import Settings
from tests.fakes import FakeClock

OCCURRED = datetime(2026, 11, 20, 14, 32, tzinfo=UTC)
SIX_YEARS_LATER = datetime(2032, 11, 20, 14, 32, tzinfo=UTC)  # 72 calendar months after OCCURRED

INVESTIGATOR = Principal(
    user_id="nw-inv", organisation_id="northwind", organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_INVESTIGATOR})
)


def container_on(store, tmp_path: Path, **settings) -> Container:
    """A container whose records are `store` (SQLite or Cosmos), seeded, clock at 2026-11-23."""
    c = Container(Settings(data_dir=tmp_path, **settings), clock=FakeClock())
    c.__dict__["records"] = store
    seed_directory(c)
    return c


def incident_body(**overrides) -> IncidentIn:
    body = {
        "store_id": "nw-plymouth",
        "category": "shop_theft",
        "occurred_at": OCCURRED.isoformat(),
        "narrative": "Took six bottles of whisky; pushed past a colleague at the door.",
        "persons": [{"role": "suspect", "name": "Jamie Doyle", "date_of_birth": "1990-04-12"}],
        "reporter": {"name": "Sam Taylor"},
    }
    body.update(overrides)
    return IncidentIn.model_validate(body)


def report(c: Container, **overrides) -> str:
    """Report an incident as northwind's investigator through the service, at the moment it
    occurred (the fake clock set there): retention runs from when an incident is reported,
    so these tests' due dates stay counted from `OCCURRED`. Returns its id."""
    body = incident_body(**overrides)
    c.clock.current = body.occurred_at
    return c.incidents.report.submit(INVESTIGATOR, body, None).incident.id


def subject_request_body(stamp, *, checked_by: str = "northwind", **overrides) -> dict:
    """The example subject request (with `overrides`) naming a fresh identity check that
    `checked_by`, the organisation the person approached, recorded for that person."""
    body = {**stamp.example("SubjectRequestIn"), **overrides}
    check = stamp.client.post(
        "/api/v1/subject-requests/identity-checks",
        json={"name": body["name"], "date_of_birth": body.get("date_of_birth"), "method": "photo_id_in_person"},
        headers=stamp.auth(checked_by, "Retailer.Admin"),
    )
    assert check.status_code == 201, check.text
    return {**body, "identity_check": {"organisation_id": checked_by, "id": check.json()["id"]}}
