"""Lookouts: a be-on-the-lookout notice for a listed person of interest or a vehicle of
interest, sent to the stores near a place or in a force area, for a reason, until an
expiry. Who may receive one follows the sharing agreements (docs/lookouts.md).

Pure: no I/O, no clock (times are passed in).
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.domain.errors import Conflict, Invalid
from shared.domain.tenancy import ShareLevel, Store

# A lookout is a warning about the days ahead, not a standing list: past a month it must be
# issued again, which makes the issuer check the listing still stands.
MAX_LIFETIME = timedelta(days=30)
# "Nearby": a store manager a long drive away has no use for the warning.
MAX_RADIUS_KM = 100.0
# Bounds one lookout's fan-out (a force area holds a few hundred stores).
MAX_RECIPIENT_STORES = 2000
EARTH_RADIUS_KM = 6371.0088


class LookoutKind(StrEnum):
    PERSON = "person"
    VEHICLE = "vehicle"


class LookoutState(StrEnum):
    """What a reader is told. Only `active` lookouts reach store staff."""

    ACTIVE = "active"
    EXPIRED = "expired"  # past its expiry
    WITHDRAWN = "withdrawn"  # called off by its issuer
    SUSPENDED = "suspended"  # the listing behind it is no longer in force (contested, past review, unlisted)


class LookoutIn(BaseModel):
    """A lookout to issue: one subject (a listed person or a vehicle of interest), one area
    (stores within a distance of a store or a point, or a force area)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "offender_id": "nw-poi-1",
                    "reason": "Threatened staff with a knife at Northwind Plymouth on 20 November; do not approach, call 999.",
                    "expires_at": "2026-12-14T18:00:00+00:00",
                    "near_store_id": "nw-plymouth",
                    "within_km": 80,
                }
            ]
        },
    )

    offender_id: str | None = Field(default=None, min_length=1, max_length=128, description="A listed person of interest of yours")
    plate: str | None = Field(default=None, min_length=1, max_length=16, description="A vehicle of interest of yours")
    reason: str = Field(min_length=10, max_length=1000, description="Why staff should look out, and what to do (never approach)")
    expires_at: AwareDatetime = Field(description="When the lookout lapses: at most 30 days away")
    near_store_id: str | None = Field(default=None, min_length=1, max_length=64, description="Centre: one of the stores")
    near_latitude: float | None = Field(default=None, ge=-90, le=90, description="Centre: a point (with near_longitude)")
    near_longitude: float | None = Field(default=None, ge=-180, le=180)
    within_km: float | None = Field(default=None, gt=0, le=MAX_RADIUS_KM, description="Distance from the centre, in km")
    force_area: str | None = Field(default=None, min_length=1, max_length=64, description="Every reachable store in this force's area")


def check_lookout(body: LookoutIn, now: datetime) -> None:
    """Invalid, naming each field, unless the lookout names one subject, one area and an
    expiry within bounds."""
    errors: list[dict[str, Any]] = []
    if (body.offender_id is None) == (body.plate is None):
        errors.append({"field": "offender_id", "message": "Name exactly one subject: offender_id (a person) or plate (a vehicle)."})
    point = body.near_latitude is not None or body.near_longitude is not None
    if point and (body.near_latitude is None or body.near_longitude is None):
        errors.append({"field": "near_latitude", "message": "A point needs both near_latitude and near_longitude."})
    centres = int(body.near_store_id is not None) + int(point)
    if body.force_area is not None:
        if centres or body.within_km is not None:
            errors.append({"field": "force_area", "message": "Give a force area or a distance from a centre, not both."})
    elif centres != 1 or body.within_km is None:
        errors.append(
            {"field": "within_km", "message": "Say where: within_km of near_store_id (or of near_latitude/near_longitude), or force_area."}
        )
    if body.expires_at <= now:
        errors.append({"field": "expires_at", "message": "The expiry must be in the future."})
    elif body.expires_at - now > MAX_LIFETIME:
        errors.append({"field": "expires_at", "message": "A lookout lasts at most 30 days; issue it again if it is still needed."})
    if errors:
        raise Invalid("The lookout cannot be issued: " + " ".join(e["message"] for e in errors), errors=errors)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance between two WGS84 points, in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def in_area(store: Store, *, centre: tuple[float, float] | None, within_km: float | None, force_area: str | None) -> bool:
    """Whether `store` is in the lookout's area. A store without coordinates is never
    "within a distance" (its distance is unknown); it is reached by force area only."""
    if force_area is not None:
        return store.force_id == force_area
    if centre is None or within_km is None or store.latitude is None or store.longitude is None:
        return False
    return distance_km(centre[0], centre[1], store.latitude, store.longitude) <= within_km


