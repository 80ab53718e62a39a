"""Eligibility: an incident against the rules of the force whose area holds its store.
Evaluated when a report is recorded, changed or gains evidence (automatic sending follows
when the retailer turned it on), shown on the incident, and explained rule by rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.d2p import D2PSettings, Dispatch, Evaluation, Outcome, dispatch_id
from shared.domain.errors import Invalid
from shared.domain.tenancy import Principal
from shared.ports import UnitOfWork, Where
from shared.records import D2P_EVALUATIONS, D2P_SETTINGS, DISPATCHES, OUTCOMES
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


@dataclass
class EligibilityUseCase:
    deps: D2PDeps

    def hook(self, uow: UnitOfWork, principal: Principal, incident: dict[str, Any], change: str) -> dict[str, Any]:
        """On a report recorded, changed or given evidence: evaluate, record, and send
        automatically when the organisation has turned it on. Runs in the caller's unit of
        work; the summary goes into the caller's answer under `d2p`."""
        ev = evaluate_in(self.deps, uow, incident)
        record_evaluation(self.deps, uow, incident, ev, change)
        owner = incident["organisation_id"]
        stored = get_dispatch(uow, owner, dispatch_id(incident["id"], ev.force_id)) if ev.force_id else None
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
