"""What every go-live use case shares: its adapters, who may read and act on an
organisation's go-live, and the DPIA gate other capabilities check before D2P is
switched on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.domain.errors import NotFound
from shared.domain.go_live import StageName, StageOpen
from shared.domain.tenancy import Organisation, OrgKind, Principal, Role
from shared.domain.timestamps import to_iso
from shared.evidence_ports import CourtDocumentRenderer
from shared.ports import Clock, RecordStore, UnitOfWork
from shared.records import DPIA_VERSIONS

if TYPE_CHECKING:
    from shared.services.audit import AuditTrail
    from shared.services.directory import Directory
    from shared.services.retention.deps import RetentionDeps
    from shared.settings import Settings

# The one document of an organisation's DPIA partition that is not a version: the latest
# version number and the approval in force.
HEAD_ID = "head"
ADMINS = (Role.RETAILER_ADMIN, Role.POLICE_ADMIN)


@dataclass
class GoLiveDeps:
    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    retention: RetentionDeps  # the schedules the DPIA states are read as the sweep reads them
    documents: CourtDocumentRenderer
    settings: Settings

    def now(self) -> str:
        return to_iso(self.clock.now())


def organisation(deps: GoLiveDeps, principal: Principal, org_id: str, *, approving: bool = False) -> Organisation:
    """The organisation whose go-live the caller may see: its own admin's, or any served
    here for the platform operator (never for approving: the controller signs its DPIA).
    Anyone else hears NotFound, exactly as for an organisation that does not exist."""
    missing = NotFound(f"Organisation {org_id} was not found.")
    own_admin = principal.organisation_id == org_id and principal.has(*ADMINS)
    operator = principal.has(Role.PLATFORM_OPERATOR) and not approving
    if not (own_admin or operator):
        raise missing
    org = deps.directory.organisation(org_id)
    if org is None or org.home_region != deps.settings.region or org.kind == OrgKind.PLATFORM:
        raise missing
    return org


def dpia_approval(uow: UnitOfWork, org_id: str) -> dict[str, Any] | None:
    """The approval in force for the organisation's DPIA (version, by, at), or None."""
    head = uow.get(DPIA_VERSIONS.name, org_id, HEAD_ID)
    if head is None or head.get("approved_version") is None:
        return None
    return {"version": head["approved_version"], "by": head.get("approved_by"), "at": head.get("approved_at")}


def require_dpia_approved(uow: UnitOfWork, org_id: str, what: str) -> None:
    """Refuse (409 naming the `dpia_approved` stage) a step that switches D2P on while the
    organisation has no approved DPIA: personal data must not start flowing to a force
    before its data protection officer has signed off what the platform will do with it."""
    if dpia_approval(uow, org_id) is None:
        raise StageOpen(
            f"{what} needs {org_id}'s go-live stage dpia_approved: its admin generates the DPIA "
            f"(POST /organisations/{org_id}/dpia) and approves a version first.",
            stage=StageName.DPIA_APPROVED.value,
        )
