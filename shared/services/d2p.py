"""Direct to police: force rules, eligibility, dispatch through an outbox and a queue,
exactly-once email, delivery events, acknowledgement, outcomes and KPIs.

The pipeline: a dispatch and its outbox message are written in the unit of work of the
change that causes them; `relay` moves outbox messages to the queue (message id = the
dispatch id, so the queue drops duplicates); `handle` records `sending` before the mail
call and `sent` after it, and never sends a dispatch already sent. docs/d2p.md names the
one window where a duplicate remains possible.
"""

from __future__ import annotations

import json
import logging
import statistics
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain import d2p as rules_domain
from shared.domain.audit import AuditAction
from shared.domain.d2p import (
    ALREADY_SENT,
    SENDABLE,
    AcknowledgeIn,
    D2PSettingsIn,
    DispatchStatus,
    Evaluation,
    ForceRules,
    OutcomeIn,
    dispatch_id,
    parse_dispatch_id,
    render_email,
)
from shared.domain.errors import Conflict, Invalid, MalformedBody, NotFound, PreconditionFailed, PreconditionRequired
from shared.domain.tenancy import PLATFORM_TENANT, Principal, Role
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import (
    Clock,
    DeliveryEventVerifier,
    JobReport,
    MailSender,
    MessageQueue,
    PermanentMailError,
    RecordStore,
    TransientMailError,
    UnitOfWork,
    Where,
    iterate_all,
)
from shared.records import (
    ACCESS_GRANTS,
    D2P_EVALUATIONS,
    D2P_RULES,
    D2P_SETTINGS,
    DISPATCHES,
    EVIDENCE,
    INCIDENTS,
    OUTCOMES,
    STORES,
)
from shared.services.audit import AuditTrail
from shared.services.directory import Directory
from shared.services.incidents import IncidentService
from shared.services.outbox import Outbox

log = logging.getLogger("vigil.d2p")

QUEUE = "d2p_dispatch"
HISTORY_LIMIT = 50
POLICE = (Role.POLICE_OFFICER, Role.POLICE_ANALYST, Role.POLICE_ADMIN)


class DispatchRetry(Exception):
    """A transient failure: the queue delivers the message again (or dead-letters it)."""


class UnknownDispatch(Exception):
    """The message names no dispatch, or one that does not exist: no redelivery can change
    that, so the message ends in dead-letter."""


