"""What the incident use cases share: their dependencies, who may do what, how a reader
sees an incident, and the checks and audit entries several use cases make."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Invalid
from shared.domain.incidents import Incident
from shared.domain.tenancy import Principal, Role, ShareLevel
from shared.ports import Clock, RecordStore, UnitOfWork, Where
from shared.records import INCIDENTS, OFFENDERS
from shared.services import repository
from shared.services.audit import AuditTrail, ReadEntry
from shared.services.directory import Directory
from shared.services.messagebus import MessageBus

READERS = (Role.RETAILER_REPORTER, Role.RETAILER_INVESTIGATOR, Role.POLICE_OFFICER, Role.POLICE_ANALYST)
REPORTERS = (Role.RETAILER_REPORTER, Role.RETAILER_INVESTIGATOR)
EDITORS = (Role.RETAILER_INVESTIGATOR,)


@dataclass(frozen=True)
class IncidentDeps:
    """Everything the incident use cases need, built once in bootstrap."""

    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    # What follows from a report or a change (retention index, D2P) is in the handler table.
    bus: MessageBus
    # How long an Idempotency-Key on a report answers a retry.
    idempotency_ttl: timedelta = timedelta(hours=24)


@dataclass
class Located:
    """An incident as the caller may see it."""

    doc: dict[str, Any]
    owner_org: str
    share_level: ShareLevel | None = None  # None for the owning organisation
    dispatched_to_viewer: bool = False

    @cached_property
    def stored(self) -> repository.Stored[Incident]:
        return repository.load(Incident, self.doc)

    @property
    def incident(self) -> Incident:
        return self.stored.record

    @property
    def etag(self) -> str:
        return self.stored.etag


@dataclass(frozen=True)
class IncidentView:
    """An incident as answered to one reader: the fields they may see (with what the
    handlers of its event added, e.g. its D2P status) and its stored version."""

    body: dict[str, Any]
    etag: str

    @property
    def id(self) -> str:
        return str(self.body["id"])


def present(incident: Incident, etag: str, extras: dict[str, Any], share_level: ShareLevel | None = None, dispatched: bool = False):
    """The view of `incident` for a reader at `share_level` (None: its own organisation)."""
    body = incident.view(share_level, dispatched_to_viewer=dispatched)
    body.setdefault("d2p", None)
    body.update(extras)
    return IncidentView(body=body, etag=etag)


def present_located(loc: Located, extras: dict[str, Any]) -> IncidentView:
    return present(loc.incident, loc.etag, extras, loc.share_level, loc.dispatched_to_viewer)


def check_offenders(uow: UnitOfWork, org: str, persons: list[dict[str, Any]]) -> None:
    """Give each new person an offender id; refuse ids the organisation never recorded."""
    known: set[str] = set()
    for i, person in enumerate(persons):
        oid = person.get("offender_id")
        if not oid:
            person["offender_id"] = "off-" + uuid.uuid4().hex[:16]
            continue
        # A listed person of interest keeps its id even while no incident names it (merged away).
        if (
            oid in known
            or uow.count(INCIDENTS.name, [org], [Where("offender_ids", "contains", oid)]) > 0
            or uow.get(OFFENDERS.name, org, oid)
        ):
            known.add(oid)
            continue
        raise Invalid(
            f"persons[{i}].offender_id {oid} is not an offender your organisation has recorded.",
            errors=[{"field": f"persons[{i}].offender_id"}],
        )


def read_entries(principal: Principal, loc: Located, purpose: str | None, operation: str) -> list[ReadEntry]:
    """The owner's entry for a read (consultation, or disclosure to a partner), and the
    reader's own consultation entry when it reads another organisation's incident."""
    own = loc.owner_org == principal.organisation_id
    entity = f"incident/{loc.doc['id']}"
    entries = [
        ReadEntry(
            owner_org=loc.owner_org,
            action=AuditAction.CONSULTATION if own else AuditAction.DISCLOSURE,
            operation=operation,
            entity=entity,
            purpose=purpose,
            recipient_org=None if own else principal.organisation_id,
        )
    ]
    if not own:
        entries.append(
            ReadEntry(
                owner_org=principal.organisation_id, action=AuditAction.CONSULTATION, operation=operation, entity=entity, purpose=purpose
            )
        )
    return entries
