"""Reading persons of interest: one profile of the caller's own organisation, a page of them, a profile's history; audited."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Invalid
from shared.domain.offenders import ListingStatus, PersonOfInterest
from shared.domain.plates import PlateError, normalise_plate
from shared.domain.subject_requests import name_key
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import Where, iterate_all
from shared.records import OFFENDER_VERSIONS, OFFENDERS
from shared.services.audit import ReadEntry
from shared.services.offenders.deps import EDITORS, OffenderDeps, find_own
from shared.services.repository import Stored, load


@dataclass
class Profiles:
    """GET /offenders/{id} and the reads other capabilities make on a caller's behalf."""

    deps: OffenderDeps

    def get(self, principal: Principal, offender_id: str) -> PersonOfInterest:
        """The caller's organisation's profile (404 for any other organisation's, or for a
        role that does not work on profiles); the read is audited as a consultation."""
        return self.read(principal, offender_id).record

    def read(self, principal: Principal, offender_id: str) -> Stored[PersonOfInterest]:
        """As `get`, with the version (ETag) a change must name."""
        with self.deps.records.read_only() as uow:
            stored = find_own(uow, principal, offender_id)
        profile = stored.record
        self.deps.audit.record_read(
            principal,
            [
                ReadEntry(
                    owner_org=profile.organisation_id,
                    action=AuditAction.CONSULTATION,
                    operation="offender.read",
                    entity=f"offender/{profile.id}",
                    subjects=list(profile.incident_ids),
                )
            ],
        )
        return stored


@dataclass(frozen=True)
class ProfilePage:
    items: list[Stored[PersonOfInterest]]
    continuation: str | None


@dataclass(frozen=True)
class ProfileFilters:
    """GET /offenders filters, each answered by an index of the collection."""

    status: ListingStatus | None = None
    name: str | None = None
    plate: str | None = None
    incident_id: str | None = None
    due_for_review: bool = False  # review date passed: lapsed until reviewed


@dataclass
class ProfileList:
    deps: OffenderDeps

    def list(self, principal: Principal, filters: ProfileFilters, *, limit: int = 50, continuation: str | None = None) -> ProfilePage:
        """The organisation's profiles, soonest review first; one audit entry for the page."""
        if not principal.has(*EDITORS):
            return ProfilePage([], None)
        where: list[Where] = []
        if filters.status:
            where.append(Where("status", "eq", filters.status.value))
        if filters.name:
            where.append(Where("name_key", "eq", name_key(filters.name)))
        if filters.plate:
            try:
                plate = normalise_plate(filters.plate)
            except PlateError as exc:
                raise Invalid(f"plate: {exc}", errors=[{"field": "plate"}]) from exc
            where.append(Where("plates", "contains", plate))
        if filters.incident_id:
            where.append(Where("incident_ids", "contains", filters.incident_id))
        if filters.due_for_review:
            where.append(Where("review_at", "le", to_iso(self.deps.now())))
        with self.deps.records.read_only() as uow:
            page = uow.query(
                OFFENDERS.name, [principal.organisation_id], where, order_by="review_at", limit=limit, continuation=continuation
            )
        items = [load(PersonOfInterest, d) for d in page.items]
        if items:
            self.deps.audit.record_read(
                principal,
                [
                    ReadEntry(
                        owner_org=principal.organisation_id,
                        action=AuditAction.CONSULTATION,
                        operation="offender.list",
                        entity="offenders",
                        subjects=[s.record.id for s in items],
                    )
                ],
            )
        return ProfilePage(items, page.continuation)

    def history(self, principal: Principal, offender_id: str) -> builtins.list[dict[str, Any]]:
        """Every version of the profile, oldest first: who changed it, when and why."""
        with self.deps.records.read_only() as uow:
            find_own(uow, principal, offender_id)
            docs = list(iterate_all(uow, OFFENDER_VERSIONS.name, [principal.organisation_id], [Where("offender_id", "eq", offender_id)]))
        return sorted(({k: d[k] for k in ("version", "at", "by", "note")} for d in docs), key=lambda v: v["version"])
