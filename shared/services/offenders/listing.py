"""Listing a person of interest, changing the profile, reviewing the listing and reverting
its details: each a new version under If-Match, audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.events import ListingReviewed
from shared.domain.offender_listing import PersonLink, ProfileIn, ProfilePatch, ReviewIn, check_dates, listing_criterion
from shared.domain.offenders import ListingStatus, PersonOfInterest
from shared.domain.plates import normalise_plate
from shared.domain.tenancy import Principal
from shared.ports import UnitOfWork
from shared.records import INCIDENTS, OFFENDER_VERSIONS, OFFENDERS
from shared.services.offenders.deps import OffenderDeps, check_if_match, find_own, set_offender, version_id, write
from shared.services.repository import Stored

# What a revert restores: the details an investigator typed. Links follow the incidents
# (link, merge and unmerge change them) and the listing's status and dates follow reviews.
REVERTIBLE = ("name", "aliases", "date_of_birth", "description", "image_evidence_ids", "listing_reason")


@dataclass(frozen=True)
class Saved:
    profile: PersonOfInterest
    etag: str


def linked_incidents(uow: UnitOfWork, org: str, incident_ids: list[str]) -> list[dict[str, Any]]:
    """The organisation's incidents among `incident_ids` (erased ones are simply absent)."""
    return [doc for doc in (uow.get(INCIDENTS.name, org, i) for i in incident_ids) if doc is not None]


def plates_of(incidents: list[dict[str, Any]]) -> list[str]:
    """The vehicles seen at the person's incidents, normalised."""
    return sorted({normalise_plate(p) for doc in incidents for p in doc.get("plates", [])})


