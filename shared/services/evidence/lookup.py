"""Finding items and incidents as a caller may see them, and recording who looked."""

from __future__ import annotations

import re
import uuid

from shared.domain.audit import AuditAction
from shared.domain.errors import Forbidden, Invalid, NotFound
from shared.domain.evidence import EvidenceItem
from shared.domain.tenancy import Principal, Role
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import EVIDENCE
from shared.services.audit import ReadEntry
from shared.services.evidence.deps import EvidenceDeps
from shared.services.incidents import Located
from shared.services.repository import Stored, load

_ID = re.compile(r"^(?P<org>[a-z0-9][a-z0-9-]{0,62})-(?P<hex>[0-9a-f]{32})$")


def new_evidence_id(owner_org: str) -> str:
    """`<owner org>-<uuid hex>`: any caller's lookup is one point read in the owner's partition."""
    return f"{owner_org}-{uuid.uuid4().hex}"


def owner_of(evidence_id: str) -> str | None:
    """The owning organisation named in an evidence id, or None when it is not one."""
    m = _ID.match(evidence_id)
    return m.group("org") if m else None


def need_purpose(principal: Principal, purpose: str | None) -> None:
    """Police must say why they look at evidence: the purpose goes into custody and the audit trail."""
    if principal.is_police and not (purpose and purpose.strip()):
        raise Invalid("Police access to evidence needs a stated purpose (query parameter 'purpose').", errors=[{"field": "purpose"}])


def may_see_evidence(loc: Located) -> bool:
    """Whether the caller who located this incident may see its evidence.

    A partner that sees the incident only through a sharing agreement gets the persons of
    a minor withheld; CCTV and stills show those same persons, so such an incident's
    evidence stays with the owner and a force it was dispatched to."""
    if loc.share_level is None or loc.dispatched_to_viewer:
        return True
    return not (loc.doc.get("has_minor") or any(p.get("under_18") for p in loc.doc.get("persons") or []))


def locate_incident(deps: EvidenceDeps, uow: UnitOfWork, principal: Principal, incident_id: str) -> Located:
    """The incident, for reading its evidence, or NotFound exactly as if it did not exist."""
    loc = deps.incidents.locate(uow, principal, incident_id)
    if not may_see_evidence(loc):
        raise NotFound(f"Incident {incident_id} was not found.")
    return loc


def locate_to_add(deps: EvidenceDeps, uow: UnitOfWork, principal: Principal, incident_id: str) -> Located:
    """The incident, for adding evidence to it. Store staff add only to the reports they
    filed: a colleague's report in their store they may read, so refusing it is a 403
    that reveals nothing; one outside their stores stays a 404."""
    loc = deps.incidents.locate(uow, principal, incident_id)
    if not principal.has(Role.RETAILER_INVESTIGATOR) and loc.doc.get("created_by") != principal.user_id:
        raise Forbidden(f"Store staff may add evidence only to incidents they reported; {incident_id} was reported by someone else.")
    return loc


def locate_item(deps: EvidenceDeps, uow: UnitOfWork, principal: Principal, evidence_id: str) -> tuple[Stored[EvidenceItem], Located]:
    """The item and its incident, or NotFound exactly as if it did not exist."""
    missing = NotFound(f"Evidence {evidence_id} was not found.")
    owner = owner_of(evidence_id)
    if owner is None:
        raise missing
    doc = uow.get(EVIDENCE.name, owner, evidence_id)
    if doc is None or doc.get("pending_since"):
        raise missing
    try:
        loc = deps.incidents.locate(uow, principal, doc["incident_id"])
    except NotFound:
        raise missing from None
    if loc.owner_org != owner or not may_see_evidence(loc):
        raise missing
    return load(EvidenceItem, doc), loc


def stored_items(uow: UnitOfWork, owner_org: str, incident_id: str) -> list[Stored[EvidenceItem]]:
    """Every record of an incident, pending ones too (holds and erasure must reach them),
    in no particular order."""
    docs = iterate_all(uow, EVIDENCE.name, [owner_org], [Where("incident_id", "eq", incident_id)], limit=100)
    return [load(EvidenceItem, d) for d in docs]


def items_of_incident(uow: UnitOfWork, owner_org: str, incident_id: str) -> list[EvidenceItem]:
    """Every item of an incident whose bytes are stored, oldest first: a pending record
    may not have its file yet, so it is listed and packaged only once settled."""
    items = [s.record for s in stored_items(uow, owner_org, incident_id) if not s.record.pending]
    return sorted(items, key=lambda i: (i.created_at, i.id))


def access_entries(
    principal: Principal, owner: str, operation: str, entity: str, purpose: str | None, subjects: list[str] | None = None
) -> list[ReadEntry]:
    """A consultation in the owner's trail; a reader from another organisation is a
    disclosure there and a consultation in its own trail."""
    own = owner == principal.organisation_id
    entries = [
        ReadEntry(
            owner_org=owner,
            action=AuditAction.CONSULTATION if own else AuditAction.DISCLOSURE,
            operation=operation,
            entity=entity,
            subjects=list(subjects or []),
            purpose=purpose,
            recipient_org=None if own else principal.organisation_id,
        )
    ]
    if not own:
        entries.append(
            ReadEntry(
                owner_org=principal.organisation_id,
                action=AuditAction.CONSULTATION,
                operation=operation,
                entity=entity,
                subjects=list(subjects or []),
                purpose=purpose,
            )
        )
    return entries


def audit_access(
    deps: EvidenceDeps,
    uow: UnitOfWork,
    principal: Principal,
    owner: str,
    operation: str,
    entity: str,
    purpose: str | None,
    subjects: list[str] | None = None,
) -> None:
    """`access_entries` chained in `uow`, for an access that writes custody too and so
    runs in a write unit anyway."""
    for e in access_entries(principal, owner, operation, entity, purpose, subjects):
        deps.audit.record(
            uow,
            owner_org=e.owner_org,
            principal=principal,
            action=e.action,
            operation=e.operation,
            entity=e.entity,
            purpose=e.purpose,
            subjects=e.subjects,
            recipient_org=e.recipient_org,
        )
