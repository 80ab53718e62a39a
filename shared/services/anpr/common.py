"""What the ANPR use cases share: their dependencies, the ANPR sharing look-ups, and the
shape of a hit as a viewer sees it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from shared.domain.errors import Invalid
from shared.domain.plates import PlateError, normalise_plate
from shared.domain.tenancy import PLATFORM_TENANT, Role
from shared.evidence_ports import TemplateRenderer
from shared.ports import Clock, MessageQueue, RecordStore, UnitOfWork, WebhookSender, Where, iterate_all
from shared.records import ANPR_SETTINGS, SHARING
from shared.services import repository
from shared.services.audit import AuditTrail
from shared.services.directory import Directory
from shared.services.sharing import anpr_status
from shared.settings import Settings

ALERTS_QUEUE = "anpr_alerts"
DELIVERIES_QUEUE = "webhook_deliveries"

READ_SEARCHERS = (Role.RETAILER_INVESTIGATOR, Role.POLICE_OFFICER, Role.POLICE_ANALYST)
VEHICLE_KEEPERS = (Role.RETAILER_INVESTIGATOR, Role.POLICE_ANALYST)
SUBSCRIBERS = (Role.RETAILER_INVESTIGATOR, Role.RETAILER_ADMIN, Role.POLICE_ANALYST, Role.POLICE_ADMIN)

# Plates per matching query: a whole batch at the largest VIGIL_ANPR_MAX_BATCH_READS (1000
# plates of at most 10 characters make ~30 KB of query text and parameters, far under what
# Cosmos DB takes in one query).
MATCH_CHUNK = 1000


@dataclass
class AnprDeps:
    """What every ANPR use case reaches: built once in bootstrap."""

    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    incidents: Any  # IncidentService: `locate` for access to linked incidents
    queue: MessageQueue
    webhooks: WebhookSender
    settings: Settings
    templates: TemplateRenderer  # the alert email's bodies
    mail: Any = None  # the mail port (shared.ports.MailSender)
    outbox: Any = None  # shared.services.outbox.Outbox: a hit's alert is written with the hit


def hashed_id(*parts: str) -> str:
    """A deterministic id from its parts, so redelivered work makes nothing twice."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def plate_or_invalid(value: str, field: str) -> str:
    """The normalised plate, or 422 naming `field`."""
    try:
        return normalise_plate(value)
    except PlateError as exc:
        raise Invalid(str(exc), errors=[{"field": field, "message": str(exc)}]) from None


def forces_sharing_from(uow: UnitOfWork, org: str) -> list[str]:
    """Forces `org` shares ANPR with, the force having accepted (their vehicles of interest match its reads)."""
    docs = iterate_all(uow, SHARING.name, [PLATFORM_TENANT], [Where("owner_id", "eq", org)])
    return sorted(d["partner_id"] for d in docs if d.get("partner_id") and anpr_status(d) == "accepted")


def forces_matching(directory: Directory, org: str) -> list[str]:
    """Forces whose vehicles of interest `org`'s reads are matched against: those that accepted
    its ANPR sharing, as the directory sees it (at most its cache period old; a hit on a force's
    vehicle is alerted only after `forces_sharing_from` confirms the acceptance still stands)."""
    return sorted(d["partner_id"] for d in directory.agreements_from(org) if d.get("partner_id") and anpr_status(d) == "accepted")


def orgs_sharing_with(uow: UnitOfWork, force: str) -> list[str]:
    """Organisations sharing ANPR with `force`, the force having accepted (it sees their reads)."""
    docs = iterate_all(uow, SHARING.name, [PLATFORM_TENANT], [Where("partner_id", "eq", force)])
    return sorted(d["owner_id"] for d in docs if anpr_status(d) == "accepted")


def retention_days(uow: UnitOfWork, settings: Settings, org: str) -> int:
    """Days a read of `org` lives: its own setting, else the stamp's default."""
    doc = uow.get(ANPR_SETTINGS.name, org, "settings")
    if doc and doc.get("read_retention_days"):
        return int(doc["read_retention_days"])
    return settings.anpr_read_retention_days


def present_hit(doc: dict[str, Any], viewer: str) -> dict[str, Any]:
    """A hit as `viewer` sees it: a vehicle's reason and incidents only for its owner."""
    out = repository.body(doc)
    if doc["vehicle_owner"] != viewer:
        out["vehicle_reason"] = None
        out["incident_ids"] = []
    return out
