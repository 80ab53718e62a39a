"""Vehicles of interest: listed, changed and removed by hand, or promoted from a vehicle recorded on an incident."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.anpr import (
    PromoteIn,
    VehicleOfInterestIn,
    interest_until,
)
from shared.domain.audit import AuditAction
from shared.domain.errors import Invalid, NotFound, PreconditionFailed, PreconditionRequired
from shared.domain.incidents import view_for_partner
from shared.domain.plates import normalise_plate
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import UnitOfWork
from shared.records import VEHICLES
from shared.services import repository
from shared.services.anpr.common import (
    AnprDeps,
    plate_or_invalid,
)
from shared.services.audit import ReadEntry


@dataclass(frozen=True)
class VehicleWritten:
    """A vehicle of interest after a write: as presented, its stored version, and whether it was newly listed."""

    vehicle: dict[str, Any]
    etag: str
    created: bool


@dataclass
class Vehicles:
    deps: AnprDeps

    def list_vehicles(self, principal: Principal, *, limit: int, continuation: str | None) -> dict[str, Any]:
        """The caller's organisation's vehicles of interest, by plate."""
        org = principal.organisation_id
        with self.deps.records.read_only() as uow:
            page = uow.query(VEHICLES.name, [org], [], order_by="plate", limit=limit, continuation=continuation)
        self.deps.audit.record_read(
            principal,
            [
                ReadEntry(
                    owner_org=org,
                    action=AuditAction.CONSULTATION,
                    operation="vehicle.list",
                    entity="vehicle",
                    subjects=[d["id"] for d in page.items],
                )
            ],
        )
        return {"items": [self._present_vehicle(d) for d in page.items], "continuation": page.continuation}

    @staticmethod
    def _present_vehicle(doc: dict[str, Any]) -> dict[str, Any]:
        out = repository.body(doc)
        out["etag"] = f'"{repository.etag(doc)}"'
        return out

    def _check_incidents(self, uow: UnitOfWork, principal: Principal, ids: list[str]) -> None:
        for i, incident_id in enumerate(ids):
            try:
                self.deps.incidents.locate(uow, principal, incident_id)
            except NotFound:
                raise Invalid(
                    f"Incident {incident_id} was not found.", errors=[{"field": f"incident_ids.{i}", "message": "not found"}]
                ) from None

    def put_vehicle(self, principal: Principal, plate_text: str, body: VehicleOfInterestIn, if_match: str | None) -> VehicleWritten:
        """List a vehicle of interest, or change one (`if_match`, the bare stored ETag, needed to change)."""
        plate = plate_or_invalid(plate_text, "plate")
        org = principal.organisation_id
        now = self.deps.clock.now()
        until = interest_until(body.until, now, self.deps.settings.anpr_vehicle_interest_days)
        with self.deps.records.unit_of_work() as uow:
            existing = uow.get(VEHICLES.name, org, plate)
            if existing is not None:
                # The precondition first: a client changing a listing from a stale copy
                # hears 412 (read again), whatever else its change gets wrong.
                if not if_match:
                    raise PreconditionRequired(f"Vehicle {plate} is already listed: send If-Match with its ETag to change it.")
                if if_match != repository.etag(existing):
                    raise PreconditionFailed(f"Vehicle {plate} has changed since you read it.")
            self._check_incidents(uow, principal, body.incident_ids)
            doc = {
                "id": plate,
                "plate": plate,
                "plate_raw": plate_text,
                "reason": body.reason,
                "incident_ids": body.incident_ids,
                "until": to_iso(until),
                "make": body.make,
                "model": body.model,
                "colour": body.colour,
                "owner_org": org,
                "updated_by": principal.user_id,
                "updated_at": to_iso(now),
            }
            if existing is None:
                doc.update(added_by=principal.user_id, added_at=to_iso(now))
                etag = uow.insert(VEHICLES.name, org, doc)
                action = AuditAction.COLLECTION
            else:
                doc.update(added_by=existing["added_by"], added_at=existing["added_at"])
                etag = uow.replace(VEHICLES.name, org, doc, if_match=repository.etag(existing))
                action = AuditAction.ALTERATION
            self.deps.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=action,
                operation="vehicle.put",
                entity=f"vehicle/{plate}",
                fields=sorted(body.model_fields_set | {"reason"}),
            )
        doc["_etag"] = etag
        return VehicleWritten(vehicle=self._present_vehicle(doc), etag=etag, created=existing is None)

    def delete_vehicle(self, principal: Principal, plate_text: str) -> None:
        """Stop matching a plate for the caller's organisation (its hits stay)."""
        plate = plate_or_invalid(plate_text, "plate")
        org = principal.organisation_id
        with self.deps.records.unit_of_work() as uow:
            if not uow.delete(VEHICLES.name, org, plate):
                raise NotFound(f"Vehicle {plate} is not listed.")
            self.deps.audit.record(
                uow, owner_org=org, principal=principal, action=AuditAction.ERASURE, operation="vehicle.delete", entity=f"vehicle/{plate}"
            )

    def promote(self, principal: Principal, incident_id: str, plate_text: str, body: PromoteIn) -> VehicleWritten:
        """Make a vehicle recorded on an incident a vehicle of interest of the caller's
        organisation, linked to that incident (added to the links if already listed)."""
        plate = plate_or_invalid(plate_text, "plate")
        org = principal.organisation_id
        now = self.deps.clock.now()
        until = interest_until(body.until, now, self.deps.settings.anpr_vehicle_interest_days)
        with self.deps.records.unit_of_work() as uow:
            loc = self.deps.incidents.locate(uow, principal, incident_id)
            seen = (
                loc.doc
                if loc.share_level is None
                else view_for_partner(repository.body(loc.doc), loc.share_level, dispatched_to_viewer=loc.dispatched_to_viewer)
            )
            vehicle = next((v for v in seen.get("vehicles", []) if normalise_plate(v["plate"]) == plate), None)
            if vehicle is None:
                raise NotFound(f"Incident {incident_id} records no vehicle {plate}.")
            existing = uow.get(VEHICLES.name, org, plate)
            reason = (
                body.reason
                or f"Vehicle recorded on incident {loc.doc.get('reference', incident_id)} ({loc.doc.get('category', 'incident').replace('_', ' ')}, {loc.doc.get('occurred_at', '')[:10]})."
            )
            if existing is None:
                doc = {
                    "id": plate,
                    "plate": plate,
                    "plate_raw": vehicle["plate"],
                    "reason": reason,
                    "incident_ids": [incident_id],
                    "until": to_iso(until),
                    "make": vehicle.get("make"),
                    "model": vehicle.get("model"),
                    "colour": vehicle.get("colour"),
                    "owner_org": org,
                    "added_by": principal.user_id,
                    "added_at": to_iso(now),
                    "updated_by": principal.user_id,
                    "updated_at": to_iso(now),
                }
                etag = uow.insert(VEHICLES.name, org, doc)
            else:
                doc = repository.body(existing)
                doc["incident_ids"] = sorted(set(doc.get("incident_ids", [])) | {incident_id})
                doc["until"] = max(doc["until"], to_iso(until))
                if body.reason:
                    doc["reason"] = body.reason
                doc.update(updated_by=principal.user_id, updated_at=to_iso(now))
                etag = uow.replace(VEHICLES.name, org, doc, if_match=repository.etag(existing))
            self.deps.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.COMBINATION,
                operation="vehicle.promote",
                entity=f"vehicle/{plate}",
                fields=["incident_ids"],
                subjects=[incident_id],
            )
        doc["_etag"] = etag
        return VehicleWritten(vehicle=self._present_vehicle(doc), etag=etag, created=existing is None)
