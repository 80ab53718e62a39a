"""The force's side: acknowledging a dispatch with its crime reference, recording Home
Office outcomes, the force admin's list of dispatches, and the timer that reports
dispatches left unacknowledged."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from shared.domain import d2p as rules_domain
from shared.domain.audit import AuditAction
from shared.domain.d2p import (
    RECEIVED,
    AcknowledgeIn,
    Dispatch,
    DispatchStatus,
    InboxView,
    Outcome,
    OutcomeIn,
    dispatch_id,
    parse_dispatch_id,
)
from shared.domain.d2p_rules import ForceRules
from shared.domain.errors import Forbidden, NotFound, PreconditionFailed
from shared.domain.events import D2POutcomeRecorded, DispatchAcknowledged
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import JobReport, UnitOfWork, Where, iterate_all
from shared.records import ACCESS_GRANTS, D2P_RULES, DISPATCHES, OUTCOMES
from shared.services.d2p.deps import D2PDeps, get_dispatch, own_force, replace_dispatch, retailers_in_area
from shared.services.repository import Stored, body, dump

_DEFAULT_ACKNOWLEDGE_HOURS: int = ForceRules.model_fields["acknowledge_within_hours"].default
_ATTEMPTS = 3

T = TypeVar("T")


def retried(unit: Callable[[], T]) -> T:
    """Run a unit of work again when another committed first on a document it changed (the
    force's day counter, which every acknowledgement of that day moves): the unit wrote
    nothing, and the second run reads the winner's change. Three tries, then the 412."""
    for attempt in range(_ATTEMPTS):
        try:
            return unit()
        except PreconditionFailed:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class OutcomeRecorded:
    """The outcome just recorded and every outcome the force has recorded on the incident."""

    outcome: Outcome
    history: list[Outcome]


@dataclass(frozen=True)
class InboxPage:
    """One page of a force's D2P inbox, newest first, and the force's acknowledgement target."""

    items: list[Dispatch]
    continuation: str | None
    acknowledge_within_hours: int


@dataclass
class PoliceUseCase:
    deps: D2PDeps

    def _dispatch(self, uow: UnitOfWork, principal: Principal, did: str) -> Stored[Dispatch]:
        # Found only through the force's own grant: another force's dispatch is missing.
        missing = NotFound(f"Dispatch {did} was not found.")
        parsed = parse_dispatch_id(did)
        if parsed is None or parsed[1] != principal.organisation_id:
            raise missing
        grant = uow.get(ACCESS_GRANTS.name, principal.organisation_id, parsed[0])
        if grant is None:
            raise missing
        stored = get_dispatch(uow, grant["owner_org"], did)
        if stored is None:
            raise missing
        return stored

    def acknowledge(self, principal: Principal, did: str, ack: AcknowledgeIn) -> Dispatch:
        """The force records its crime reference number (idempotent for the same number)."""
        return retried(lambda: self._acknowledge(principal, did, ack))

    def _acknowledge(self, principal: Principal, did: str, ack: AcknowledgeIn) -> Dispatch:
        with self.deps.records.unit_of_work() as uow:
            stored = self._dispatch(uow, principal, did)
            dispatch = stored.record
            if not dispatch.acknowledge(ack.crime_reference, by=principal.user_id, now=self.deps.now()):
                return dispatch
            replace_dispatch(uow, stored)
            if dispatch.sent_at and dispatch.acknowledged_at:
                self.deps.publish(
                    uow,
                    DispatchAcknowledged(
                        force_id=dispatch.force_id,
                        dispatch_id=dispatch.id,
                        sent_at=dispatch.sent_at,
                        acknowledged_at=dispatch.acknowledged_at,
                    ),
                )
            self.deps.audit.record(
                uow,
                owner_org=dispatch.owner_org,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="d2p.acknowledge",
                entity=f"incident/{dispatch.incident_id}",
                fields=["crime_reference"],
                subjects=[did],
            )
        return dispatch

    def record_outcome(self, principal: Principal, incident_id: str, given: OutcomeIn) -> OutcomeRecorded:
        """A Home Office outcome code from the force, kept with every earlier one, on an
        incident dispatched to it. Sharing lets a force read a retailer's incidents, not
        write to them: only a dispatch (the retailer reporting the crime to that force)
        makes the force a party to the incident's outcome."""
        return retried(lambda: self._record_outcome(principal, incident_id, given))

    def _record_outcome(self, principal: Principal, incident_id: str, given: OutcomeIn) -> OutcomeRecorded:
        with self.deps.records.unit_of_work() as uow:
            loc = self.deps.incidents.locate(uow, principal, incident_id)
            force = principal.organisation_id
            if not loc.dispatched_to_viewer:
                raise Forbidden(
                    f"Incident {incident_id} was not dispatched to your force: it is shared with you to read, "
                    "so outcomes can be recorded only by a force it was reported to."
                )
            stored = get_dispatch(uow, loc.owner_org, dispatch_id(incident_id, force))
            dispatch = stored.record if stored else None
            outcome = Outcome(
                id=uuid.uuid4().hex,
                incident_id=incident_id,
                force_id=force,
                code=given.code,
                label=rules_domain.OUTCOME_CODES[given.code],
                note=given.note,
                recorded_at=self.deps.now(),
                recorded_by=principal.user_id,
                via_d2p=bool(dispatch and dispatch.is_sent),
                dispatch_id=dispatch.id if dispatch else None,
            )
            earlier = uow.query(
                OUTCOMES.name,
                [loc.owner_org],
                [Where("incident_id", "eq", incident_id), Where("force_id", "eq", force)],
                order_by="recorded_at",
                descending=True,
                limit=1,
            ).items
            uow.insert(OUTCOMES.name, loc.owner_org, dump(outcome))
            if dispatch is not None and dispatch.is_sent and dispatch.sent_at:
                self.deps.publish(
                    uow,
                    D2POutcomeRecorded(
                        force_id=force,
                        incident_id=incident_id,
                        sent_at=dispatch.sent_at,
                        code=outcome.code,
                        previous_code=earlier[0]["code"] if earlier else None,
                    ),
                )
            self.deps.audit.record(
                uow,
                owner_org=loc.owner_org,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="d2p.outcome",
                entity=f"incident/{incident_id}",
                fields=["outcome"],
            )
            history = uow.query(
                OUTCOMES.name,
                [loc.owner_org],
                [Where("incident_id", "eq", incident_id), Where("force_id", "eq", force)],
                order_by="recorded_at",
                limit=200,
            ).items
        return OutcomeRecorded(outcome=outcome, history=[Outcome.model_validate(body(o)) for o in history])

    def dispatches(self, principal: Principal, force_id: str, status: DispatchStatus | None, limit: int) -> list[Dispatch]:
        """Dispatches to the force, newest first (for its admin: failures and bounces to act on)."""
        own_force(principal, force_id)
        where = [Where("force_id", "eq", force_id)]
        if status:
            where.append(Where("status", "eq", status.value))
        with self.deps.records.read_only() as uow:
            owners = retailers_in_area(uow, force_id)
            docs = uow.query(DISPATCHES.name, owners, where, order_by="created_at", descending=True, limit=limit).items if owners else []
        return [Dispatch.model_validate(body(d)) for d in docs]

    def inbox(
        self,
        principal: Principal,
        force_id: str,
        view: InboxView,
        *,
        limit: int,
        continuation: str | None = None,
        now: datetime | None = None,
    ) -> InboxPage:
        """The reports the caller's force has received, newest first, one page at a time:
        all of them, the new ones (unacknowledged within the force's target), every
        unacknowledged one, or those overdue past the target. Any officer of the force
        reads it; no report content beyond what the email's subject line carries."""
        own_force(principal, force_id)
        as_of = now or self.deps.clock.now()
        with self.deps.records.read_only() as uow:
            rules = uow.get(D2P_RULES.name, force_id, "current")
            within = (
                int(rules["rules"].get("acknowledge_within_hours", _DEFAULT_ACKNOWLEDGE_HOURS)) if rules else _DEFAULT_ACKNOWLEDGE_HOURS
            )
            cutoff = to_iso(as_of - timedelta(hours=within))
            where = [Where("force_id", "eq", force_id)]
            if view is InboxView.ALL:
                where.append(Where("status", "in", [s.value for s in RECEIVED]))
            else:
                where.append(Where("status", "eq", DispatchStatus.SENT.value))
            if view is InboxView.NEW:
                where.append(Where("sent_at", "gt", cutoff))
            elif view is InboxView.OVERDUE:
                where.append(Where("sent_at", "le", cutoff))
            owners = retailers_in_area(uow, force_id)
            if not owners:
                return InboxPage(items=[], continuation=None, acknowledge_within_hours=within)
            page = uow.query(DISPATCHES.name, owners, where, order_by="sent_at", descending=True, limit=limit, continuation=continuation)
        return InboxPage(
            items=[Dispatch.model_validate(body(d)) for d in page.items], continuation=page.continuation, acknowledge_within_hours=within
        )

    def case(self, principal: Principal, incident_id: str) -> Dispatch:
        """The caller's force's dispatch of an incident: the case its D2P email opened.
        NotFound, as for a missing incident, when the incident was not dispatched to it."""
        with self.deps.records.read_only() as uow:
            return self._dispatch(uow, principal, dispatch_id(incident_id, principal.organisation_id)).record

    def unacknowledged(self, as_of: datetime) -> JobReport:
        """Timer: dispatches sent but not acknowledged within the force's set time, per force."""
        report = JobReport(job="d2p-unacknowledged", as_of=as_of, counts={"checked": 0, "overdue": 0})
        overdue: dict[str, int] = {}
        limits: dict[str, int] = {}
        with self.deps.records.read_only() as uow:
            for doc in iterate_all(uow, DISPATCHES.name, None, [Where("status", "eq", DispatchStatus.SENT.value)], limit=500):
                report.counts["checked"] += 1
                dispatch = Dispatch.model_validate(body(doc))
                force = dispatch.force_id
                if force not in limits:
                    rules = uow.get(D2P_RULES.name, force, "current")
                    limits[force] = rules["rules"].get("acknowledge_within_hours", 24) if rules else 24
                if dispatch.overdue(as_of, limits[force]):
                    overdue[force] = overdue.get(force, 0) + 1
        report.counts["overdue"] = sum(overdue.values())
        report.notes = [f"{force}: {n} dispatch(es) unacknowledged past {limits[force]} h" for force, n in sorted(overdue.items())]
        return report
