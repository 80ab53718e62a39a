"""The dispatch queue's handler: compose the email, send it exactly once as far as this
side can tell, and record what happened; plus the dead letters it leaves and their replay.

`handle` records `sending` before the mail call and `sent` after it, and never sends a
dispatch already sent. One window remains where a duplicate is possible: the provider has
accepted the email and the worker dies before `sent` is committed (docs/d2p.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared import telemetry
from shared.domain.audit import AuditAction
from shared.domain.d2p import Dispatch
from shared.domain.d2p_email import HTML_TEMPLATE, TEXT_TEMPLATE, compose_email
from shared.domain.errors import PreconditionFailed
from shared.domain.events import DispatchSent
from shared.domain.evidence import available
from shared.domain.mail import Email
from shared.domain.timestamps import from_iso
from shared.ports import PermanentMailError, PoisonMessage, TransientMailError, UnitOfWork, Where
from shared.records import D2P_RULES, EVIDENCE, INCIDENTS
from shared.services.d2p.deps import QUEUE, D2PDeps, get_dispatch, replace_dispatch
from shared.services.dead_letters import DeadLetters
from shared.services.repository import Stored

log = logging.getLogger("vigil.d2p")


class DispatchRetry(Exception):
    """A transient failure: the queue delivers the message again (or dead-letters it)."""


class UnknownDispatch(PoisonMessage):
    """The message names no dispatch, or one that does not exist: no redelivery can change
    that, so the message ends in dead-letter."""


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered dispatch message: ids and the reason, never case content."""

    message_id: str | None
    delivery_count: int | None
    reason: str | None
    dispatch_id: str | None
    dead_lettered_at: str | None = None
    source: str = "queue"  # "recorded" by the Azure trigger, or held by the queue itself