@dataclass
class Listing:
    """POST /offenders, PATCH /offenders/{id}, POST /offenders/{id}/review and /revert."""

    deps: OffenderDeps

    def create(self, principal: Principal, person: PersonLink, body: ProfileIn) -> Saved:
        """List `person` of one of the organisation's incidents (with any further persons
        who are the same person) when the listing criteria are met (Invalid names the
        unmet one). The profile takes the person's offender id; every further person is
        then named with it on its incident."""
        now = self.deps.now()
        links = [person, *body.links]
        with self.deps.records.unit_of_work() as uow:
            persons: list[dict[str, Any]] = []
            docs: dict[str, dict[str, Any]] = {}
            for link in links:
                doc = self.deps.incidents.locate(uow, principal, link.incident_id).doc
                if link.person_index >= len(doc.get("persons", [])):
                    raise NotFound(f"Incident {link.incident_id} has no person {link.person_index}.")
                docs[doc["id"]] = doc
                persons.append(doc["persons"][link.person_index])
            offender_id = persons[0]["offender_id"]
            for i, named in enumerate(persons):
                if uow.get(OFFENDERS.name, principal.organisation_id, named["offender_id"]) is not None:
                    raise Conflict(
                        f"That person is already person of interest {named['offender_id']}: link the others to it, or merge.",
                        errors=[{"field": "links" if i else "person_index"}],
                    )
            criterion = listing_criterion(list(docs.values()), now)
            review_at, expires_at = check_dates(now, body.review_at, body.expires_at, self.deps.retention_months)
            first = persons[0]
            profile = PersonOfInterest(
                id=offender_id,
                organisation_id=principal.organisation_id,
                name=body.name or first.get("name"),
                aliases=body.aliases,
                date_of_birth=body.date_of_birth or first.get("date_of_birth"),
                believed_under_18=any(p.get("under_18") for p in persons),
                description=body.description,
                incident_ids=sorted(docs),
                plates=plates_of(list(docs.values())),
                status=ListingStatus.LISTED,
                listing_reason=body.listing_reason,
                listed_by=principal.user_id,
                listed_at=now,
                review_at=review_at,
                expires_at=expires_at,
            )
            for link in links:
                set_offender(self.deps, uow, principal, link.incident_id, link.person_index, offender_id)
            etag = write(
                self.deps,
                uow,
                principal,
                profile,
                etag=None,
                note=f"listed ({criterion.code}: {criterion.detail})",
                operation="offender.list",
                fields=sorted(PersonOfInterest.model_fields),
                action=AuditAction.COLLECTION,
            )
        return Saved(profile, etag)

    def update(self, principal: Principal, offender_id: str, patch: ProfilePatch, if_match: str | None) -> Saved:
        """Change the profile's details (a merge patch) as a new version."""
        changes = patch.model_dump(exclude_unset=True)
        if not changes:
            raise Invalid("The patch changes nothing.", errors=[])
        with self.deps.records.unit_of_work() as uow:
            stored = self._editable(uow, principal, offender_id, if_match)
            profile = stored.record.model_copy(update=changes | {"version": stored.record.version + 1})
            profile = PersonOfInterest.model_validate(profile.model_dump())
            etag = write(
                self.deps, uow, principal, profile, etag=stored.etag, note="changed", operation="offender.change", fields=sorted(changes)
            )
        return Saved(profile, etag)

    def review(self, principal: Principal, offender_id: str, body: ReviewIn, if_match: str | None) -> Saved:
        """Record a review: upheld (the criteria are checked again against the linked
        incidents, and a new review date set) or withdrawn (unlisted, kept for history)."""
        now = self.deps.now()
        with self.deps.records.unit_of_work() as uow:
            stored = self._editable(uow, principal, offender_id, if_match)
            current = stored.record
            update: dict[str, Any] = {"version": current.version + 1, "contest_request_id": None, "contest_due_at": None}
            if body.outcome == "upheld":
                listing_criterion(linked_incidents(uow, current.organisation_id, current.incident_ids), now)
                review_at, _ = check_dates(
                    now, body.review_at, current.expires_at if current.expires_at > now else None, self.deps.retention_months
                )
                update |= {"status": ListingStatus.LISTED, "review_at": review_at}
            else:
                update |= {"status": ListingStatus.UNLISTED}
            profile = current.model_copy(update=update)
            etag = write(
                self.deps,
                uow,
                principal,
                profile,
                etag=stored.etag,
                note=f"review {body.outcome}: {body.note}",
                operation="offender.review",
                fields=["status", "review_at"],
            )
            if current.contest_request_id and self.deps.bus is not None:
                self.deps.bus.publish(
                    uow,
                    ListingReviewed(
                        principal=principal,
                        organisation_id=current.organisation_id,
                        offender_id=current.id,
                        request_id=current.contest_request_id,
                        outcome=body.outcome,
                        note=body.note,
                        incident_ids=list(current.incident_ids),
                    ),
                )
        return Saved(profile, etag)

    def revert(self, principal: Principal, offender_id: str, version: int, if_match: str | None) -> Saved:
        """Make an earlier version's details current again, as a new version."""
        with self.deps.records.unit_of_work() as uow:
            stored = self._editable(uow, principal, offender_id, if_match)
            old = uow.get(OFFENDER_VERSIONS.name, principal.organisation_id, version_id(offender_id, version))
            if old is None:
                raise NotFound(f"Person of interest {offender_id} has no version {version}.")
            restored = {k: old["snapshot"].get(k) for k in REVERTIBLE}
            profile = PersonOfInterest.model_validate(stored.record.model_dump() | restored | {"version": stored.record.version + 1})
            etag = write(
                self.deps,
                uow,
                principal,
                profile,
                etag=stored.etag,
                note=f"reverted to {version}",
                operation="offender.revert",
                fields=list(REVERTIBLE),
            )
        return Saved(profile, etag)

    @staticmethod
    def _editable(uow: UnitOfWork, principal: Principal, offender_id: str, if_match: str | None) -> Stored[PersonOfInterest]:
        stored = find_own(uow, principal, offender_id)
        check_if_match(stored, if_match)
        if stored.record.status == ListingStatus.MERGED:
            raise Conflict(
                f"Person of interest {offender_id} was merged into {stored.record.merged_into}; change that profile, or unmerge."
            )
        return stored
