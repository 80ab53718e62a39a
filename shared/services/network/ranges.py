"""An organisation's network ranges, set by its admin: kept as versions, changed with
If-Match, every change audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, NotFound, PreconditionFailed, PreconditionRequired
from shared.domain.network import NetworkRanges, NetworkRangesIn
from shared.domain.tenancy import Principal, Role
from shared.ports import RecordStore, Where, iterate_all
from shared.records import NETWORK_RANGES
from shared.services.network.deps import NetworkDeps
from shared.services.repository import Stored, body, load

CURRENT = "current"
# The ETag of ranges never set: a client that read them may send it back as If-Match, and a
# concurrent first setting then fails as any stale If-Match does.
UNSET_ETAG = "unset"


def own_organisation(principal: Principal, org_id: str) -> None:
    """An organisation's ranges are its admin's alone (a force's Police.Admin, a retailer's
    Retailer.Admin): anyone else gets the 404 of a missing organisation."""
    if principal.organisation_id != org_id or not principal.has(Role.POLICE_ADMIN, Role.RETAILER_ADMIN):
        raise NotFound(f"Organisation {org_id} was not found.")


def read_current(records: RecordStore, org_id: str) -> NetworkRanges | None:
    """The organisation's ranges in force, or None when never set (no restriction)."""
    with records.read_only() as uow:
        doc = uow.get(NETWORK_RANGES.name, org_id, CURRENT)
    return NetworkRanges.model_validate(body(doc)) if doc is not None else None


@dataclass
class RangesUseCase:
    deps: NetworkDeps

    def get(self, principal: Principal, org_id: str) -> Stored[NetworkRanges]:
        """The organisation's ranges with their ETag; empty lists (version 0) when never set."""
        own_organisation(principal, org_id)
        with self.deps.records.read_only() as uow:
            doc = uow.get(NETWORK_RANGES.name, org_id, CURRENT)
        if doc is None:
            return Stored(record=NetworkRanges(organisation_id=org_id, version=0), etag=UNSET_ETAG, tenant=org_id)
        return load(NetworkRanges, doc)

    def put(self, principal: Principal, org_id: str, change: NetworkRangesIn, if_match: str | None) -> Stored[NetworkRanges]:
        """Replace both lists as a new version (every version kept), audited. `if_match` is the
        ETag last read; without it only the first setting is accepted (428 once ranges exist)."""
        own_organisation(principal, org_id)
        with self.deps.records.unit_of_work() as uow:
            doc = uow.get(NETWORK_RANGES.name, org_id, CURRENT)
            if doc is not None and not if_match:
                raise PreconditionRequired("Send If-Match with the ETag of the network ranges you last read.")
            if doc is None and if_match not in (None, UNSET_ETAG):
                raise PreconditionFailed("These network ranges have changed since you read them: read them again.")
            if doc is not None and if_match == UNSET_ETAG:
                raise PreconditionFailed("Network ranges were set since you read them: read them again.")
            current = NetworkRanges.model_validate(body(doc)) if doc is not None else None
            new = NetworkRanges(
                organisation_id=org_id,
                version=(current.version if current else 0) + 1,
                staff=change.staff,
                devices=change.devices,
                updated_at=self.deps.now(),
                updated_by=principal.user_id,
            )
            record: dict[str, Any] = {**new.model_dump(), "id": CURRENT}
            try:
                uow.insert(NETWORK_RANGES.name, org_id, new.as_version())
                etag = (
                    uow.insert(NETWORK_RANGES.name, org_id, record)
                    if doc is None
                    else uow.replace(NETWORK_RANGES.name, org_id, record, if_match=if_match)
                )
            except Conflict:
                # Another admin's change took this version number first.
                raise PreconditionFailed("These network ranges have changed since you read them: read them again.") from None
            changed = [name for name in ("staff", "devices") if current is None or getattr(current, name) != getattr(new, name)]
            self.deps.audit.record(
                uow,
                owner_org=org_id,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="network.ranges.change",
                entity=f"network-ranges/{org_id}",
                fields=changed,
            )
        self.deps.cache.forget(org_id)
        return Stored(record=new, etag=etag, tenant=org_id)

    def versions(self, principal: Principal, org_id: str) -> list[NetworkRanges]:
        """Every version of the organisation's ranges, oldest first."""
        own_organisation(principal, org_id)
        with self.deps.records.read_only() as uow:
            docs = list(iterate_all(uow, NETWORK_RANGES.name, [org_id], [Where("version", "ge", 1)], order_by="version"))
        return [NetworkRanges.model_validate(body(d)) for d in docs if d["id"] != CURRENT]
