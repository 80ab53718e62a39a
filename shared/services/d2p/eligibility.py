"""Eligibility: an incident against the rules of the force whose area holds its store.
Evaluated when a report is recorded, changed or gains evidence (automatic sending follows
when the retailer turned it on), shown on the incident, and explained rule by rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain import d2p_rules as rules_domain
from shared.domain.d2p import Dispatch, Outcome, dispatch_id
from shared.domain.d2p_rules import D2PSettings, Evaluation, ForceRules
from shared.domain.errors import Forbidden, Invalid
from shared.domain.incidents import total_value
from shared.domain.tenancy import Principal, Role
from shared.ports import UnitOfWork, Where
from shared.records import D2P_EVALUATIONS, D2P_RULES, D2P_SETTINGS, DISPATCHES, OUTCOMES
from shared.services.d2p.deps import D2PDeps, get_dispatch
from shared.services.d2p.dispatch import create_dispatch
from shared.services.d2p.evaluation import evaluate_in, record_evaluation, summary
from shared.services.incidents.common import read_entries
from shared.services.repository import body


@dataclass(frozen=True)
class EligibilityReport:
    """Every rule with pass/fail and a sentence, the dispatches the caller may see, and outcomes."""

    incident_id: str
    evaluation: Evaluation
    dispatches: list[Dispatch]
    outcomes: list[Outcome]


@dataclass(frozen=True)
class DispatchState:
    """Where one of the caller's reports stands with the police: the latest evaluation's
    reasons, the dispatch status (None before sending) and the force's crime reference."""

    incident_id: str
    eligible: bool | None
    reasons: list[str]
    status: str | None
    crime_reference: str | None


