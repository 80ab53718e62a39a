"""What every onboarding use case shares: its dependencies, who may onboard, the region
check, and the idempotent upsert of one directory document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Forbidden, Misdirected, PreconditionFailed, PreconditionRequired
from shared.domain.tenancy import PLATFORM_TENANT, Organisation, Principal, Role
from shared.ports import Clock, RecordStore, UnitOfWork
from shared.services import repository
from shared.services.audit import AuditTrail
from shared.services.directory import Directory

Outcome = Literal["created", "changed", "unchanged"]
# Ids of organisations, stores: lower-case words joined by hyphens (they appear in URLs).
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$"
# A member's Entra object id or a device's client id: no characters a URL path or a
# Cosmos DB id would choke on.
SUBJECT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"
MAX_STORES_PER_ASSIGNMENT = 500


@dataclass
class OnboardingDeps:
    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    bus: Any  # the message bus: a force's inbox reaches its D2P rules through ForceOnboarded
    region: str
    region_base_urls: Mapping[str, str]


@dataclass(frozen=True)
class Upserted:
    """A directory document as stored after an upsert, its version and what the upsert did."""

    record: dict[str, Any]
    etag: str
    outcome: Outcome


def require_operator(principal: Principal) -> None:
    """Only the platform's operators onboard organisations, stores and devices."""
    if not principal.has(Role.PLATFORM_OPERATOR):
        raise Forbidden("Onboarding organisations, stores and devices needs the Platform.Operator role.")


def served_here(deps: OnboardingDeps, org: Organisation) -> None:
    """An organisation homed elsewhere is onboarded by its home region's stamp (421 naming it),
    so what this stamp holds for it never leaves that region."""
    if org.home_region != deps.region:
        raise Misdirected(
            f"{org.id} is homed in the {org.home_region} region: onboard it there.",
            home_region=org.home_region,
            home_base_url=deps.region_base_urls.get(org.home_region),
        )


def upsert(
    deps: OnboardingDeps,
    uow: UnitOfWork,
    collection: str,
    tenant: str,
    doc_id: str,
    wanted: dict[str, Any],
    if_match: str | None,
) -> tuple[Upserted, list[str]]:
    """Create the document, or change it under `if_match`; the same body again changes
    nothing (no write, no version, no audit) whatever `if_match` says, so a repeated
    onboarding is harmless. Returns what is stored and the fields that changed."""
    current = uow.get(collection, tenant, doc_id)
    if current is None:
        try:
            etag = uow.insert(collection, tenant, wanted)
        except Conflict as exc:
            raise PreconditionFailed(f"{doc_id} was created meanwhile; read it and send its ETag in If-Match.") from exc
        return Upserted(wanted, etag, "created"), sorted(wanted)
    old = repository.body(current)
    if _present(old) == _present(wanted):
        return Upserted(old, repository.etag(current), "unchanged"), []
    if not if_match:
        raise PreconditionRequired(f"{doc_id} exists: send If-Match with the ETag you last read to change it.")
    if if_match != repository.etag(current):
        raise PreconditionFailed(f"{doc_id} has changed since you read it; read it again.")
    try:
        etag = uow.replace(collection, tenant, wanted, if_match=if_match)
    except Conflict as exc:
        raise PreconditionFailed(f"{doc_id} has changed since you read it; read it again.") from exc
    changed = sorted(k for k in set(old) | set(wanted) if old.get(k) != wanted.get(k))
    return Upserted(wanted, etag, "changed"), changed


def _present(doc: dict[str, Any]) -> dict[str, Any]:
    # A field stored before it existed (no key) and one stored empty (None) say the same:
    # neither is a change worth a version and an audit entry.
    return {k: v for k, v in doc.items() if v is not None}


def audit_change(
    deps: OnboardingDeps, uow: UnitOfWork, principal: Principal, *, chain: str, operation: str, entity: str, fields: list[str]
) -> None:
    """One alteration entry: the platform's chain for the directory (organisations, stores,
    devices), the retailer's own chain for who acts for its stores."""
    deps.audit.record(
        uow, owner_org=chain, principal=principal, action=AuditAction.ALTERATION, operation=operation, entity=entity, fields=fields
    )


PLATFORM_CHAIN = PLATFORM_TENANT