@dataclass
class D2PService:
    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    queue: MessageQueue
    mail: MailSender
    incidents: IncidentService  # reports are found with the same 404 rule as every other read
    delivery_events: DeliveryEventVerifier  # checks the mail provider's signed event webhook
    region_base_url: str
    mail_from: str = "d2p@vigil.example.net"
    max_deliveries: int = 10
    webhook_public_key: str = ""
    webhook_max_age_seconds: int = 300
    outbox: Outbox | None = None  # dispatch messages are written with their change

    # ---- force rules ---------------------------------------------------------------
    def _own_force(self, principal: Principal, force_id: str) -> None:
        if principal.organisation_id != force_id or not principal.is_police:
            raise NotFound(f"Force {force_id} was not found.")

    def get_rules(self, principal: Principal, force_id: str) -> tuple[dict[str, Any], str]:
        """The force's current rules with their version (Police.Admin of that force)."""
        self._own_force(principal, force_id)
        with self.records.unit_of_work() as uow:
            doc = uow.get(D2P_RULES.name, force_id, "current")
        if doc is None:
            raise NotFound(f"{force_id} has no D2P rules yet: PUT them to start taking direct reports.")
        return _rules_out(doc), doc["_etag"]

    def put_rules(self, principal: Principal, force_id: str, rules: ForceRules, if_match: str | None) -> tuple[dict[str, Any], str]:
        """Replace the rules as a new version (kept), audited. If-Match once rules exist."""
        self._own_force(principal, force_id)
        with self.records.unit_of_work() as uow:
            current = uow.get(D2P_RULES.name, force_id, "current")
            if current is not None and not if_match:
                raise PreconditionRequired("Send If-Match with the ETag of the rules you last read.")
            etag, doc = self._write_rules(uow, force_id, rules, principal.user_id, current, if_match)
            self.audit.record(
                uow,
                owner_org=force_id,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="d2p.rules.change",
                entity=f"d2p-rules/{force_id}",
                fields=sorted(rules.model_fields_set or rules.model_fields),
            )
        return _rules_out(doc), etag

    def _write_rules(
        self, uow: UnitOfWork, force_id: str, rules: ForceRules, by: str, current: dict[str, Any] | None, if_match: str | None
    ) -> tuple[str, dict[str, Any]]:
        version = (current["version"] + 1) if current else 1
        now = to_iso(self.clock.now())
        body = rules.model_dump(mode="json")
        doc = {"id": "current", "force_id": force_id, "version": version, "rules": body, "updated_at": now, "updated_by": by}
        uow.insert(
            D2P_RULES.name,
            force_id,
            {"id": f"v{version:06d}", "force_id": force_id, "version": version, "rules": body, "at": now, "by": by},
        )
        if current is None:
            etag = uow.insert(D2P_RULES.name, force_id, doc)
        else:
            etag = uow.replace(D2P_RULES.name, force_id, doc, if_match=_etag(if_match))
        return etag, doc

    def rule_versions(self, principal: Principal, force_id: str) -> list[dict[str, Any]]:
        """Every version of the force's rules, oldest first."""
        self._own_force(principal, force_id)
        with self.records.unit_of_work() as uow:
            docs = list(iterate_all(uow, D2P_RULES.name, [force_id], [Where("version", "ge", 1)], order_by="version"))
        return [{k: v for k, v in d.items() if not k.startswith("_")} for d in docs if d["id"] != "current"]

    # ---- retailer settings ---------------------------------------------------------
    def get_settings(self, principal: Principal, org_id: str) -> dict[str, Any]:
        if principal.organisation_id != org_id:
            raise NotFound(f"Organisation {org_id} was not found.")
        with self.records.unit_of_work() as uow:
            doc = uow.get(D2P_SETTINGS.name, org_id, "settings")
        return _settings_out(doc, org_id)

    def put_settings(self, principal: Principal, org_id: str, body: D2PSettingsIn) -> dict[str, Any]:
        """Turn automatic sending on or off for the organisation (audited)."""
        if principal.organisation_id != org_id or not principal.is_retailer:
            raise NotFound(f"Organisation {org_id} was not found.")
        with self.records.unit_of_work() as uow:
            doc = {"id": "settings", "auto_send": body.auto_send, "updated_at": to_iso(self.clock.now()), "updated_by": principal.user_id}
            uow.upsert(D2P_SETTINGS.name, org_id, doc)
            self.audit.record(
                uow,
                owner_org=org_id,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="d2p.settings.change",
                entity=f"d2p-settings/{org_id}",
                fields=["auto_send"],
            )
        return _settings_out(doc, org_id)

    # ---- eligibility ---------------------------------------------------------------
    def evaluate_in(self, uow: UnitOfWork, incident: dict[str, Any]) -> Evaluation:
        """Evaluate the incident against the rules of the force whose area holds its store."""
        owner = incident["organisation_id"]
        store = self.directory.store(incident["store_id"])
        force_id = incident.get("force_id") or (store.force_id if store else "")
        force = self.directory.organisation(force_id)
        rules_doc = uow.get(D2P_RULES.name, force_id, "current") if force_id else None
        rules = ForceRules.model_validate(rules_doc["rules"]) if rules_doc else None
        evidence = uow.query(EVIDENCE.name, [owner], [Where("incident_id", "eq", incident["id"])], limit=1000).items
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

    def _record_evaluation(self, uow: UnitOfWork, incident: dict[str, Any], ev: Evaluation, change: str) -> None:
        uow.upsert(
            D2P_EVALUATIONS.name,
            incident["organisation_id"],
            {
                "id": incident["id"],
                "incident_id": incident["id"],
                "incident_version": incident.get("version"),
                "change": change,
                "evaluated_at": to_iso(self.clock.now()),
                **ev.as_dict(),
            },
        )

    def hook(self, uow: UnitOfWork, principal: Principal, incident: dict[str, Any], change: str) -> dict[str, Any]:
        """IncidentService hook: evaluate on create, change and evidence added; auto-send
        when the organisation has turned it on. Runs in the caller's unit of work."""
        ev = self.evaluate_in(uow, incident)
        self._record_evaluation(uow, incident, ev, change)
        dispatch = uow.get(DISPATCHES.name, incident["organisation_id"], dispatch_id(incident["id"], ev.force_id)) if ev.force_id else None
        if dispatch is None and ev.eligible:
            settings = uow.get(D2P_SETTINGS.name, incident["organisation_id"], "settings")
            if settings and settings.get("auto_send"):
                dispatch = self._create_dispatch(uow, principal, incident, ev, auto=True)
        return {"d2p": _summary(ev, dispatch)}

    def view(self, uow: UnitOfWork, principal: Principal, incident: dict[str, Any]) -> dict[str, Any]:
        """IncidentService extra view: the latest evaluation and dispatch status on GET."""
        ev = uow.get(D2P_EVALUATIONS.name, incident["organisation_id"], incident["id"])
        if ev is None:
            return {}
        dispatch = (
            uow.get(DISPATCHES.name, incident["organisation_id"], dispatch_id(incident["id"], ev["force_id"]))
            if ev.get("force_id")
            else None
        )
        if principal.is_police and (dispatch is None or dispatch["force_id"] != principal.organisation_id):
            return {}
        return {
            "d2p": {k: ev.get(k) for k in ("eligible", "reasons", "rules_version", "force_id")}
            | {"status": dispatch["status"] if dispatch else None, "dispatch_id": dispatch["id"] if dispatch else None}
        }

    def eligibility(self, principal: Principal, incident_id: str) -> dict[str, Any]:
        """Every rule with pass/fail and a sentence, the dispatch with its history, and outcomes."""
        with self.records.unit_of_work() as uow:
            loc = self.incidents.locate(uow, principal, incident_id)
            incident = loc.doc
            ev = self.evaluate_in(uow, incident)
            dispatches = uow.query(DISPATCHES.name, [loc.owner_org], [Where("incident_id", "eq", incident_id)], limit=20).items
            if principal.is_police:
                dispatches = [d for d in dispatches if d["force_id"] == principal.organisation_id]
            outcomes = uow.query(
                OUTCOMES.name, [loc.owner_org], [Where("incident_id", "eq", incident_id)], order_by="recorded_at", limit=200
            ).items
            if principal.is_police:
                outcomes = [o for o in outcomes if o["force_id"] == principal.organisation_id]
            if principal.is_retailer:
                self._record_evaluation(uow, incident, ev, "read")
        return {
            "incident_id": incident_id,
            **ev.as_dict(),
            "dispatches": [_dispatch_out(d) for d in dispatches],
            "outcomes": [_public(o) for o in outcomes],
        }

    # ---- sending -------------------------------------------------------------------
    def send(self, principal: Principal, incident_id: str) -> tuple[int, dict[str, Any]]:
        """Send an eligible report to its force: 202 with a new dispatch, 200 with the
        existing one (never a second dispatch of one incident to one force); 422 with the
        failed rules when ineligible, evaluated against the rules in force now."""
        with self.records.unit_of_work() as uow:
            loc = self.incidents.locate(uow, principal, incident_id)
            incident = loc.doc
            ev = self.evaluate_in(uow, incident)
            self._record_evaluation(uow, incident, ev, "send")
            existing = uow.get(DISPATCHES.name, loc.owner_org, dispatch_id(incident_id, ev.force_id)) if ev.force_id else None
            if existing is not None and existing["status"] != DispatchStatus.FAILED:
                return 200, _dispatch_out(existing) | {"evaluation": ev.as_dict()}
            if not ev.eligible:
                raise Invalid(
                    "This report does not meet the force's rules yet: " + " ".join(ev.reasons),
                    errors=[{"field": f"d2p.{r}", "message": s} for r, s in zip(ev.failed_rules, ev.reasons, strict=True)],
                    failed_rules=ev.failed_rules,
                    rules_version=ev.rules_version,
                    force_id=ev.force_id,
                )
            if existing is not None:
                dispatch = self._rearm(uow, principal, existing, ev)
            else:
                dispatch = self._create_dispatch(uow, principal, incident, ev, auto=False)
        self.relay_one(dispatch)
        return 202, _dispatch_out(dispatch) | {"evaluation": ev.as_dict()}

    def _create_dispatch(
        self, uow: UnitOfWork, principal: Principal, incident: dict[str, Any], ev: Evaluation, *, auto: bool
    ) -> dict[str, Any]:
        now = to_iso(self.clock.now())
        did = dispatch_id(incident["id"], ev.force_id)
        owner = incident["organisation_id"]
        doc = {
            "id": did,
            "incident_id": incident["id"],
            "owner_org": owner,
            "force_id": ev.force_id,
            "store_id": incident["store_id"],
            "reference": incident["reference"],
            "category": incident["category"],
            "occurred_at": incident["occurred_at"],
            "reported_at": incident["reported_at"],
            "status": DispatchStatus.QUEUED.value,
            "auto": auto,
            "rules_version": ev.rules_version,
            "created_at": now,
            "created_by": principal.user_id,
            "message_seq": 1,
            "attempts": 0,
            "sent_at": None,
            "acknowledged_at": None,
            "crime_reference": None,
            "history": [
                {"at": now, "status": DispatchStatus.QUEUED.value, "note": "automatic" if auto else "sent by " + principal.user_id}
            ],
        }
        uow.insert(DISPATCHES.name, owner, doc)
        # The receiving force may read the incident and its evidence (with a purpose).
        uow.upsert(
            ACCESS_GRANTS.name,
            ev.force_id,
            {"id": incident["id"], "owner_org": owner, "incident_id": incident["id"], "reason": "d2p", "dispatch_id": did},
        )
        self._outbox(uow, doc)
        self.audit.record(
            uow,
            owner_org=owner,
            principal=principal,
            action=AuditAction.DISCLOSURE,
            operation="d2p.dispatch",
            entity=f"incident/{incident['id']}",
            recipient_org=ev.force_id,
            subjects=[did],
        )
        return doc

    def _rearm(self, uow: UnitOfWork, principal: Principal, dispatch: dict[str, Any], ev: Evaluation) -> dict[str, Any]:
        """Send a permanently failed dispatch again (the force has fixed its inbox)."""
        doc = _clean(dispatch)
        doc["status"] = rules_domain.transition(doc["status"], DispatchStatus.QUEUED).value
        doc["message_seq"] = doc.get("message_seq", 1) + 1
        doc["rules_version"] = ev.rules_version
        _history(doc, self.clock.now(), DispatchStatus.QUEUED, "sent again by " + principal.user_id)
        uow.replace(DISPATCHES.name, doc["owner_org"], doc, if_match=dispatch["_etag"])
        self._outbox(uow, doc)
        return doc

    @staticmethod
    def _message_id(dispatch: dict[str, Any]) -> str:
        seq = dispatch.get("message_seq", 1)
        return dispatch["id"] if seq == 1 else f"{dispatch['id']}#{seq}"

    def _outbox(self, uow: UnitOfWork, dispatch: dict[str, Any]) -> None:
        self.outbox.put(
            uow,
            dispatch["owner_org"],
            queue=QUEUE,
            message_id=self._message_id(dispatch),
            dispatch_id=dispatch["id"],
            body={"dispatch_id": dispatch["id"], "owner_org": dispatch["owner_org"]},
        )

    # ---- relay ---------------------------------------------------------------------
    def relay_one(self, dispatch: dict[str, Any]) -> None:
        """Right after commit: move this dispatch's message to the queue (the relay timer covers a failure here)."""
        self.outbox.relay_now(dispatch["owner_org"], [self._message_id(dispatch)])

    def mark_enqueued(self, uow: UnitOfWork, message: dict[str, Any]) -> None:
        """After the outbox moved a dispatch's message to the queue: queued becomes enqueued."""
        tenant = message["_tenant"]
        dispatch = uow.get(DISPATCHES.name, tenant, message["dispatch_id"])
        if dispatch is not None and dispatch["status"] == DispatchStatus.QUEUED:
            new = _clean(dispatch)
            new["status"] = DispatchStatus.ENQUEUED.value
            _history(new, self.clock.now(), DispatchStatus.ENQUEUED, None)
            try:
                uow.replace(DISPATCHES.name, tenant, new, if_match=dispatch["_etag"])
            except PreconditionFailed:
                pass  # the handler already moved it on

    # ---- the queue handler ---------------------------------------------------------
    def handle(self, body: dict[str, Any], delivery_count: int) -> str:
        """Render and send one dispatch, exactly once as far as this side can tell.

        Returns what happened ("sent", "already_sent", "failed"). Raises DispatchRetry for
        a transient failure (the queue redelivers, then dead-letters) and UnknownDispatch for
        a message that names no dispatch.
        """
        did = body.get("dispatch_id") if isinstance(body, dict) else None
        owner = body.get("owner_org") if isinstance(body, dict) else None
        if not isinstance(did, str) or not isinstance(owner, str):
            raise UnknownDispatch("the message names no dispatch")
        now = self.clock.now()
        with self.records.unit_of_work() as uow:
            dispatch = uow.get(DISPATCHES.name, owner, did)
            if dispatch is None:
                raise UnknownDispatch(f"dispatch {did} does not exist")
            status = DispatchStatus(dispatch["status"])
            if status in ALREADY_SENT:
                return "already_sent"
            if status not in SENDABLE:
                return status.value  # failed for good: nothing to do until a retailer sends again
            incident = uow.get(INCIDENTS.name, owner, dispatch["incident_id"])
            rules_doc = uow.get(D2P_RULES.name, dispatch["force_id"], "current")
            if incident is None or rules_doc is None:
                reason = "the incident no longer exists" if incident is None else "the force has no D2P rules or inbox"
                self._finish(uow, dispatch, DispatchStatus.FAILED, now, failure_reason=reason)
                return "failed"
            evidence = uow.query(EVIDENCE.name, [owner], [Where("incident_id", "eq", incident["id"])], limit=1000).items
            inbox = rules_doc["rules"]["control_room_email"]
            doc = _clean(dispatch)
            doc["status"] = rules_domain.transition(status, DispatchStatus.SENDING).value
            doc["attempts"] = doc.get("attempts", 0) + 1
            doc["to"] = inbox
            doc["sending_at"] = to_iso(now)
            _history(doc, now, DispatchStatus.SENDING, f"attempt {doc['attempts']} (delivery {delivery_count})")
            try:
                etag = uow.replace(DISPATCHES.name, owner, doc, if_match=dispatch["_etag"])
            except PreconditionFailed as exc:
                raise DispatchRetry("the dispatch changed under us; another delivery is handling it") from exc
        store = self.directory.store(incident["store_id"])
        force = self.directory.organisation(dispatch["force_id"])
        retailer = self.directory.organisation(owner)
        email = render_email(
            dispatch=doc,
            incident=incident,
            evidence=sorted(evidence, key=lambda e: e.get("filename") or e["id"]),
            force_name=force.name if force else dispatch["force_id"],
            store=store.model_dump() if store else {"name": incident["store_id"], "address": "", "postcode": ""},
            retailer_name=retailer.name if retailer else owner,
            to=inbox,
            sender=self.mail_from,
            case_url=f"{self.region_base_url.rstrip('/')}/api/v1/incidents/{incident['id']}",
        )
        try:
            provider_id = self.mail.send(email)
        except TransientMailError as exc:
            exhausted = delivery_count >= self.max_deliveries
            with self.records.unit_of_work() as uow:
                self._finish(
                    uow,
                    doc | {"_etag": etag},
                    DispatchStatus.DEAD_LETTERED if exhausted else DispatchStatus.RETRYING,
                    self.clock.now(),
                    last_error=str(exc)[:300],
                )
            raise DispatchRetry(str(exc)) from exc
        except PermanentMailError as exc:
            with self.records.unit_of_work() as uow:
                self._finish(uow, doc | {"_etag": etag}, DispatchStatus.FAILED, self.clock.now(), failure_reason=str(exc)[:300])
            return "failed"
        # The window named in docs/d2p.md: the provider has the message; until the next
        # unit of work commits, a crash here means a redelivery sends it again.
        with self.records.unit_of_work() as uow:
            self._finish(
                uow,
                doc | {"_etag": etag},
                DispatchStatus.SENT,
                self.clock.now(),
                provider_message_id=provider_id,
                email={"subject": email.subject, "text": email.text, "to": email.to, "message_id": email.message_id},
                # Retention finds bodies still kept through this flag (and acknowledged_at).
                email_body_kept=True,
            )
            self.audit.record(
                uow,
                owner_org=owner,
                principal=None,
                action=AuditAction.DISCLOSURE,
                operation="d2p.email.sent",
                entity=f"incident/{incident['id']}",
                recipient_org=dispatch["force_id"],
                subjects=[did],
                system_actor="d2p-dispatcher",
            )
        return "sent"

    def _finish(self, uow: UnitOfWork, dispatch: dict[str, Any], status: DispatchStatus, now: datetime, **fields: Any) -> None:
        current = uow.get(DISPATCHES.name, dispatch["owner_org"], dispatch["id"])
        doc = _clean(current)
        doc["status"] = rules_domain.transition(doc["status"], status).value
        doc.update(fields)
        if status == DispatchStatus.SENT:
            doc["sent_at"] = to_iso(now)
            doc["last_error"] = None
        note = fields.get("failure_reason") or fields.get("last_error")
        _history(doc, now, status, note)
        uow.replace(DISPATCHES.name, doc["owner_org"], doc, if_match=current["_etag"])

    # ---- delivery events -------------------------------------------------------------
    def delivery_webhook(self, payload: bytes, signature: str | None, timestamp: str | None) -> dict[str, int]:
        """SendGrid's signed event webhook: verify, then record delivered/bounced/dropped."""
        self.delivery_events.verify(
            payload,
            signature,
            timestamp,
            public_key=self.webhook_public_key,
            now=self.clock.now(),
            max_age_seconds=self.webhook_max_age_seconds,
        )
        try:
            events = json.loads(payload)
        except ValueError as exc:
            raise MalformedBody("The event body is not JSON.") from exc
        if not isinstance(events, list) or len(events) > 10_000:
            raise Invalid("The event body must be a JSON array of at most 10000 events.")
        counts = {"recorded": 0, "ignored": 0}
        states = {"delivered": "delivered", "bounce": "bounced", "dropped": "dropped", "deferred": "deferred", "blocked": "bounced"}
        for event in events:
            if (
                not isinstance(event, dict)
                or event.get("event") not in states
                or not isinstance(event.get("dispatch_id"), str)
                or not isinstance(event.get("owner_org"), str)
            ):
                counts["ignored"] += 1
                continue
            with self.records.unit_of_work() as uow:
                dispatch = uow.get(DISPATCHES.name, event["owner_org"], event["dispatch_id"])
                if dispatch is None:
                    counts["ignored"] += 1
                    continue
                doc = _clean(dispatch)
                at = event.get("timestamp")
                delivery = {
                    "state": states[event["event"]],
                    "at": to_iso(datetime.fromtimestamp(at, tz=self.clock.now().tzinfo))
                    if isinstance(at, int)
                    else to_iso(self.clock.now()),
                    "reason": str(event.get("reason") or event.get("response") or "")[:300] or None,
                }
                doc["delivery"] = delivery
                _history(
                    doc,
                    self.clock.now(),
                    None,
                    f"delivery: {delivery['state']}" + (f" ({delivery['reason']})" if delivery["reason"] else ""),
                )
                uow.replace(DISPATCHES.name, doc["owner_org"], doc, if_match=dispatch["_etag"])
            counts["recorded"] += 1
        return counts

    # ---- police side -----------------------------------------------------------------
    def _police_dispatch(self, uow: UnitOfWork, principal: Principal, did: str) -> dict[str, Any]:
        missing = NotFound(f"Dispatch {did} was not found.")
        parsed = parse_dispatch_id(did)
        if parsed is None or parsed[1] != principal.organisation_id:
            raise missing
        grant = uow.get(ACCESS_GRANTS.name, principal.organisation_id, parsed[0])
        if grant is None:
            raise missing
        dispatch = uow.get(DISPATCHES.name, grant["owner_org"], did)
        if dispatch is None:
            raise missing
        return dispatch

    def acknowledge(self, principal: Principal, did: str, body: AcknowledgeIn) -> dict[str, Any]:
        """The force records its crime reference number (idempotent for the same number)."""
        with self.records.unit_of_work() as uow:
            dispatch = self._police_dispatch(uow, principal, did)
            if dispatch["status"] == DispatchStatus.ACKNOWLEDGED:
                if dispatch["crime_reference"] == body.crime_reference:
                    return _dispatch_out(dispatch)
                raise Conflict(f"Dispatch {did} was already acknowledged with crime reference {dispatch['crime_reference']}.")
            if dispatch["status"] != DispatchStatus.SENT:
                raise Conflict(f"Dispatch {did} is {dispatch['status']}: only a sent report can be acknowledged.")
            now = self.clock.now()
            doc = _clean(dispatch)
            doc["status"] = rules_domain.transition(doc["status"], DispatchStatus.ACKNOWLEDGED).value
            doc.update(acknowledged_at=to_iso(now), crime_reference=body.crime_reference, acknowledged_by=principal.user_id)
            _history(doc, now, DispatchStatus.ACKNOWLEDGED, f"crime reference {body.crime_reference}")
            uow.replace(DISPATCHES.name, doc["owner_org"], doc, if_match=dispatch["_etag"])
            self.audit.record(
                uow,
                owner_org=doc["owner_org"],
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="d2p.acknowledge",
                entity=f"incident/{doc['incident_id']}",
                fields=["crime_reference"],
                subjects=[did],
            )
        return _dispatch_out(doc)

    def record_outcome(self, principal: Principal, incident_id: str, body: OutcomeIn) -> dict[str, Any]:
        """A Home Office outcome code from the force, kept with every earlier one."""
        with self.records.unit_of_work() as uow:
            loc = self.incidents.locate(uow, principal, incident_id)
            force = principal.organisation_id
            dispatch = uow.get(DISPATCHES.name, loc.owner_org, dispatch_id(incident_id, force))
            now = to_iso(self.clock.now())
            doc = {
                "id": uuid.uuid4().hex,
                "incident_id": incident_id,
                "force_id": force,
                "code": body.code,
                "label": rules_domain.OUTCOME_CODES[body.code],
                "note": body.note,
                "recorded_at": now,
                "recorded_by": principal.user_id,
                "via_d2p": bool(dispatch and dispatch["status"] in ALREADY_SENT),
                "dispatch_id": dispatch["id"] if dispatch else None,
            }
            uow.insert(OUTCOMES.name, loc.owner_org, doc)
            self.audit.record(
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
        return {"outcome": doc, "history": [_public(o) for o in history]}

    def force_dispatches(self, principal: Principal, force_id: str, status: str | None, limit: int) -> list[dict[str, Any]]:
        """Dispatches to the force (for its admin: failures and bounces to act on)."""
        self._own_force(principal, force_id)
        where = [Where("force_id", "eq", force_id)]
        if status:
            where.append(Where("status", "eq", status))
        with self.records.unit_of_work() as uow:
            owners = self._retailers_in_area(uow, force_id)
            docs = uow.query(DISPATCHES.name, owners, where, order_by="created_at", descending=True, limit=limit).items if owners else []
        return [_dispatch_out(d, with_email=False) for d in docs]

    def _retailers_in_area(self, uow: UnitOfWork, force_id: str) -> list[str]:
        stores = iterate_all(uow, STORES.name, [PLATFORM_TENANT], [Where("force_id", "eq", force_id)])
        return sorted({s["organisation_id"] for s in stores})

    # ---- KPIs ----------------------------------------------------------------------
    def kpis(self, principal: Principal, force_id: str, start: datetime, end: datetime) -> dict[str, Any]:
        """The force's own evaluation table, live: D2P reports against its other incidents."""
        self._own_force(principal, force_id)
        if end <= start:
            raise Invalid("'to' must be after 'from'.", errors=[{"field": "to"}])
        if end - start > timedelta(days=731):
            raise Invalid("The period is limited to two years.", errors=[{"field": "to"}])
        with self.records.unit_of_work() as uow:
            owners = self._retailers_in_area(uow, force_id)
            if not owners:
                incidents, dispatches, outcomes = [], [], []
            else:
                incidents = list(
                    iterate_all(
                        uow,
                        INCIDENTS.name,
                        owners,
                        [
                            Where("force_id", "eq", force_id),
                            Where("occurred_at", "ge", to_iso(start)),
                            Where("occurred_at", "lt", to_iso(end)),
                        ],
                        limit=500,
                    )
                )
                dispatches = list(iterate_all(uow, DISPATCHES.name, owners, [Where("force_id", "eq", force_id)], limit=500))
                outcomes = list(
                    iterate_all(uow, OUTCOMES.name, owners, [Where("force_id", "eq", force_id)], order_by="recorded_at", limit=500)
                )
        in_period = {i["id"]: i for i in incidents}
        by_incident = {d["incident_id"]: d for d in dispatches if d["incident_id"] in in_period}
        latest: dict[str, dict[str, Any]] = {}
        first: dict[str, dict[str, Any]] = {}
        for o in outcomes:
            if o["incident_id"] in in_period:
                latest[o["incident_id"]] = o
                first.setdefault(o["incident_id"], o)
        counts: dict[str, int] = {}
        for d in by_incident.values():
            counts[d["status"]] = counts.get(d["status"], 0) + 1
        d2p_ids = {i for i, d in by_incident.items() if d["status"] in ALREADY_SENT}
        other_ids = set(in_period) - set(by_incident)

        def hours(a: str | None, b: str | None) -> float | None:
            return rules_domain.hours_between(from_iso(a) if a else None, from_iso(b) if b else None)

        def stats(values: list[float | None]) -> dict[str, Any]:
            vals = [v for v in values if v is not None]
            med, p90 = statistics.median(vals) if vals else None, rules_domain.percentile(vals, 90)
            return {
                "n": len(vals),
                "median_hours": round(med, 3) if med is not None else None,
                "p90_hours": round(p90, 3) if p90 is not None else None,
            }

        sent = [by_incident[i] for i in d2p_ids]
        return {
            "force": force_id,
            "from": to_iso(start),
            "to": to_iso(end),
            "dispatches_by_status": dict(sorted(counts.items())),
            "times": {
                "occurred_to_reported": stats([hours(d["occurred_at"], d["reported_at"]) for d in sent]),
                "reported_to_dispatched": stats([hours(d["reported_at"], d.get("sent_at")) for d in sent]),
                "dispatched_to_acknowledged": stats([hours(d.get("sent_at"), d.get("acknowledged_at")) for d in sent]),
                "other_channels_reported_to_first_outcome": stats(
                    [hours(in_period[i]["reported_at"], first[i]["recorded_at"]) for i in other_ids if i in first]
                ),
            },
            "outcomes": {
                "d2p": rules_domain.outcome_rates([latest[i]["code"] for i in d2p_ids if i in latest], len(d2p_ids)),
                "other_channels": rules_domain.outcome_rates([latest[i]["code"] for i in other_ids if i in latest], len(other_ids)),
            },
        }

    # ---- timers and operations -------------------------------------------------------
    def unacknowledged(self, as_of: datetime) -> JobReport:
        """Timer: dispatches sent but not acknowledged within the force's set time, per force."""
        report = JobReport(job="d2p-unacknowledged", as_of=as_of, counts={"checked": 0, "overdue": 0})
        overdue: dict[str, int] = {}
        limits: dict[str, int] = {}
        with self.records.unit_of_work() as uow:
            for d in iterate_all(uow, DISPATCHES.name, None, [Where("status", "eq", DispatchStatus.SENT.value)], limit=500):
                report.counts["checked"] += 1
                force = d["force_id"]
                if force not in limits:
                    rules = uow.get(D2P_RULES.name, force, "current")
                    limits[force] = rules["rules"].get("acknowledge_within_hours", 24) if rules else 24
                if d.get("sent_at") and from_iso(d["sent_at"]) + timedelta(hours=limits[force]) <= as_of:
                    overdue[force] = overdue.get(force, 0) + 1
        report.counts["overdue"] = sum(overdue.values())
        report.notes = [f"{force}: {n} dispatch(es) unacknowledged past {limits[force]} h" for force, n in sorted(overdue.items())]
        return report

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        """Dead-lettered dispatch messages (ids and reasons only, no case content)."""
        return [
            {k: m.get(k) for k in ("message_id", "delivery_count", "reason")} | {"dispatch_id": (m.get("body") or {}).get("dispatch_id")}
            for m in self.queue.dead_letters(QUEUE, limit=limit)
        ]

    def replay_dead_letters(self, message_ids: list[str] | None = None) -> int:
        """Put dead-lettered dispatch messages back on the queue with fresh delivery counts."""
        return self.queue.replay_dead_letters(QUEUE, message_ids=message_ids)


# ---- seeding ---------------------------------------------------------------------------

DEMO_RULES: dict[str, dict[str, Any]] = {
    "devon-and-cornwall": {"enrolled_retailers": ["northwind"], "min_theft_value": {"amount_minor": 10000, "currency": "GBP"}},
    "avon-and-somerset": {"enrolled_retailers": ["contoso"], "min_theft_value": {"amount_minor": 5000, "currency": "GBP"}},
}


def seed_d2p_demo(records: RecordStore, clock: Clock, organisations) -> int:
    """Demo rules for the seeded forces (their own rules, inbox from the organisation)
    and automatic sending off for the retailers. Idempotent; returns how many were new."""
    added = 0
    with records.unit_of_work() as uow:
        for org in organisations:
            if (
                org.kind == "police_force"
                and org.control_room_email
                and org.id in DEMO_RULES
                and uow.get(D2P_RULES.name, org.id, "current") is None
            ):
                rules = ForceRules(
                    control_room_email=org.control_room_email,
                    always_send_categories=["robbery", "violence_against_staff", "hate_incident"],
                    always_send_flags=list(rules_domain.FLAG_NAMES),
                    accepted_categories=["criminal_damage", "fraud", "burglary"],
                    **DEMO_RULES[org.id],
                )
                now = to_iso(clock.now())
                body = rules.model_dump(mode="json")
                uow.insert(
                    D2P_RULES.name, org.id, {"id": "v000001", "force_id": org.id, "version": 1, "rules": body, "at": now, "by": "seed"}
                )
                uow.insert(
                    D2P_RULES.name,
                    org.id,
                    {"id": "current", "force_id": org.id, "version": 1, "rules": body, "updated_at": now, "updated_by": "seed"},
                )
                added += 1
            if org.kind == "retailer" and uow.get(D2P_SETTINGS.name, org.id, "settings") is None:
                uow.insert(
                    D2P_SETTINGS.name,
                    org.id,
                    {"id": "settings", "auto_send": False, "updated_at": to_iso(clock.now()), "updated_by": "seed"},
                )
                added += 1
    return added


# ---- shaping -----------------------------------------------------------------------------


def _etag(value: str | None) -> str | None:
    return value.strip().removeprefix("W/").strip('"') if value else None


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _clean(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _history(doc: dict[str, Any], now: datetime, status: DispatchStatus | None, note: str | None) -> None:
    entry = {"at": to_iso(now), "status": status.value if status else doc["status"], "note": note}
    doc["history"] = (doc.get("history") or [])[-(HISTORY_LIMIT - 1) :] + [entry]


def _rules_out(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "force_id": doc["force_id"],
        "version": doc["version"],
        "updated_at": doc["updated_at"],
        "updated_by": doc["updated_by"],
        "rules": doc["rules"],
        "etag": f'"{doc.get("_etag", "")}"',
    }


def _settings_out(doc: dict[str, Any] | None, org_id: str) -> dict[str, Any]:
    return {
        "organisation_id": org_id,
        "auto_send": bool(doc and doc.get("auto_send")),
        "updated_at": doc.get("updated_at") if doc else None,
    }


def _summary(ev: Evaluation, dispatch: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "eligible": ev.eligible,
        "reasons": ev.reasons,
        "status": dispatch["status"] if dispatch else None,
        "rules_version": ev.rules_version,
        "force_id": ev.force_id,
        "dispatch_id": dispatch["id"] if dispatch else None,
    }


def _dispatch_out(d: dict[str, Any], *, with_email: bool = False) -> dict[str, Any]:
    keys = (
        "id",
        "incident_id",
        "owner_org",
        "force_id",
        "reference",
        "status",
        "auto",
        "rules_version",
        "created_at",
        "sent_at",
        "attempts",
        "to",
        "failure_reason",
        "last_error",
        "delivery",
        "acknowledged_at",
        "crime_reference",
        "history",
    )
    out = {k: d.get(k) for k in keys}
    if with_email:
        out["email"] = d.get("email")
    return out
