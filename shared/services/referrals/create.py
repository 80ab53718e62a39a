"""A force or retailer refers a series to a national unit: every incident one the referrer
may see, with a crime reference, spanning at least two forces' areas, every item graded
3x5x2; sanitised by handling code and sharing level; stored in the unit's partition;
audited as a disclosure by the referrer (and by each incident's owner, when the referrer
passes on another organisation's incident) and a collection by the unit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.offenders import may_leave_organisation, partner_view
from shared.domain.plates import normalise_plate
from shared.domain.referrals import (
    MIN_FORCE_AREAS,
    EvidenceRef,
    ForcePointer,
    Grading,
    GradingIn,
    IncidentEntry,
    PersonEntry,
    Referral,
    ReferralIn,
    VehicleEntry,
    WithheldItem,
    grading_problems,
    refuse_if,
)
from shared.domain.tenancy import OrgKind, Principal, ShareLevel
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import DISPATCHES, EVIDENCE, REFERRALS
from shared.services import idempotency
from shared.services.incidents import Located
from shared.services.offenders.catalogue import profiles_by_ids
from shared.services.referrals.deps import ReferralDeps, find
from shared.services.repository import dump

OPERATION = "referral.create"


@dataclass(frozen=True)
class Made:
    referral: Referral
    created: bool  # False when an Idempotency-Key retry answered the first request's


@dataclass
class _Series:
    """What the checks found, gathered before anything is written."""

    problems: list[dict[str, Any]] = field(default_factory=list)
    located: dict[str, Located] = field(default_factory=dict)  # incident id -> as the referrer sees it
    # The forces' areas that would reach the unit: counted even for an item refused for its
    # grading, so a referrer is told only what is really wrong.
    areas: set[str] = field(default_factory=set)
    items: dict[str, Any] = field(
        default_factory=lambda: {"incidents": [], "persons": [], "vehicles": [], "other_forces": [], "withheld": []}
    )

    def grading(self, where: str, given: GradingIn | None) -> Grading | None:
        found = grading_problems(where, given)
        self.problems.extend(found)
        return Grading.of(given) if given is not None and not found else None


@dataclass
class CreateReferral:
    deps: ReferralDeps

    def create(self, principal: Principal, body: ReferralIn, idempotency_key: str | None) -> Made:
        """Refer a series to a national unit.

        Refused (422, nothing stored) naming every problem at once: an incident the referrer
        cannot see or without a crime reference, an item without a complete 3x5x2 grading
        (which item, which part), a person who may not leave their organisation (a minor,
        or a listing not in force), a vehicle on none of the incidents, fewer than two
        forces' areas reaching the unit. A retry with the same Idempotency-Key answers the
        referral it made."""
        deps = self.deps
        key = idempotency.check_key(idempotency_key)
        request_fingerprint = idempotency.fingerprint(OPERATION, body.model_dump(mode="json"))
        now = deps.now()
        with deps.records.unit_of_work() as uow:
            remembered = idempotency.replay(uow, principal, OPERATION, key, request_fingerprint, now=now)
            if remembered is not None:
                return Made(find(deps, uow, principal, remembered.resource.rpartition("/")[2]).record, created=False)
            unit = deps.directory.organisation(body.unit_id)
            if unit is None or unit.kind != OrgKind.NATIONAL_UNIT or unit.home_region != deps.region:
                raise Invalid(
                    f"{body.unit_id} is not a national unit served here.", errors=[{"field": "unit_id", "message": "not a national unit"}]
                )
            series = _Series()
            self._incidents(uow, principal, body, series)
            self._persons(uow, principal, body, series, now)
            self._vehicles(body, series)
            self._pointers(body, series)
            areas = sorted(series.areas)
            if len(areas) < MIN_FORCE_AREAS:
                series.problems.append(
                    {
                        "field": "incidents",
                        "message": "A referral is a series across at least two forces' areas; what reaches the unit spans "
                        + (f"only {areas[0]}'s." if areas else "none.")
                        + " Add incidents from another force's area, or another force's crime reference (other_forces).",
                    }
                )
            refuse_if(series.problems)
            referral = Referral.open(
                unit_id=unit.id,
                referrer_org=principal.organisation_id,
                by=principal.user_id,
                now=now,
                title=body.title,
                summary=body.summary,
                force_ids=areas,
                **series.items,
            )
            uow.insert(REFERRALS.name, unit.id, dump(referral))
            self._audit(uow, principal, referral, series)
            try:
                idempotency.remember(uow, principal, OPERATION, key, request_fingerprint, f"referral/{unit.id}/{referral.id}", now=now)
            except Conflict:
                raise Conflict("A referral with this Idempotency-Key is being made; retry to see its answer.") from None
        return Made(referral, created=True)

    # ---- the checks, each adding what it finds to the series -----------------------------------

    def _incidents(self, uow: UnitOfWork, principal: Principal, body: ReferralIn, series: _Series) -> None:
        seen: set[str] = set()
        for i, item in enumerate(body.incidents):
            incident_id = item.incident_id or self._by_crime_reference(uow, principal, i, item.crime_reference or "", series)
            if incident_id is None:
                continue
            if incident_id in seen:
                series.problems.append({"field": f"incidents[{i}]", "message": f"incidents[{i}] repeats {incident_id}."})
                continue
            seen.add(incident_id)
            try:
                loc = self.deps.incidents.locate(uow, principal, incident_id)
            except NotFound:
                series.problems.append(
                    {"field": f"incidents[{i}].incident_id", "message": f"incidents[{i}]: incident {incident_id} is not one you can see."}
                )
                continue
            doc = loc.doc
            where = f"incidents[{i}] ({doc.get('reference') or incident_id})"
            grading = series.grading(where, item.grading)
            if grading is None or not grading.withheld:
                series.areas.add(doc.get("force_id") or "")
            crime_references = sorted(
                {
                    d["crime_reference"]
                    for d in iterate_all(uow, DISPATCHES.name, [loc.owner_org], [Where("incident_id", "eq", incident_id)])
                    if d.get("crime_reference")
                }
            )
            if not crime_references:
                series.problems.append(
                    {
                        "field": f"incidents[{i}].incident_id",
                        "message": f"{where} has no crime reference: the force must acknowledge its report with one before it is referred.",
                    }
                )
            if grading is None or not crime_references:
                continue
            series.located[incident_id] = loc
            if grading.withheld:
                series.items["withheld"].append(WithheldItem(kind="incident", ref=incident_id, grading=grading))
                continue
            series.items["incidents"].append(
                IncidentEntry(
                    incident_id=incident_id,
                    owner_org=loc.owner_org,
                    reference=doc.get("reference") or "",
                    force_id=doc.get("force_id") or "",
                    store_id=doc.get("store_id") or "",
                    category=doc.get("category") or "",
                    occurred_at=str(doc.get("occurred_at") or ""),
                    narrative=doc.get("narrative"),
                    crime_references=crime_references,
                    evidence=_evidence(uow, loc.owner_org, incident_id),
                    grading=grading,
                )
            )

    def _by_crime_reference(self, uow: UnitOfWork, principal: Principal, i: int, crime_reference: str, series: _Series) -> str | None:
        """The one incident whose report a force acknowledged with `crime_reference`, among
        the dispatches the referrer holds (a retailer's own; a force's to itself)."""
        if principal.is_police:
            from shared.services.d2p.deps import retailers_in_area

            owners = retailers_in_area(uow, principal.organisation_id)
            where = [Where("crime_reference", "eq", crime_reference), Where("force_id", "eq", principal.organisation_id)]
        else:
            owners, where = [principal.organisation_id], [Where("crime_reference", "eq", crime_reference)]
        found = sorted({d["incident_id"] for d in iterate_all(uow, DISPATCHES.name, owners, where)}) if owners else []
        if len(found) == 1:
            return found[0]
        series.problems.append(
            {
                "field": f"incidents[{i}].crime_reference",
                "message": f"incidents[{i}]: crime reference {crime_reference} "
                + ("names no report you hold." if not found else f"names {len(found)} reports: name each by incident_id."),
            }
        )
        return None

    def _level(self, principal: Principal, owner: str) -> ShareLevel:
        """How much of the owner's personal data the referrer may pass on: all of its own;
        another organisation's at the level that organisation shares with the referrer (a
        dispatch let a force read names for its own investigation, not to pass them on)."""
        if owner == principal.organisation_id:
            return ShareLevel.FULL
        return self.deps.directory.share_level(owner, principal.organisation_id)

    def _persons(self, uow: UnitOfWork, principal: Principal, body: ReferralIn, series: _Series, now: datetime) -> None:
        reaching = {e.incident_id for e in series.items["incidents"]}
        seen: set[str] = set()
        for i, item in enumerate(body.persons):
            where = f"persons[{i}] ({item.offender_id})"
            grading = series.grading(where, item.grading)
            if item.offender_id in seen:
                series.problems.append({"field": f"persons[{i}].offender_id", "message": f"persons[{i}] repeats {item.offender_id}."})
                continue
            seen.add(item.offender_id)
            on = [iid for iid, loc in series.located.items() if item.offender_id in (loc.doc.get("offender_ids") or [])]
            if not on:
                series.problems.append(
                    {"field": f"persons[{i}].offender_id", "message": f"{where} is named in none of the referral's incidents."}
                )
                continue
            owner = series.located[on[0]].owner_org
            profile = profiles_by_ids(uow, owner, [item.offender_id]).get(item.offender_id)
            # Only a listed person of interest leaves their organisation, and never a minor:
            # the referrer is told that much, not which (the profile may be another's).
            if profile is None or not may_leave_organisation(profile, now):
                series.problems.append(
                    {
                        "field": f"persons[{i}].offender_id",
                        "message": f"{where} may not leave {owner}: only a person of interest listed and in force "
                        "(before its review date and expiry), and never a minor, is referred.",
                    }
                )
                continue
            level = self._level(principal, owner)
            if level.rank < ShareLevel.DESCRIPTIONS.rank:
                series.problems.append(
                    {"field": f"persons[{i}].offender_id", "message": f"{where}: {owner} shares no descriptions with you to pass on."}
                )
                continue
            if grading is None:
                continue
            if grading.withheld:
                series.items["withheld"].append(WithheldItem(kind="person", ref=item.offender_id, grading=grading))
                continue
            seen_on = [iid for iid in on if iid in reaching]
            if not seen_on:
                # Known only from withheld incidents: passing them would pass those on.
                series.items["withheld"].append(WithheldItem(kind="person", ref=item.offender_id, grading=grading))
                continue
            view = partner_view(profile, level)
            series.items["persons"].append(
                PersonEntry(
                    offender_id=item.offender_id,
                    owner_org=owner,
                    name=view.get("name"),
                    aliases=view.get("aliases") or [],
                    date_of_birth=view.get("date_of_birth"),
                    description=view.get("description") or None,
                    incident_ids=seen_on,
                    grading=grading,
                )
            )

    def _vehicles(self, body: ReferralIn, series: _Series) -> None:
        reaching = {e.incident_id for e in series.items["incidents"]}
        seen: set[str] = set()
        for i, item in enumerate(body.vehicles):
            try:
                plate = normalise_plate(item.plate)
            except ValueError as exc:
                series.problems.append({"field": f"vehicles[{i}].plate", "message": f"vehicles[{i}]: {exc}"})
                continue
            where = f"vehicles[{i}] ({plate})"
            grading = series.grading(where, item.grading)
            if plate in seen:
                series.problems.append({"field": f"vehicles[{i}].plate", "message": f"vehicles[{i}] repeats {plate}."})
                continue
            seen.add(plate)
            on = [iid for iid, loc in series.located.items() if plate in (loc.doc.get("plates") or [])]
            if not on:
                series.problems.append(
                    {"field": f"vehicles[{i}].plate", "message": f"{where} is recorded on none of the referral's incidents."}
                )
                continue
            if grading is None:
                continue
            seen_on = [iid for iid in on if iid in reaching]
            if grading.withheld or not seen_on:
                series.items["withheld"].append(WithheldItem(kind="vehicle", ref=plate, grading=grading))
                continue
            note = (item.note or "").strip() or None
            series.items["vehicles"].append(VehicleEntry(plate=plate, note=note, incident_ids=seen_on, grading=grading))

    def _pointers(self, body: ReferralIn, series: _Series) -> None:
        for i, item in enumerate(body.other_forces):
            where = f"other_forces[{i}] ({item.force_id} {item.crime_reference})"
            grading = series.grading(where, item.grading)
            force = self.deps.directory.organisation(item.force_id)
            if force is None or force.kind != OrgKind.POLICE_FORCE:
                series.problems.append(
                    {"field": f"other_forces[{i}].force_id", "message": f"{where}: {item.force_id} is not a police force."}
                )
                continue
            if grading is None or not grading.withheld:
                series.areas.add(force.id)
            if grading is None:
                continue
            if grading.withheld:
                series.items["withheld"].append(WithheldItem(kind="force", ref=f"{item.force_id}:{item.crime_reference}", grading=grading))
                continue
            series.items["other_forces"].append(
                ForcePointer(force_id=item.force_id, crime_reference=item.crime_reference.strip(), grading=grading)
            )

    def _audit(self, uow: UnitOfWork, principal: Principal, referral: Referral, series: _Series) -> None:
        entity = f"referral/{referral.id}"
        sent = [e.incident_id for e in referral.incidents]
        # The referrer disclosed the series to the unit; the unit collected it.
        self.deps.audit.record(
            uow,
            owner_org=principal.organisation_id,
            principal=principal,
            action=AuditAction.DISCLOSURE,
            operation=OPERATION,
            entity=entity,
            fields=["incidents", "persons", "vehicles", "other_forces"],
            subjects=sent,
            recipient_org=referral.unit_id,
        )
        self.deps.audit.record(
            uow,
            owner_org=referral.unit_id,
            principal=principal,
            action=AuditAction.COLLECTION,
            operation=OPERATION,
            entity=entity,
            fields=["incidents", "persons", "vehicles", "other_forces"],
            subjects=sent,
        )
        # Another organisation's incidents passed on: its own trail says where they went.
        by_owner: dict[str, list[str]] = {}
        for e in referral.incidents:
            if e.owner_org != principal.organisation_id:
                by_owner.setdefault(e.owner_org, []).append(e.incident_id)
        for owner, ids in sorted(by_owner.items()):
            self.deps.audit.record(
                uow,
                owner_org=owner,
                principal=principal,
                action=AuditAction.DISCLOSURE,
                operation=OPERATION,
                entity=entity,
                fields=["incidents", "persons"],
                subjects=ids,
                recipient_org=referral.unit_id,
            )


def _evidence(uow: UnitOfWork, owner: str, incident_id: str) -> list[EvidenceRef]:
    """The incident's exhibits by id, digest and label (never the files), oldest first;
    items still being written are not evidence yet."""
    items = [d for d in iterate_all(uow, EVIDENCE.name, [owner], [Where("incident_id", "eq", incident_id)]) if not d.get("pending_since")]
    items.sort(key=lambda d: (str(d.get("created_at") or ""), d["id"]))
    return [
        EvidenceRef(
            evidence_id=d["id"],
            exhibit_label=d.get("exhibit_label"),
            sha256=d["sha256"],
            size=int(d["size"]),
            kind=str(d.get("kind") or ""),
        )
        for d in items
    ]