@dataclass
class EligibilityUseCase:
    deps: D2PDeps

    def hook(self, uow: UnitOfWork, principal: Principal, incident: dict[str, Any], change: str) -> dict[str, Any]:
        """On a report recorded, changed or given evidence: evaluate, record, and send
        automatically when the organisation has turned it on. Runs in the caller's unit of
        work; the summary goes into the caller's answer under `d2p`."""
        created = change == "created"
        ev = evaluate_in(self.deps, uow, incident, created=created)
        record_evaluation(self.deps, uow, incident, ev, change)
        owner = incident["organisation_id"]
        # A report recorded in this unit has no dispatch yet.
        stored = get_dispatch(uow, owner, dispatch_id(incident["id"], ev.force_id)) if ev.force_id and not created else None
        dispatch = stored.record if stored else None
        if dispatch is None and ev.eligible:
            doc = uow.get(D2P_SETTINGS.name, owner, "settings")
            if doc is not None and D2PSettings.model_validate(body(doc)).auto_send:
                dispatch = create_dispatch(self.deps, uow, principal, incident, ev, auto=True)
        return {"d2p": summary(ev, dispatch)}

    def view(self, uow: UnitOfWork, principal: Principal, incident: dict[str, Any]) -> dict[str, Any]:
        """On an incident read: the latest evaluation and dispatch status, as the viewer may
        see them (a force sees only its own dispatch)."""
        ev = uow.get(D2P_EVALUATIONS.name, incident["organisation_id"], incident["id"])
        if ev is None:
            return {}
        stored = get_dispatch(uow, incident["organisation_id"], dispatch_id(incident["id"], ev["force_id"])) if ev.get("force_id") else None
        dispatch = stored.record if stored else None
        if principal.is_police and (dispatch is None or dispatch.force_id != principal.organisation_id):
            return {}
        return {
            "d2p": {k: ev.get(k) for k in ("eligible", "reasons", "rules_version", "force_id")}
            | {"status": dispatch.status.value if dispatch else None, "dispatch_id": dispatch.id if dispatch else None}
        }

    def report(self, principal: Principal, incident_id: str, purpose: str | None = None) -> EligibilityReport:
        """Every rule with pass/fail and a sentence, evaluated now, with the dispatch and
        its history and the outcomes the caller may see. A retailer's read is recorded as
        the latest evaluation. Audited before it answers, as a read of the incident is:
        the sentences name the goods' value, the flags and the category, so a force states
        its purpose (422 without) and the owner's trail records the disclosure with it."""
        if principal.is_police and not purpose:
            raise Invalid(
                "Police reads of an incident's eligibility report need a stated purpose (query parameter 'purpose').",
                errors=[{"field": "purpose"}],
            )
        # Only a retailer's read writes (its evaluation becomes the latest); a force's read
        # writes nothing, so it takes no write lock.
        unit = self.deps.records.unit_of_work if principal.is_retailer else self.deps.records.read_only
        with unit() as uow:
            loc = self.deps.incidents.locate(uow, principal, incident_id)
            incident = loc.doc
            ev = evaluate_in(self.deps, uow, incident)
            dispatches = [
                Dispatch.model_validate(body(d))
                for d in uow.query(DISPATCHES.name, [loc.owner_org], [Where("incident_id", "eq", incident_id)], limit=20).items
            ]
            outcomes = [
                Outcome.model_validate(body(o))
                for o in uow.query(
                    OUTCOMES.name, [loc.owner_org], [Where("incident_id", "eq", incident_id)], order_by="recorded_at", limit=200
                ).items
            ]
            if principal.is_police:
                dispatches = [d for d in dispatches if d.force_id == principal.organisation_id]
                outcomes = [o for o in outcomes if o.force_id == principal.organisation_id]
            if principal.is_retailer:
                record_evaluation(self.deps, uow, incident, ev, "read")
        self.deps.audit.record_read(principal, read_entries(principal, loc, purpose, "d2p.eligibility.read"))
        return EligibilityReport(incident_id=incident_id, evaluation=ev, dispatches=dispatches, outcomes=outcomes)

    def preview(self, principal: Principal, draft: dict[str, Any]) -> Evaluation:
        """A report not yet made, against the rules of the force whose area holds its store:
        what a reporter sees while filling the form. Nothing is stored or audited (no
        recorded personal data is read: only the draft the caller typed and the force's
        rules). A draft has no evidence yet and links no known offender.

        `draft` holds the report's fields as IncidentIn names them (store_id, category,
        flags, goods, witnesses, prosecution_supported); Invalid without a store of the
        caller's organisation, Forbidden for a store a reporter does not report for."""
        directory = self.deps.directory
        store = directory.store(str(draft.get("store_id") or ""))
        if store is None or store.organisation_id != principal.organisation_id:
            raise Invalid("Choose one of your organisation's stores.", errors=[{"field": "store_id"}])
        if not principal.has(Role.RETAILER_INVESTIGATOR) and store.id not in principal.stores:
            raise Forbidden(f"You do not report for {store.name}.")
        incident = {
            "organisation_id": principal.organisation_id,
            "store_id": store.id,
            "category": draft.get("category") or "",
            "flags": dict(draft.get("flags") or {}),
            "witnesses": list(draft.get("witnesses") or []),
            "prosecution_supported": bool(draft.get("prosecution_supported")),
            "total_value": total_value(list(draft.get("goods") or [])),
        }
        force = directory.organisation(store.force_id)
        with self.deps.records.read_only() as uow:
            rules_doc = uow.get(D2P_RULES.name, store.force_id, "current")
        return rules_domain.evaluate(
            incident,
            [],
            force_id=store.force_id,
            force_name=force.name if force else store.force_id,
            store_force_id=store.force_id,
            rules=ForceRules.model_validate(rules_doc["rules"]) if rules_doc else None,
            rules_version=rules_doc["version"] if rules_doc else None,
            repeat_offender=False,
        )

    def states(self, principal: Principal, incidents: list[dict[str, Any]]) -> dict[str, DispatchState]:
        """Where each of the caller's own organisation's `incidents` (as a search answered
        them to this caller) stands with the police, for a listing: the latest recorded
        evaluation and the dispatch with its crime reference. Incidents of another
        organisation are left out. Nothing is audited here: the listing's search was."""
        if not principal.is_retailer:
            raise Forbidden("Only the reporting organisation lists its reports' D2P status.")
        own = [i for i in incidents if i.get("organisation_id") == principal.organisation_id]
        out: dict[str, DispatchState] = {}
        if not own:
            return out
        org = principal.organisation_id
        with self.deps.records.read_only() as uow:
            for incident in own:
                ev = uow.get(D2P_EVALUATIONS.name, org, incident["id"])
                force_id = (ev or {}).get("force_id") or incident.get("force_id")
                stored = get_dispatch(uow, org, dispatch_id(incident["id"], force_id)) if force_id else None
                dispatch = stored.record if stored else None
                out[incident["id"]] = DispatchState(
                    incident_id=incident["id"],
                    eligible=ev.get("eligible") if ev else None,
                    reasons=list(ev.get("reasons") or []) if ev else [],
                    status=dispatch.status.value if dispatch else None,
                    crime_reference=dispatch.crime_reference if dispatch else None,
                )
        return out