def recipient_level(
    *, issuer_id: str, issuer_is_police: bool, store: Store, issuer_shares: ShareLevel, store_owner_shares_with_issuer: ShareLevel
) -> ShareLevel | None:
    """What a store's staff may see of a lookout, or None when it may not reach them.

    - A retailer's lookout: its own stores in full; another retailer's stores only under
      the issuer's agreement with that retailer at `descriptions` or deeper, and at that
      level (`issuer_shares`).
    - A force's lookout: stores in its own area of retailers with a sharing agreement with
      it (`store_owner_shares_with_issuer` above none), at `descriptions`: a force has no
      outgoing agreement that could allow names.
    """
    if issuer_is_police:
        if store.force_id != issuer_id or store_owner_shares_with_issuer == ShareLevel.NONE:
            return None
        return ShareLevel.DESCRIPTIONS
    if store.organisation_id == issuer_id:
        return ShareLevel.FULL
    return issuer_shares if issuer_shares.rank >= ShareLevel.DESCRIPTIONS.rank else None


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: str
    organisation_id: str
    level: ShareLevel


class Lookout(BaseModel):
    """A lookout as stored, in the issuer's partition. It holds no copy of the person's
    details: readers see the profile as it stands, while its listing is in force."""

    model_config = ConfigDict(extra="forbid")

    id: str
    organisation_id: str  # the issuer
    kind: LookoutKind
    offender_id: str | None = None
    plate: str | None = None
    reason: str
    area: dict[str, Any]
    recipients: list[Recipient]
    store_ids: list[str]  # the recipients' stores: what a store's staff query on
    recipient_orgs: list[str]
    image_evidence_id: str | None = None
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    withdrawn: bool = False
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None
    # Retention counts from here: the expiry, or the withdrawal if earlier.
    retention_basis: datetime

    @classmethod
    def issue(
        cls,
        body: LookoutIn,
        *,
        issuer: str,
        by: str,
        now: datetime,
        plate: str | None,
        recipients: list[Recipient],
        image_evidence_id: str | None,
    ) -> Lookout:
        area: dict[str, Any] = (
            {"force_area": body.force_area}
            if body.force_area
            else {
                "near_store_id": body.near_store_id,
                "near_latitude": body.near_latitude,
                "near_longitude": body.near_longitude,
                "within_km": body.within_km,
            }
        )
        return cls(
            id=uuid.uuid4().hex,
            organisation_id=issuer,
            kind=LookoutKind.PERSON if body.offender_id else LookoutKind.VEHICLE,
            offender_id=body.offender_id,
            plate=plate,
            reason=body.reason.strip(),
            area=area,
            recipients=recipients,
            store_ids=sorted({r.store_id for r in recipients}),
            recipient_orgs=sorted({r.organisation_id for r in recipients}),
            image_evidence_id=image_evidence_id,
            issued_by=by,
            issued_at=now,
            expires_at=body.expires_at,
            retention_basis=body.expires_at,
        )

    def state(self, now: datetime, *, subject_in_force: bool) -> LookoutState:
        """Where the lookout stands at `now`, given whether its subject's listing (or the
        vehicle's interest) is still in force."""
        if self.withdrawn:
            return LookoutState.WITHDRAWN
        if now >= self.expires_at:
            return LookoutState.EXPIRED
        if not subject_in_force:
            return LookoutState.SUSPENDED
        return LookoutState.ACTIVE

    def level_for(self, store_id: str) -> ShareLevel | None:
        for r in self.recipients:
            if r.store_id == store_id:
                return r.level
        return None

    def withdraw(self, by: str, now: datetime) -> None:
        if self.withdrawn:
            raise Conflict("This lookout is already withdrawn.")
        if now >= self.expires_at:
            raise Conflict("This lookout has already lapsed at its expiry.")
        self.withdrawn = True
        self.withdrawn_at = now
        self.withdrawn_by = by
        self.retention_basis = min(self.retention_basis, now)
