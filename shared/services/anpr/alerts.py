"""Alert fan-out (one delivery per subscription and channel for a hit) and delivery with retries (queue handlers)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.anpr import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    alert_content,
    alert_email,
    alert_recipients,
    sign,
)
from shared.domain.audit import AuditAction
from shared.domain.backoff import backoff_seconds
from shared.domain.timestamps import to_iso
from shared.ports import PermanentMailError, TransientMailError, Where, iterate_all
from shared.records import ALERT_DELIVERIES, ALERT_SUBSCRIPTIONS, ANPR_HITS
from shared.services import repository
from shared.services.anpr.common import (
    DELIVERIES_QUEUE,
    AnprDeps,
    forces_sharing_from,
    hashed_id,
    present_hit,
)

log = logging.getLogger("vigil.anpr")

# A delivery in one of these is never attempted again.
FINAL_STATUSES = ("delivered", "dead_lettered", "cancelled", "failed")


@dataclass
class Alerts:
    deps: AnprDeps

    def fan_out(self, tenant: str, hit_id: str) -> int:
        """Make one delivery per subscription and channel of the hit's vehicle owner; returns how many were new.

        Idempotent: delivery ids come from (hit, subscription, channel), so a redelivered
        queue message makes nothing twice."""
        now = self.deps.clock.now()
        with self.deps.records.unit_of_work() as uow:
            hit = uow.get(ANPR_HITS.name, tenant, hit_id)
            if hit is None:
                return 0
            # Only the vehicle's owner is told: the retailer by the subscriptions of the store
            # that saw it, a force by its own subscriptions while the camera owner's ANPR
            # sharing with it stands accepted. Nobody else hears of another's vehicle.
            owner = hit["vehicle_owner"]
            if owner == tenant:
                subs = list(iterate_all(uow, ALERT_SUBSCRIPTIONS.name, [tenant], [Where("stores", "contains", hit["store_id"])]))
            elif owner in forces_sharing_from(uow, tenant):
                subs = list(iterate_all(uow, ALERT_SUBSCRIPTIONS.name, [owner], [Where("force_area", "eq", owner)]))
            else:
                subs = []
            made: list[tuple[str, dict[str, Any]]] = []
            for sub in subs:
                sub_org = repository.tenant(sub)
                channels = (["webhook"] if sub.get("webhook_url") else []) + (["email"] if sub.get("email") else [])
                for channel in channels:
                    delivery_id = hashed_id(hit_id, sub["id"], channel)
                    payload = {
                        "type": "anpr.hit",
                        "alert_id": delivery_id,
                        "subscription_id": sub["id"],
                        "hit": present_hit(hit, sub_org),
                    }
                    doc = {
                        "id": delivery_id,
                        "subscription_id": sub["id"],
                        "hit_id": hit_id,
                        "hit_tenant": tenant,
                        "channel": channel,
                        "status": "pending",
                        "attempts": 0,
                        "created_at": to_iso(now),
                        "payload": payload,
                    }
                    if uow.insert_many(ALERT_DELIVERIES.name, sub_org, [doc])[0]:
                        made.append((sub_org, doc))
                        if sub_org != tenant:
                            # The force collects the camera owner's read with its hit; logged in
                            # the force's chain, since a per-hit entry in the retailer's would
                            # tell it which of its reads the police are watching for.
                            self.deps.audit.record(
                                uow,
                                owner_org=sub_org,
                                principal=None,
                                action=AuditAction.COLLECTION,
                                operation="anpr.alert",
                                entity=f"anpr_hit/{hit_id}",
                                system_actor="anpr-alerts",
                            )
        # Both channels go through the delivery queue, so email gets the same retries,
        # backoff and dead-lettering as webhooks.
        for sub_org, doc in made:
            self.deps.queue.send(DELIVERIES_QUEUE, {"tenant": sub_org, "delivery_id": doc["id"]}, message_id=f"{doc['id']}:1")
        return len(made)

    def handle(self, tenant: str, delivery_id: str, delivery_count: int) -> str:
        """The delivery queue's handler: one attempt (`deliver`). When the attempt raises on
        the queue's last delivery of its message (`webhook_queue_max_deliveries`), the
        delivery is marked failed with the reason before the exception goes back to the
        queue, which dead-letters the message: otherwise it would stay pending for ever."""
        try:
            return self.deliver(tenant, delivery_id)
        except Exception as exc:
            if delivery_count >= self.deps.settings.webhook_queue_max_deliveries:
                # The subscriber reads last_error, and the exception's text may hold the URL,
                # the payload's plate or a library's internals: only its kind is kept, here
                # and in the log.
                reason = (
                    f"the alert could not be handled on any of its {delivery_count} queue deliveries "
                    f"({type(exc).__name__}); it will not be retried"
                )
                self._fail_unless_final(tenant, delivery_id, reason)
                log.error(
                    "alert delivery failed on its last queue delivery", extra={"delivery_id": delivery_id, "error": type(exc).__name__}
                )
            raise

    def _fail_unless_final(self, tenant: str, delivery_id: str, reason: str) -> None:
        with self.deps.records.unit_of_work() as uow:
            doc = uow.get(ALERT_DELIVERIES.name, tenant, delivery_id)
            if doc is None or doc["status"] in FINAL_STATUSES:
                return
            etag = repository.etag(doc)
            doc = repository.body(doc)
            doc.update(status="failed", last_error=reason, failed_at=to_iso(self.deps.clock.now()))
            uow.replace(ALERT_DELIVERIES.name, tenant, doc, if_match=etag)

    def deliver(self, tenant: str, delivery_id: str) -> str:
        """One attempt at an alert delivery (signed webhook or email); schedules the next with
        exponential backoff, dead-letters after `webhook_max_attempts`. Returns the status after."""
        with self.deps.records.unit_of_work() as uow:
            delivery = uow.get(ALERT_DELIVERIES.name, tenant, delivery_id)
            if delivery is None or delivery["status"] in FINAL_STATUSES:
                return delivery["status"] if delivery else "missing"
            sub = uow.get(ALERT_SUBSCRIPTIONS.name, tenant, delivery["subscription_id"])
        if delivery["channel"] == "email":
            return self._deliver_email(tenant, delivery, sub)
        return self._deliver_webhook(tenant, delivery, sub)

    def _deliver_email(self, tenant: str, delivery: dict[str, Any], sub: dict[str, Any] | None) -> str:
        delivery_id = delivery["id"]
        if sub is None or not sub.get("email"):
            self._update_delivery(tenant, delivery_id, status="cancelled")
            return "cancelled"
        now = self.deps.clock.now()
        attempt = int(delivery["attempts"]) + 1
        try:
            # Checked again here: a subscription stored before the rules were tightened may
            # still hold a list in one entry or an encoded line break.
            to = alert_recipients(list(sub["email"]))
            content = alert_content(delivery)
            email = alert_email(
                delivery,
                to=", ".join(to),
                sender=self.deps.settings.alert_mail_from,
                text=self.deps.templates.render("anpr/alert.txt", **content),
                html=self.deps.templates.render("anpr/alert.html", **content),
            )
            self.deps.mail.send(email)
        except (PermanentMailError, ValueError, TypeError) as exc:
            # A message that cannot be built or is refused as it stands never will be: it
            # ends failed (visible in the subscription's deliveries), not pending for ever.
            self._update_delivery(tenant, delivery_id, status="failed", attempts=attempt, last_error=str(exc)[:300])
            return "failed"
        except TransientMailError as exc:
            return self._retry_or_dead_letter(tenant, delivery_id, attempt, now, status=None, error=str(exc)[:300])
        self._update_delivery(tenant, delivery_id, status="delivered", attempts=attempt, delivered_at=to_iso(now))
        return "delivered"

    def _deliver_webhook(self, tenant: str, delivery: dict[str, Any], sub: dict[str, Any] | None) -> str:
        delivery_id = delivery["id"]
        if sub is None or not sub.get("webhook_url"):
            self._update_delivery(tenant, delivery_id, status="cancelled")
            return "cancelled"
        body = json.dumps(delivery["payload"], separators=(",", ":"), sort_keys=True).encode()
        now = self.deps.clock.now()
        timestamp = str(int(now.timestamp()))
        attempt = int(delivery["attempts"]) + 1
        headers = {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(sub["secret"], timestamp, body),
            IDEMPOTENCY_HEADER: delivery_id,
            "Vigil-Attempt": str(attempt),
        }
        result = self.deps.webhooks.post(sub["webhook_url"], body, headers, timeout=self.deps.settings.webhook_timeout_seconds)
        if result.delivered:
            self._update_delivery(
                tenant, delivery_id, status="delivered", attempts=attempt, delivered_at=to_iso(now), last_status=result.status
            )
            return "delivered"
        return self._retry_or_dead_letter(tenant, delivery_id, attempt, now, status=result.status, error=result.error)

    def _retry_or_dead_letter(
        self, tenant: str, delivery_id: str, attempt: int, now: datetime, *, status: int | None, error: str | None
    ) -> str:
        if attempt >= self.deps.settings.webhook_max_attempts:
            self._update_delivery(tenant, delivery_id, status="dead_lettered", attempts=attempt, last_status=status, last_error=error)
            log.warning("alert delivery dead-lettered", extra={"delivery_id": delivery_id, "attempts": attempt})
            return "dead_lettered"
        delay = backoff_seconds(
            attempt, base=self.deps.settings.webhook_backoff_base_seconds, cap=self.deps.settings.webhook_backoff_cap_seconds
        )
        self._update_delivery(
            tenant,
            delivery_id,
            status="retrying",
            attempts=attempt,
            last_status=status,
            last_error=error,
            next_attempt_at=to_iso(now + timedelta(seconds=delay)),
        )
        self.deps.queue.send(
            DELIVERIES_QUEUE, {"tenant": tenant, "delivery_id": delivery_id}, message_id=f"{delivery_id}:{attempt + 1}", delay_seconds=delay
        )
        return "retrying"

    def _update_delivery(self, tenant: str, delivery_id: str, **changes: Any) -> None:
        with self.deps.records.unit_of_work() as uow:
            doc = uow.get(ALERT_DELIVERIES.name, tenant, delivery_id)
            if doc is None:
                return
            etag = repository.etag(doc)
            doc = repository.body(doc)
            doc.update(changes)
            uow.replace(ALERT_DELIVERIES.name, tenant, doc, if_match=etag)