@dataclass
class DeliveryUseCase:
    deps: D2PDeps

    def handle(self, message: dict[str, Any], delivery_count: int) -> str:
        """Render and send one dispatch, exactly once as far as this side can tell.

        Returns what happened ("sent", "already_sent", "failed", or the status of a
        dispatch that is not sendable). Raises DispatchRetry for a transient failure (the
        queue redelivers, then dead-letters) and UnknownDispatch for a message that names no
        dispatch.
        """
        deps = self.deps
        did = message.get("dispatch_id") if isinstance(message, dict) else None
        owner = message.get("owner_org") if isinstance(message, dict) else None
        if not isinstance(did, str) or not isinstance(owner, str):
            raise UnknownDispatch("the message names no dispatch")
        now = deps.now()
        with deps.records.unit_of_work() as uow:
            stored = get_dispatch(uow, owner, did)
            if stored is None:
                raise UnknownDispatch(f"dispatch {did} does not exist")
            dispatch = stored.record
            if dispatch.is_sent:
                return "already_sent"
            if not dispatch.is_sendable:
                return dispatch.status.value  # failed for good: nothing to do until a retailer sends again
            incident = uow.get(INCIDENTS.name, owner, dispatch.incident_id)
            rules_doc = uow.get(D2P_RULES.name, dispatch.force_id, "current")
            if incident is None or rules_doc is None:
                reason = "the incident no longer exists" if incident is None else "the force has no D2P rules or inbox"
                dispatch.fail(reason, now=now)
                replace_dispatch(uow, stored)
                return "failed"
            evidence = available(uow.query(EVIDENCE.name, [owner], [Where("incident_id", "eq", incident["id"])], limit=1000).items)
            inbox = rules_doc["rules"]["control_room_email"]
            dispatch.start_sending(to=inbox, delivery=delivery_count, now=now)
            try:
                replace_dispatch(uow, stored)
            except PreconditionFailed as exc:
                raise DispatchRetry("the dispatch changed under us; another delivery is handling it") from exc
        email = self._email(dispatch, incident, evidence, inbox)
        try:
            provider_id = deps.mail.send(email)
        except TransientMailError as exc:
            error, exhausted = str(exc), delivery_count >= deps.max_deliveries
            with deps.records.unit_of_work() as uow:
                self._finish(uow, dispatch, lambda d: d.retry_later(error, exhausted=exhausted, now=deps.now()))
            raise DispatchRetry(error) from exc
        except PermanentMailError as exc:
            reason = str(exc)
            with deps.records.unit_of_work() as uow:
                self._finish(uow, dispatch, lambda d: d.fail(reason, now=deps.now()))
            return "failed"
        # The report has reached the force's inbox as far as anyone here can know.
        latency = (deps.clock.now() - from_iso(dispatch.created_at)).total_seconds()
        telemetry.instruments().d2p_latency.record(max(latency, 0.0), {"force": dispatch.force_id})
        # The window: the provider has the message; until the next unit of work commits, a
        # crash here means a redelivery sends it again.
        with deps.records.unit_of_work() as uow:
            sent = {"subject": email.subject, "text": email.text, "to": email.to, "message_id": email.message_id}
            done = self._finish(uow, dispatch, lambda d: d.mark_sent(provider_message_id=provider_id, email=sent, now=deps.now()))
            if done is not None and done.sent_at:
                deps.publish(
                    uow,
                    DispatchSent(
                        force_id=done.force_id,
                        dispatch_id=done.id,
                        occurred_at=done.occurred_at,
                        reported_at=done.reported_at,
                        sent_at=done.sent_at,
                    ),
                )
            deps.audit.record(
                uow,
                owner_org=owner,
                principal=None,
                action=AuditAction.DISCLOSURE,
                operation="d2p.email.sent",
                entity=f"incident/{incident['id']}",
                recipient_org=dispatch.force_id,
                subjects=[did],
                system_actor="d2p-dispatcher",
            )
        return "sent"

    def _email(self, dispatch: Dispatch, incident: dict[str, Any], evidence: list[dict[str, Any]], inbox: str) -> Email:
        deps = self.deps
        store = deps.directory.store(incident["store_id"])
        force = deps.directory.organisation(dispatch.force_id)
        retailer = deps.directory.organisation(dispatch.owner_org)
        content = compose_email(
            dispatch=dispatch,
            incident=incident,
            evidence=sorted(evidence, key=lambda e: e.get("filename") or e["id"]),
            force_name=force.name if force else dispatch.force_id,
            store=store.model_dump() if store else {"name": incident["store_id"], "address": "", "postcode": ""},
            retailer_name=retailer.name if retailer else dispatch.owner_org,
            to=inbox,
            sender=deps.mail_from,
            base_url=deps.region_base_url,
            # The force reads times in its own zone; a force missing from the directory
            # is one this stamp serves, so the stamp's region stands in.
            region=force.home_region if force else deps.region,
        )
        context = {"subject": content.subject, "sections": content.sections}
        return content.with_bodies(deps.templates.render(TEXT_TEMPLATE, **context), deps.templates.render(HTML_TEMPLATE, **context))

    @staticmethod
    def _finish(uow: UnitOfWork, dispatch: Dispatch, change: Callable[[Dispatch], None]) -> Dispatch | None:
        # Re-read: the version written before the mail call is the one to move on from.
        current: Stored[Dispatch] | None = get_dispatch(uow, dispatch.owner_org, dispatch.id)
        if current is None:
            return None
        change(current.record)
        replace_dispatch(uow, current)
        return current.record

    def _dead_letters(self) -> DeadLetters:
        return DeadLetters(records=self.deps.records, queue=self.deps.queue, clock=self.deps.clock)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Dead-lettered dispatch messages, those the Azure trigger recorded and those the
        queue holds, in one list (ids and reasons only, no case content)."""
        return [
            DeadLetter(
                message_id=e.message_id,
                delivery_count=e.delivery_count,
                reason=e.reason,
                dispatch_id=(e.body or {}).get("dispatch_id"),
                dead_lettered_at=e.dead_lettered_at,
                source=e.source,
            )
            for e in self._dead_letters().entries(QUEUE, limit=limit)
        ]

    def replay_dead_letters(self, message_ids: list[str] | None = None) -> int:
        """Put dead-lettered dispatch messages (recorded or held by the queue) back on the
        queue with fresh delivery counts; a recorded one is then forgotten."""
        return self._dead_letters().replay(QUEUE, message_ids)
