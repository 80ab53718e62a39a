"""Legal holds: an incident (with its evidence and linked hits) kept from every deletion
while any organisation holds it. Placed by an investigator of the owning organisation or
an officer of a force it was dispatched to; each holder releases only its own hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Forbidden, NotFound
from shared.domain.events import LegalHoldChanged
from shared.domain.retention import POI_HELD_LANE, RecordType
from shared.domain.tenancy import Principal, Role
from shared.domain.timestamps import to_iso
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import LEGAL_HOLDS
from shared.services.repository import body
from shared.services.retention.deps import RetentionDeps
from shared.services.retention.index import index_incident, poi_entry, put

HOLDERS_RETAIL = (Role.RETAILER_INVESTIGATOR,)
HOLDERS_POLICE = (Role.POLICE_OFFICER, Role.POLICE_ANALYST)
_SHOWN = ("holder_org", "status", "reason", "placed_at", "placed_by", "released_at", "history")


@dataclass(frozen=True)
class HoldsView:
    """An incident's holds, active and released, oldest first."""

    incident_id: str
    held: bool
    holds: list[dict[str, Any]]


def _view(uow: UnitOfWork, owner: str, incident_id: str, changed: dict[str, dict[str, Any]]) -> HoldsView:
    holds = {h["id"]: body(h) for h in iterate_all(uow, LEGAL_HOLDS.name, [owner], [Where("incident_id", "eq", incident_id)])}
    holds.update(changed)  # a store may show a unit's own writes to queries only after commit
    items = sorted(holds.values(), key=lambda h: h["placed_at"])
    return HoldsView(
        incident_id=incident_id,
        held=any(h["status"] == "active" for h in items),
        holds=[{k: h[k] for k in _SHOWN} for h in items],
    )


class Holds:
    def __init__(self, deps: RetentionDeps):
        self.deps = deps

    def _locate(self, uow: UnitOfWork, principal: Principal, incident_id: str):
        loc = self.deps.incidents.locate(uow, principal, incident_id)
        if principal.is_police and not loc.dispatched_to_viewer:
            raise Forbidden("Only a force this incident was dispatched to may place or release a legal hold on it.")
        return loc

    def view(self, principal: Principal, incident_id: str) -> HoldsView:
        """The incident's holds (active and released) as the caller may see them."""
        with self.deps.records.read_only() as uow:
            loc = self._locate(uow, principal, incident_id)
            return _view(uow, loc.owner_org, incident_id, {})

    def place(self, principal: Principal, incident_id: str, reason: str) -> HoldsView:
        """Hold an incident (and its evidence and linked hits) from every deletion, audited."""
        return self._set(principal, incident_id, reason, held=True)

    def release(self, principal: Principal, incident_id: str, reason: str) -> HoldsView:
        """Release the caller's organisation's hold; expiry resumes when no hold remains."""
        return self._set(principal, incident_id, reason, held=False)

    def _set(self, principal: Principal, incident_id: str, reason: str, *, held: bool) -> HoldsView:
        deps = self.deps
        with deps.records.unit_of_work() as uow:
            loc = self._locate(uow, principal, incident_id)
            owner = loc.owner_org
            hold_id = f"{incident_id}|{principal.organisation_id}"
            existing = uow.get(LEGAL_HOLDS.name, owner, hold_id)
            active = existing is not None and existing["status"] == "active"
            if held and active:
                raise Conflict("Your organisation already holds this incident; release it first to change the reason.")
            if not held and not active:
                raise NotFound("Your organisation has no active legal hold on this incident.")
            now = to_iso(deps.clock.now())
            event = {"at": now, "by": principal.user_id, "action": "placed" if held else "released", "reason": reason}
            # A release keeps what the placing said; a new hold starts afresh.
            placed = existing if not held and existing is not None else {"reason": reason, "placed_at": now, "placed_by": principal.user_id}
            doc = {
                "id": hold_id,
                "incident_id": incident_id,
                "holder_org": principal.organisation_id,
                "status": "active" if held else "released",
                "reason": placed["reason"],
                "placed_at": placed["placed_at"],
                "placed_by": placed["placed_by"],
                "released_at": None if held else now,
                "history": [*(existing.get("history", []) if existing else []), event],
            }
            uow.upsert(LEGAL_HOLDS.name, owner, doc)
            others = [
                h
                for h in iterate_all(uow, LEGAL_HOLDS.name, [owner], [Where("incident_id", "eq", incident_id)])
                if h["id"] != hold_id and h["status"] == "active"
            ]
            count = len(others) + (1 if held else 0)
            index_incident(uow, owner, loc.doc, holds=count)
            operation = "legal_hold.place" if held else "legal_hold.release"
            deps.audit.record(
                uow,
                owner_org=owner,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation=operation,
                entity=f"incident/{incident_id}",
                fields=["legal_hold"],
                purpose=reason,
                recipient_org=None if owner == principal.organisation_id else principal.organisation_id,
            )
            if owner != principal.organisation_id:
                deps.audit.record(
                    uow,
                    owner_org=principal.organisation_id,
                    principal=principal,
                    action=AuditAction.ALTERATION,
                    operation=operation,
                    entity=f"incident/{incident_id}",
                    fields=["legal_hold"],
                    purpose=reason,
                )
            # Evidence and other capabilities hear only when the incident's held state flips.
            if (held and count == 1) or (not held and count == 0):
                deps.bus.publish(
                    uow, LegalHoldChanged(principal=principal, organisation_id=owner, incident_id=incident_id, held=held, reason=reason)
                )
            if not held and count == 0:
                # Person-of-interest images the hold kept are due again at the next sweep.
                for offender_id in loc.doc.get("offender_ids", []):
                    poi = poi_entry(uow, owner, offender_id)
                    if poi is not None and poi.lane == POI_HELD_LANE:
                        put(uow, owner, poi.in_lane(RecordType.POI_IMAGE.value))
            return _view(uow, owner, incident_id, {hold_id: doc})
