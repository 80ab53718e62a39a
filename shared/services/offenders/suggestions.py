"""Linking suggestions within one organisation: persons of its incidents who may be the same
person as a profile or as a person of another of its incidents, each with the evidence
for it. Never across organisations, never linked without an investigator confirming.

Every candidate comes from an index: the person index by folded name, the plates of
incidents and profiles, and the store's incidents within a window of time. No query
reads every incident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.offenders import ListingStatus, PersonOfInterest
from shared.domain.subject_requests import name_key
from shared.domain.tenancy import Principal
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import UnitOfWork, Where
from shared.records import INCIDENTS, OFFENDER_REJECTIONS, OFFENDERS, PERSON_INDEX
from shared.services.audit import ReadEntry
from shared.services.offenders.deps import EDITORS, OffenderDeps, set_offender, write
from shared.services.offenders.listing import linked_incidents, plates_of
from shared.services.repository import load

# A close description counts only at the same store within this window, sharing at least
# this many distinctive words (docs/offenders.md "Linking suggestions").
DESCRIPTION_WINDOW = timedelta(days=14)
DESCRIPTION_MIN_SHARED = 3
RECENT_DAYS = 30  # the suggestions list looks at incidents of the last 30 days
CANDIDATES_PER_KEY = 20  # bounds each index lookup
_WORD = re.compile(r"[a-z]{4,}")
_COMMON = {"with", "wearing", "unknown", "medium", "about", "from", "that", "this", "their", "black", "white", "dark", "light"}


@dataclass(frozen=True)
class Reason:
    """Why a link is suggested: what matched, and on which incidents."""

    kind: str  # name_and_date_of_birth | plate | description
    fields: list[str]
    incident_ids: list[str]


@dataclass(frozen=True)
class Suggestion:
    id: str
    incident_id: str
    person_index: int
    offender_id: str  # the person it may be: a profile, or a person of another incident
    profile: bool  # whether `offender_id` is a listed person of interest
    reasons: list[Reason] = field(default_factory=list)


@dataclass(frozen=True)
class SuggestionPage:
    items: list[Suggestion]
    continuation: str | None


def suggestion_id(incident_id: str, person_index: int, offender_id: str) -> str:
    return f"{incident_id}.{person_index}.{offender_id}"


def parse_suggestion_id(sid: str) -> tuple[str, int, str]:
    incident_id, _, rest = sid.partition(".")
    index, _, offender_id = rest.partition(".")
    if not (incident_id and index.isdigit() and offender_id) or len(sid) > 160:
        raise NotFound(f"Suggestion {sid} was not found.")
    return incident_id, int(index), offender_id


def description_words(person: dict[str, Any]) -> set[str]:
    """The distinctive words of a person's description (hair, clothing, marks)."""
    d = person.get("description") or {}
    text = " ".join(str(d.get(k) or "") for k in ("hair", "clothing", "distinguishing_marks")).lower()
    return {w for w in _WORD.findall(text) if w not in _COMMON}


class _Collector:
    def __init__(self) -> None:
        self.by_target: dict[str, list[Reason]] = {}

    def add(self, target: str, reason: Reason) -> None:
        reasons = self.by_target.setdefault(target, [])
        for i, r in enumerate(reasons):
            if r.kind == reason.kind:
                reasons[i] = Reason(
                    r.kind, sorted(set(r.fields) | set(reason.fields)), sorted(set(r.incident_ids) | set(reason.incident_ids))
                )
                return
        reasons.append(reason)


