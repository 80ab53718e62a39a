"""What a force sees of retailers' persons of interest for an incident it may see: the
profiles of every retailer sharing with it that match the incident's persons and vehicles,
each at the level its agreement allows (`partner_view`), never a minor's nor a listing not
in force; and, for the same persons and vehicles in another force's area, only a pointer
to that force with its contact, never the other force's records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Invalid
from shared.domain.offenders import PersonOfInterest, may_leave_organisation, partner_view
from shared.domain.subject_requests import name_key
from shared.domain.tenancy import OrgKind, Principal, ShareLevel
from shared.ports import UnitOfWork, Where
from shared.records import INCIDENTS, OFFENDERS
from shared.services.audit import ReadEntry
from shared.services.offenders.catalogue import incidents_in_area
from shared.services.offenders.deps import OffenderDeps
from shared.services.repository import load, tenant

CANDIDATES = 50  # bounds each cross-retailer lookup


@dataclass(frozen=True)
class Pointer:
    force_id: str
    force_name: str
    contact_email: str | None
    matched: str  # "plate WR21XKD" or "name and date of birth"


@dataclass(frozen=True)
class PartnerProfiles:
    profiles: list[dict[str, Any]] = field(default_factory=list)
    pointers: list[Pointer] = field(default_factory=list)


@dataclass
class Partners:
    """GET /incidents/{incident_id}/persons-of-interest, for a force."""

    deps: OffenderDeps

    def for_incident(self, principal: Principal, incident_id: str, purpose: str | None) -> PartnerProfiles:
        """Retailers' profiles matching the incident's persons (their offender ids; names and
        dates of birth only where the retailer shares in full) and vehicles, at each
        agreement's level, and pointers to other forces' areas. Audited as a disclosure in
        each retailer's trail, with the force's stated purpose."""
        if not purpose:
            raise Invalid(
                "Police reads of persons of interest need a stated purpose (query parameter 'purpose').", errors=[{"field": "purpose"}]
            )
        now = self.deps.now()
        force = principal.organisation_id
        with self.deps.records.read_only() as uow:
            loc = self.deps.incidents.locate(uow, principal, incident_id)
            sharers = self.deps.directory.sharers_with(force, ShareLevel.DESCRIPTIONS)
            levels = {org: self.deps.directory.share_level(org, force) for org in sharers}
            # A person's name is matched only where the incident's owner shares names with the force.
            names = loc.share_level == ShareLevel.FULL or loc.dispatched_to_viewer
            persons = [p for p in loc.doc.get("persons", []) if not p.get("under_18")]
            found: dict[tuple[str, str], tuple[PersonOfInterest, str]] = {}

            def keep(doc: dict[str, Any], why: str) -> None:
                p = load(PersonOfInterest, doc).record
                if may_leave_organisation(p, now):
                    found.setdefault((p.organisation_id, p.id), (p, why))

            for person in persons:
                if person.get("offender_id"):
                    doc = uow.get(OFFENDERS.name, loc.owner_org, person["offender_id"])
                    if doc is not None:
                        keep(doc, "the incident's person")
            full = [org for org, level in levels.items() if level == ShareLevel.FULL]
            keyed = [(name_key(p.get("name") or ""), p.get("date_of_birth")) for p in persons] if names else []
            keyed = [(k, dob) for k, dob in keyed if k and dob]
            for key, dob in keyed:
                if full:
                    for doc in uow.query(OFFENDERS.name, full, [Where("name_key", "eq", key)], limit=CANDIDATES).items:
                        if doc.get("date_of_birth") == dob:
                            keep(doc, "name and date of birth")
            plates = loc.doc.get("plates", [])
            for plate in plates:
                if sharers:
                    for doc in uow.query(OFFENDERS.name, sharers, [Where("plates", "contains", plate)], limit=CANDIDATES).items:
                        keep(doc, f"plate {plate}")
            pointers = self._pointers(uow, force, plates, keyed)
            profiles = [
                {
                    "matched": why,
                    **partner_view(
                        p,
                        levels.get(p.organisation_id, loc.share_level or ShareLevel.DESCRIPTIONS),
                        incident_ids=incidents_in_area(uow, p, force),
                    ),
                }
                for p, why in found.values()
            ]
        self._audit(principal, found, purpose)
        return PartnerProfiles(profiles=profiles, pointers=pointers)

    def _pointers(self, uow: UnitOfWork, force: str, plates: list[str], keyed: list[tuple[str, str]]) -> list[Pointer]:
        """Other forces in whose area a listed person or vehicle of the incident appears."""
        retailers = [o.id for o in self.deps.directory.organisations_here() if o.kind == OrgKind.RETAILER]
        if not retailers:
            return []
        now = self.deps.now()
        areas: dict[str, str] = {}
        for plate in plates:
            for doc in uow.query(INCIDENTS.name, retailers, [Where("plates", "contains", plate)], limit=CANDIDATES).items:
                if doc.get("force_id") and doc["force_id"] != force:
                    areas.setdefault(doc["force_id"], f"plate {plate}")
        for key, dob in keyed:
            for doc in uow.query(OFFENDERS.name, retailers, [Where("name_key", "eq", key)], limit=CANDIDATES).items:
                p = load(PersonOfInterest, doc).record
                if doc.get("date_of_birth") != dob or not may_leave_organisation(p, now):
                    continue
                for incident_id in p.incident_ids[:CANDIDATES]:
                    incident = uow.get(INCIDENTS.name, tenant(doc), incident_id)
                    if incident and incident.get("force_id") and incident["force_id"] != force:
                        areas.setdefault(incident["force_id"], "name and date of birth")
        out = []
        for force_id, why in sorted(areas.items()):
            org = self.deps.directory.organisation(force_id)
            if org is not None:
                out.append(Pointer(force_id, org.name, org.contact_email or org.control_room_email, why))
        return out

    def _audit(self, principal: Principal, found: dict[tuple[str, str], tuple[PersonOfInterest, str]], purpose: str) -> None:
        entries = [
            ReadEntry(
                owner_org=org,
                action=AuditAction.DISCLOSURE,
                operation="offender.partner_read",
                entity=f"offender/{offender_id}",
                purpose=purpose,
                recipient_org=principal.organisation_id,
            )
            for org, offender_id in sorted(found)
        ]
        entries.append(
            ReadEntry(
                owner_org=principal.organisation_id,
                action=AuditAction.CONSULTATION,
                operation="offender.partner_read",
                entity="offenders",
                subjects=[f"{org}/{oid}" for org, oid in sorted(found)],
                purpose=purpose,
            )
        )
        self.deps.audit.record_read(principal, entries)
