"""What the disclosure use cases share, and the helpers they all use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.disclosure import MAX_ACCESS_LOG
from shared.domain.timestamps import to_iso
from shared.evidence_ports import PackageStore, TemplateRenderer
from shared.ports import Clock, MailSender, RecordStore, UnitOfWork, Where
from shared.records import PACKAGE_SHARES
from shared.services.audit import AuditTrail
from shared.services.directory import Directory
from shared.services.evidence import Evidence
from shared.services.incidents import IncidentService


@dataclass(frozen=True)
class DisclosureDeps:
    records: RecordStore
    clock: Clock
    evidence: Evidence  # builds the court package, recording custody and the force's read
    incidents: IncidentService
    audit: AuditTrail
    directory: Directory
    mail: MailSender
    templates: TemplateRenderer
    packages: PackageStore
    base_url: str  # this region's public address: the link in the email starts with it
    mail_from: str


def recipient_actor(doc: dict[str, Any]) -> str:
    """How the recipient is named in the audit trail: they have no Vigil account."""
    return f"share-recipient:{doc['recipient_email']} ({doc['recipient_name']})"


def log_access(deps: DisclosureDeps, uow: UnitOfWork, doc: dict[str, Any], operation: str, **detail: Any) -> None:
    """One access by the recipient: an entry in the sharing force's audit chain and a
    line in the share's own log (the force's listing); the caller replaces the share."""
    deps.audit.record(
        uow,
        owner_org=doc["force_id"],
        principal=None,
        action=AuditAction.DISCLOSURE if operation == "package_share.downloaded" else AuditAction.CONSULTATION,
        operation=operation,
        entity=f"incident/{doc['incident_id']}",
        subjects=[doc["id"]],
        purpose=doc["purpose"],
        recipient_org=doc["recipient_organisation"],
        system_actor=recipient_actor(doc),
    )
    accesses = list(doc.get("accesses") or [])
    accesses.append({"at": to_iso(deps.clock.now()), "what": operation.removeprefix("package_share."), **detail})
    doc["accesses"] = accesses[-MAX_ACCESS_LOG:]


def find_by_token(uow: UnitOfWork, hashed: str) -> dict[str, Any] | None:
    """The share whose link token hashes to `hashed`, in whichever retailer's partition."""
    found = uow.query(PACKAGE_SHARES.name, None, [Where("token_hash", "eq", hashed)], limit=2).items
    return found[0] if found else None