def _for_person(uow: UnitOfWork, org: str, incident: dict[str, Any], index: int) -> dict[str, list[Reason]]:
    person = incident["persons"][index]
    found = _Collector()
    own_id = incident["id"]
    key = name_key(person.get("name") or "")
    dob = person.get("date_of_birth")
    if key and dob:
        for p in uow.query(OFFENDERS.name, [org], [Where("name_key", "eq", key)], limit=CANDIDATES_PER_KEY).items:
            if p.get("date_of_birth") == dob:
                found.add(p["id"], Reason("name_and_date_of_birth", ["name", "date_of_birth"], [own_id]))
        for entry in uow.query(PERSON_INDEX.name, [org], [Where("name_key", "eq", key)], limit=CANDIDATES_PER_KEY).items:
            if entry["incident_id"] == own_id or entry.get("date_of_birth") != dob:
                continue
            other = uow.get(INCIDENTS.name, org, entry["incident_id"])
            if other is not None and entry["person"] < len(other["persons"]):
                target = other["persons"][entry["person"]].get("offender_id")
                if target:
                    found.add(target, Reason("name_and_date_of_birth", ["name", "date_of_birth"], sorted([own_id, other["id"]])))
    for plate in incident.get("plates", []):
        for p in uow.query(OFFENDERS.name, [org], [Where("plates", "contains", plate)], limit=CANDIDATES_PER_KEY).items:
            found.add(p["id"], Reason("plate", [f"plate {plate}"], [own_id]))
        if len(incident["persons"]) == 1:  # a vehicle names a person only when one was seen
            for other in uow.query(INCIDENTS.name, [org], [Where("plates", "contains", plate)], limit=CANDIDATES_PER_KEY).items:
                if other["id"] != own_id and len(other.get("persons", [])) == 1 and other["persons"][0].get("offender_id"):
                    found.add(other["persons"][0]["offender_id"], Reason("plate", [f"plate {plate}"], sorted([own_id, other["id"]])))
    words = description_words(person)
    if len(words) >= DESCRIPTION_MIN_SHARED:
        at = from_iso(incident["occurred_at"])
        where = [
            Where("store_id", "eq", incident["store_id"]),
            Where("occurred_at", "ge", to_iso(at - DESCRIPTION_WINDOW)),
            Where("occurred_at", "le", to_iso(at + DESCRIPTION_WINDOW)),
        ]
        for other in uow.query(INCIDENTS.name, [org], where, order_by="occurred_at", limit=CANDIDATES_PER_KEY).items:
            if other["id"] == own_id:
                continue
            for q in other.get("persons", []):
                shared = sorted(words & description_words(q))
                if len(shared) >= DESCRIPTION_MIN_SHARED and q.get("offender_id"):
                    found.add(
                        q["offender_id"], Reason("description", shared + ["same store", "within 14 days"], sorted([own_id, other["id"]]))
                    )
    found.by_target.pop(person.get("offender_id") or "", None)
    return found.by_target


def suggestions_for(uow: UnitOfWork, org: str, incident: dict[str, Any]) -> list[Suggestion]:
    """Suggestions for each person of one incident, rejected ones left out."""
    out: list[Suggestion] = []
    for index in range(len(incident.get("persons", []))):
        for target, reasons in sorted(_for_person(uow, org, incident, index).items()):
            sid = suggestion_id(incident["id"], index, target)
            if uow.get(OFFENDER_REJECTIONS.name, org, sid) is not None:
                continue
            profile = uow.get(OFFENDERS.name, org, target)
            if profile is not None and profile["status"] == ListingStatus.MERGED.value:
                continue
            out.append(Suggestion(sid, incident["id"], index, target, profile is not None, reasons))
    return out


