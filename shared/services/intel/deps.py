"""What every intelligence use case shares: its adapters, who may ask, and which
organisations' persons a caller may see at which sharing level."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.errors import Invalid
from shared.domain.tenancy import Principal, Role, ShareLevel
from shared.ports import Clock, RecordStore
from shared.services.audit import AuditTrail
from shared.services.directory import Directory

ANALYSTS = (Role.POLICE_ANALYST, Role.POLICE_OFFICER, Role.RETAILER_INVESTIGATOR, Role.RETAILER_ADMIN)
# Group records are kept by whoever builds the picture of a group: analysts and investigators.
GROUP_KEEPERS = (Role.POLICE_ANALYST, Role.RETAILER_INVESTIGATOR)


@dataclass
class IntelDeps:
    """Built once in the composition root and shared by every intelligence use case."""

    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail


@dataclass(frozen=True)
class Sight:
    """Whose persons a caller sees: the tenants, and for a force the scope of its area."""

    tenants: list[str]
    scope: str
    force_id: str | None

    def level(self, directory: Directory, principal: Principal, owner: str) -> ShareLevel | None:
        """None for the caller's own organisation, else the owner's agreement with it."""
        if owner == principal.organisation_id:
            return None
        return directory.share_level(owner, principal.organisation_id)


def sight_of(deps: IntelDeps, principal: Principal, purpose: str | None) -> Sight:
    """A retailer sees its own persons over all its incidents; a force sees the persons of
    every retailer sharing descriptions or more with it, over the incidents in its area
    (`counts` shares numbers, never a person). Police state a purpose, as for any search."""
    if principal.is_police:
        if not purpose or not purpose.strip():
            raise Invalid("Police intelligence queries need a stated purpose (query parameter 'purpose').", errors=[{"field": "purpose"}])
        force = principal.organisation_id
        return Sight(tenants=deps.directory.sharers_with(force, ShareLevel.DESCRIPTIONS), scope=force_scope(force), force_id=force)
    return Sight(tenants=[principal.organisation_id], scope=ORG_SCOPE, force_id=None)


ORG_SCOPE = "org"


def force_scope(force_id: str) -> str:
    return f"force:{force_id}"
