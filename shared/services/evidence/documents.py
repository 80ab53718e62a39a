"""Court documents of one incident, as PDF: what the court package carries, and an MG11 or
the Impact Statement for Business on their own (the console prints them, the retailer
completes the impact statement). Everything a document shows is gathered here, names
resolved through the directory and times in the region's local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.court import (
    ROLE_WORDS,
    CaseFacts,
    CourtDocument,
    Exhibit,
    case_summary,
    impact_statement,
    local_words,
    mg11,
    mg11_statements,
    zone_of,
)
from shared.domain.court_package import label_path
from shared.domain.custody import public_custody
from shared.domain.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed
from shared.domain.evidence import EvidenceItem
from shared.domain.exhibits import exhibit_order
from shared.domain.http_fields import safe_filename
from shared.domain.incidents import view_for_partner
from shared.domain.statements import signature_holds
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import Where, iterate_all
from shared.records import DISPATCHES, OUTCOMES
from shared.services.evidence import custody
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.exhibits import label_unlabelled
from shared.services.evidence.lookup import audit_access, items_of_incident, locate_incident, need_purpose
from shared.services.incidents import Located
from shared.services.repository import body

SUMMARY_NAME = "case-summary.pdf"
IMPACT_NAME = "impact-statement-for-business.pdf"


@dataclass(frozen=True)
class Gathered:
    """An incident as its court documents see it, read in one unit of work."""

    loc: Located
    incident: dict[str, Any]
    items: list[EvidenceItem]
    chains: dict[str, list[dict[str, Any]]]
    facts: CaseFacts


@dataclass(frozen=True)
class Pdf:
    """One rendered document: its file name and bytes."""

    filename: str
    body: bytes


def gather(deps: EvidenceDeps, principal: Principal, incident_id: str) -> Gathered:
    """What the documents show, read in one unit: items (labelling any received before
    labels existed), their custody, and the names and references, as `principal` may see
    them (a partner's view of the incident; a force's own dispatch and outcomes)."""
    try:
        return _gather(deps, principal, incident_id)
    except PreconditionFailed:
        # Another package labelled the same old items first; its labels stand, read them.
        return _gather(deps, principal, incident_id)


def _gather(deps: EvidenceDeps, principal: Principal, incident_id: str) -> Gathered:
    with deps.records.unit_of_work() as uow:
        loc = locate_incident(deps, uow, principal, incident_id)
        items = items_of_incident(uow, loc.owner_org, incident_id)
        items = sorted(label_unlabelled(uow, loc.owner_org, body(loc.doc), items), key=exhibit_order)
        chains = {i.id: [public_custody(e) for e in custody.events(uow, loc.owner_org, i.id)] for i in items}
        incident = body(loc.doc)
        if loc.share_level is not None:
            incident = view_for_partner(incident, loc.share_level, dispatched_to_viewer=loc.dispatched_to_viewer)
        where = [Where("incident_id", "eq", incident_id)]
        dispatches = list(iterate_all(uow, DISPATCHES.name, [loc.owner_org], where))
        outcomes = sorted(iterate_all(uow, OUTCOMES.name, [loc.owner_org], where), key=lambda o: o.get("recorded_at") or "")
    if principal.is_police:
        # A force sees its own dealings with the case, not another force's.
        dispatches = [d for d in dispatches if d.get("force_id") == principal.organisation_id]
        outcomes = [o for o in outcomes if o.get("force_id") == principal.organisation_id]
    return Gathered(loc, incident, items, chains, case_facts(deps, incident, items, chains, dispatches, outcomes))


def case_facts(
    deps: EvidenceDeps,
    incident: dict[str, Any],
    items: list[EvidenceItem],
    chains: dict[str, list[dict[str, Any]]],
    dispatches: list[dict[str, Any]],
    outcomes: list[dict[str, Any]],
) -> CaseFacts:
    """The incident with every id the documents would show resolved to a name or label."""
    directory = deps.directory
    store = directory.store(incident.get("store_id") or "")
    org_ids = {incident.get("organisation_id"), incident.get("force_id")}
    org_ids |= {e.get("actor_org") for chain in chains.values() for e in chain}
    org_ids |= {d.get("force_id") for d in dispatches}
    org_names = {}
    for org_id in sorted(o for o in org_ids if o):
        org = directory.organisation(org_id)
        org_names[org_id] = org.name if org else org_id
    labels = {i.id: i.exhibit_label for i in items}
    exhibits = tuple(
        Exhibit(
            label=i.exhibit_label or i.id,
            kind=i.kind.value,
            filename=i.filename,
            size=i.size,
            sha256=i.sha256,
            received_at=to_iso(i.created_at),
            path=f"evidence/{label_path(i.exhibit_label or i.id)} {safe_filename(i.filename)}",
            derived_from_label=labels.get(i.derived_from or "") or ("an item not in this package" if i.derived_from else None),
            custody=tuple(chains[i.id]),
        )
        for i in items
    )
    return CaseFacts(
        incident=incident,
        retailer_name=org_names.get(incident.get("organisation_id") or "", ""),
        store=store.model_dump() if store else {"name": incident.get("store_id")},
        force_name=org_names.get(incident.get("force_id") or "", ""),
        zone=zone_of(deps.region),
        crime_references=tuple(sorted({d["crime_reference"] for d in dispatches if d.get("crime_reference")})),
        exhibits=exhibits,
        dispatches=tuple(dispatches),
        outcomes=tuple(outcomes),
        org_names=org_names,
    )


def who_asked(principal: Principal, facts: CaseFacts) -> str:
    """The person a document was prepared for, by role and organisation name."""
    org = facts.org_names.get(principal.organisation_id) or principal.organisation_id
    return f"{ROLE_WORDS.get(principal.primary_role, 'user')} of {org}"


def mg11_filename(number: int, witness: dict[str, Any]) -> str:
    return f"MG11-{number:02d} {safe_filename(str(witness['name']), fallback='witness')}.pdf"


def package_documents(deps: EvidenceDeps, facts: CaseFacts, now: datetime, generated_by: str) -> list[tuple[str, bytes, str]]:
    """(path, PDF, kind) of each document a court package carries: the summary, the Impact
    Statement for Business, and an MG11 for each signed statement whose witness is named
    in this copy."""

    def pdf(doc: CourtDocument) -> bytes:
        return deps.documents.render(doc, created_at=now)

    out = [
        (
            SUMMARY_NAME,
            pdf(case_summary(facts, generated_at=local_words(to_iso(now), facts.zone), generated_by=generated_by)),
            "case-summary",
        ),
        (IMPACT_NAME, pdf(impact_statement(facts)), "impact-statement"),
    ]
    for n, witness in enumerate(mg11_statements(facts.incident), start=1):
        out.append((f"statements/{mg11_filename(n, witness)}", pdf(mg11(witness, facts)), "mg11"))
    return out


class CourtDocuments:
    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def mg11(self, principal: Principal, incident_id: str, number: int, purpose: str | None) -> Pdf:
        """Statement `number` (1 for the incident's first) as an MG11. 422 when it was not
        made under the section 9 declaration; 403 when witness names are not shared with
        the reader; 409 when its words no longer match its signature record."""
        need_purpose(principal, purpose)
        got = gather(self.deps, principal, incident_id)
        witnesses = got.incident.get("witnesses", [])
        if not 1 <= number <= len(witnesses):
            raise NotFound(f"Incident {incident_id} has no statement {number}; it has {len(witnesses)}.")
        witness = witnesses[number - 1]
        if not witness.get("declaration_accepted") or not witness.get("signed_at"):
            raise Invalid(
                f"Statement {number} was not made under the section 9 Criminal Justice Act 1967 declaration, so it cannot be "
                "an MG11. Record the witness's statement again with mg11 and declaration_accepted set.",
                errors=[{"field": "declaration_accepted"}],
            )
        if not witness.get("name"):
            raise Forbidden("Witness names are not shared with your organisation, so this statement cannot be printed as an MG11.")
        if not signature_holds(witness):
            raise Conflict(f"Statement {number} no longer reads as it did when signed; it cannot be printed as signed.")
        pdf = self.deps.documents.render(mg11(witness, got.facts), created_at=self.deps.clock.now())
        self._audit(principal, got, "evidence.mg11", purpose)
        return Pdf(filename=f"{got.facts.reference} {mg11_filename(number, witness)}", body=pdf)

    def impact_statement(self, principal: Principal, incident_id: str, purpose: str | None) -> Pdf:
        """The Impact Statement for Business, pre-filled from the incident."""
        need_purpose(principal, purpose)
        got = gather(self.deps, principal, incident_id)
        pdf = self.deps.documents.render(impact_statement(got.facts), created_at=self.deps.clock.now())
        self._audit(principal, got, "evidence.impact_statement", purpose)
        return Pdf(filename=f"{got.facts.reference} {IMPACT_NAME}", body=pdf)

    def _audit(self, principal: Principal, got: Gathered, operation: str, purpose: str | None) -> None:
        with self.deps.records.unit_of_work() as uow:
            audit_access(self.deps, uow, principal, got.loc.owner_org, operation, f"incident/{got.incident['id']}", purpose)