@dataclass
class Suggestions:
    """GET /offenders/suggestions, and confirming or rejecting one."""

    deps: OffenderDeps

    def list(
        self, principal: Principal, *, incident_id: str | None = None, limit: int = 20, continuation: str | None = None
    ) -> SuggestionPage:
        """Suggestions for one incident, or for the organisation's incidents of the last 30
        days (newest first, `limit` incidents a page). Audited: it reads persons' details."""
        if not principal.has(*EDITORS):
            return SuggestionPage([], None)
        org = principal.organisation_id
        with self.deps.records.read_only() as uow:
            if incident_id is not None:
                incidents = [self.deps.incidents.locate(uow, principal, incident_id).doc]
                next_token = None
            else:
                since = to_iso(self.deps.now() - timedelta(days=RECENT_DAYS))
                page = uow.query(
                    INCIDENTS.name,
                    [org],
                    [Where("occurred_at", "ge", since)],
                    order_by="occurred_at",
                    descending=True,
                    limit=limit,
                    continuation=continuation,
                )
                incidents, next_token = page.items, page.continuation
            items = [s for doc in incidents for s in suggestions_for(uow, org, doc)]
        if items:
            subjects = sorted({i for s in items for r in s.reasons for i in r.incident_ids})
            self.deps.audit.record_read(
                principal,
                [
                    ReadEntry(
                        owner_org=org,
                        action=AuditAction.COMBINATION,
                        operation="offender.suggestions",
                        entity="offenders/suggestions",
                        subjects=subjects,
                    )
                ],
            )
        return SuggestionPage(items, next_token)

    def confirm(self, principal: Principal, sid: str) -> Suggestion:
        """Link the incident's person to the suggested person: its offender id is set through
        the incidents service (a new incident version, audited); a profile gains the incident."""
        incident_id, index, target = parse_suggestion_id(sid)
        org = principal.organisation_id
        with self.deps.records.unit_of_work() as uow:
            suggestion = self._current(uow, principal, incident_id, index, target, sid)
            source = uow.get(INCIDENTS.name, org, incident_id)["persons"][index].get("offender_id")  # type: ignore[index]
            if source and uow.get(OFFENDERS.name, org, source) is not None and suggestion.profile:
                raise Conflict(f"Both are persons of interest ({source} and {target}): merge the profiles instead.")
            set_offender(self.deps, uow, principal, incident_id, index, target)
            if suggestion.profile:
                link_incident(self.deps, uow, principal, target, incident_id)
            self.deps.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.COMBINATION,
                operation="offender.suggestion.confirm",
                entity=f"offender/{target}",
                subjects=[incident_id],
            )
        return suggestion

    def reject(self, principal: Principal, sid: str) -> Suggestion:
        """Remember that the investigator judged them different people: never suggested again."""
        incident_id, index, target = parse_suggestion_id(sid)
        org = principal.organisation_id
        with self.deps.records.unit_of_work() as uow:
            suggestion = self._current(uow, principal, incident_id, index, target, sid)
            uow.upsert(
                OFFENDER_REJECTIONS.name,
                org,
                {"id": sid, "incident_id": incident_id, "offender_id": target, "by": principal.user_id, "at": to_iso(self.deps.now())},
            )
            self.deps.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="offender.suggestion.reject",
                entity=f"offender/{target}",
                subjects=[incident_id],
            )
        return suggestion

    def _current(self, uow: UnitOfWork, principal: Principal, incident_id: str, index: int, target: str, sid: str) -> Suggestion:
        if not principal.has(*EDITORS):
            raise NotFound(f"Suggestion {sid} was not found.")
        doc = self.deps.incidents.locate(uow, principal, incident_id).doc
        for s in suggestions_for(uow, principal.organisation_id, doc):
            if s.id == sid:
                return s
        raise NotFound(f"Suggestion {sid} was not found (already confirmed, rejected, or no longer suggested).")


def link_incident(deps: OffenderDeps, uow: UnitOfWork, principal: Principal, offender_id: str, incident_id: str) -> None:
    """Add an incident to a profile (its plates too), as a new version of the profile."""
    org = principal.organisation_id
    doc = uow.get(OFFENDERS.name, org, offender_id)
    if doc is None:
        raise Invalid(f"Person of interest {offender_id} was not found.")
    stored = load(PersonOfInterest, doc)
    current = stored.record
    if incident_id in current.incident_ids:
        return
    incident_ids = sorted({*current.incident_ids, incident_id})
    profile = current.model_copy(
        update={"incident_ids": incident_ids, "plates": plates_of(linked_incidents(uow, org, incident_ids)), "version": current.version + 1}
    )
    write(
        deps,
        uow,
        principal,
        profile,
        etag=stored.etag,
        note=f"linked incident {incident_id}",
        operation="offender.link",
        fields=["incident_ids", "plates"],
    )
