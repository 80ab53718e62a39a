"""Evaluating an incident against its force's rules, for every use case that needs it
(the incident hooks, the eligibility read, sending)."""

from __future__ import annotations

from typing import Any

from shared.domain import d2p_rules as rules_domain
from shared.domain.d2p import Dispatch
from shared.domain.d2p_rules import Evaluation, ForceRules
from shared.domain.evidence import available
from shared.ports import UnitOfWork, Where
from shared.records import D2P_EVALUATIONS, EVIDENCE, INCIDENTS
from shared.services.d2p.deps import D2PDeps


def evaluate_in(deps: D2PDeps, uow: UnitOfWork, incident: dict[str, Any], *, created: bool = False) -> Evaluation:
    """Evaluate the incident against the rules of the force whose area holds its store
    (`created`: the incident is recorded in this unit, so it has no evidence to look up)."""
    owner = incident["organisation_id"]
    store = deps.directory.store(incident["store_id"])
    force_id = incident.get("force_id") or (store.force_id if store else "")
    force = deps.directory.organisation(force_id)
    rules_doc = deps.rules_cache.current(uow, force_id) if force_id else None
    rules = ForceRules.model_validate(rules_doc["rules"]) if rules_doc else None
    found = [] if created else uow.query(EVIDENCE.name, [owner], [Where("incident_id", "eq", incident["id"])], limit=1000).items
    evidence = available(found)
    repeat = any(
        uow.count(INCIDENTS.name, [owner], [Where("offender_ids", "contains", oid)]) > 1 for oid in incident.get("offender_ids", [])
    )
    return rules_domain.evaluate(
        incident,
        evidence,
        force_id=force_id,
        force_name=force.name if force else force_id,
        store_force_id=store.force_id if store else None,
        rules=rules,
        rules_version=rules_doc["version"] if rules_doc else None,
        repeat_offender=repeat,
    )


def record_evaluation(deps: D2PDeps, uow: UnitOfWork, incident: dict[str, Any], ev: Evaluation, change: str) -> None:
    """The latest evaluation of the incident, shown with it on GET."""
    uow.upsert(
        D2P_EVALUATIONS.name,
        incident["organisation_id"],
        {
            "id": incident["id"],
            "incident_id": incident["id"],
            "incident_version": incident.get("version"),
            "change": change,
            "evaluated_at": deps.now(),
            **ev.as_dict(),
        },
    )


def summary(ev: Evaluation, dispatch: Dispatch | None) -> dict[str, Any]:
    return {
        "eligible": ev.eligible,
        "reasons": ev.reasons,
        "status": dispatch.status.value if dispatch else None,
        "rules_version": ev.rules_version,
        "force_id": ev.force_id,
        "dispatch_id": dispatch.id if dispatch else None,
    }
