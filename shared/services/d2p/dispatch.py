"""Sending a report to its force: one dispatch per incident and force, written with its
outbox message in the unit of work that decides it, then moved to the queue right after
commit (the relay timer covers a failure there)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.d2p import Dispatch, DispatchStatus, dispatch_id
from shared.domain.d2p_rules import Evaluation
from shared.domain.errors import Invalid, PreconditionFailed
from shared.domain.tenancy import Principal
from shared.ports import UnitOfWork
from shared.records import ACCESS_GRANTS, DISPATCHES
from shared.services.d2p.deps import D2PDeps, get_dispatch, put_message, replace_dispatch
from shared.services.d2p.evaluation import evaluate_in, record_evaluation
from shared.services.repository import dump, tenant


@dataclass(frozen=True)
class SendResult:
    """What a send did: `created` is False when the incident already had a live dispatch
    to that force (the existing one is the answer; nothing new is sent)."""

    dispatch: Dispatch
    evaluation: Evaluation
    created: bool


def create_dispatch(
    deps: D2PDeps, uow: UnitOfWork, principal: Principal, incident: dict[str, Any], ev: Evaluation, *, auto: bool
) -> Dispatch:
    """A new dispatch, the receiving force's grant to the incident, the outbox message and
    the disclosure in the audit trail, all in `uow`."""
    dispatch = Dispatch.open(
        incident, force_id=ev.force_id, rules_version=ev.rules_version, by=principal.user_id, auto=auto, now=deps.now()
    )
    uow.insert(DISPATCHES.name, dispatch.owner_org, dump(dispatch))
    # The receiving force may read the incident and its evidence (with a purpose).
    uow.upsert(
        ACCESS_GRANTS.name,
        ev.force_id,
        {"id": incident["id"], "owner_org": dispatch.owner_org, "incident_id": incident["id"], "reason": "d2p", "dispatch_id": dispatch.id},
    )
    put_message(deps, uow, dispatch)
    deps.audit.record(
        uow,
        owner_org=dispatch.owner_org,
        principal=principal,
        action=AuditAction.DISCLOSURE,
        operation="d2p.dispatch",
        entity=f"incident/{incident['id']}",
        recipient_org=ev.force_id,
        subjects=[dispatch.id],
    )
    return dispatch


@dataclass
class DispatchUseCase:
    deps: D2PDeps

    def send(self, principal: Principal, incident_id: str) -> SendResult:
        """Send an eligible report to its force, evaluated against the rules in force now.

        A new dispatch (or a permanently failed one sent again) is `created`; a live one is
        answered as it is, never a second dispatch of one incident to one force. Invalid,
        naming the failed rules, when the report is not eligible.
        """
        deps = self.deps
        with deps.records.unit_of_work() as uow:
            loc = deps.incidents.locate(uow, principal, incident_id)
            incident = loc.doc
            ev = evaluate_in(deps, uow, incident)
            record_evaluation(deps, uow, incident, ev, "send")
            existing = get_dispatch(uow, loc.owner_org, dispatch_id(incident_id, ev.force_id)) if ev.force_id else None
            if existing is not None and existing.record.status != DispatchStatus.FAILED:
                return SendResult(dispatch=existing.record, evaluation=ev, created=False)
            if not ev.eligible:
                raise Invalid(
                    "This report does not meet the force's rules yet: " + " ".join(ev.reasons),
                    errors=[{"field": f"d2p.{r}", "message": s} for r, s in zip(ev.failed_rules, ev.reasons, strict=True)],
                    failed_rules=ev.failed_rules,
                    rules_version=ev.rules_version,
                    force_id=ev.force_id,
                )
            if existing is not None:
                dispatch = existing.record
                dispatch.rearm(by=principal.user_id, rules_version=ev.rules_version, now=deps.now())
                replace_dispatch(uow, existing)
                put_message(deps, uow, dispatch)
            else:
                dispatch = create_dispatch(deps, uow, principal, incident, ev, auto=False)
        self.relay_one(dispatch)
        return SendResult(dispatch=dispatch, evaluation=ev, created=True)

    def relay_one(self, dispatch: Dispatch) -> None:
        """Right after commit: move this dispatch's message to the queue (the relay timer covers a failure here)."""
        self.deps.outbox.relay_now(dispatch.owner_org, [dispatch.message_id])

    def mark_enqueued(self, uow: UnitOfWork, message: dict[str, Any]) -> None:
        """After the outbox moved a dispatch's message to the queue: queued becomes enqueued."""
        stored = get_dispatch(uow, tenant(message), message["dispatch_id"])
        if stored is not None and stored.record.mark_enqueued(self.deps.now()):
            try:
                replace_dispatch(uow, stored)
            except PreconditionFailed:
                pass  # the handler already moved it on
