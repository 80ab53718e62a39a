"""Alert subscriptions: who is told about hits, by email or signed webhook, and what was sent to them."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.domain.anpr import (
    SubscriptionIn,
)
from shared.domain.audit import AuditAction
from shared.domain.errors import Invalid, NotFound
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import Where
from shared.records import ALERT_DELIVERIES, ALERT_SUBSCRIPTIONS
from shared.services import repository
from shared.services.anpr.common import (
    AnprDeps,
)


@dataclass
class Subscriptions:
    deps: AnprDeps

    def _check_webhook_url(self, url: str) -> None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        ok = bool(host) and (parts.scheme == "https" or (parts.scheme == "http" and host in self.deps.settings.webhook_http_hosts))
        if not ok or parts.username or parts.password:
            allowed = ", ".join(self.deps.settings.webhook_http_hosts) or "none"
            raise Invalid(
                f"webhook_url must be an https URL without credentials (plain http only for: {allowed}).",
                errors=[{"field": "webhook_url", "message": "not an allowed URL"}],
            )
        refused = self.deps.webhooks.destination_problem(url)
        if refused:
            raise Invalid(f"webhook_url is refused: {refused}.", errors=[{"field": "webhook_url", "message": refused}])

    def subscribe(self, principal: Principal, body: SubscriptionIn) -> dict[str, Any]:
        """Subscribe to hits at stores (retailers) or in the caller's force area (police).

        The answer carries the webhook signing secret; it is shown this once."""
        org = principal.organisation_id
        if not body.email and not body.webhook_url:
            raise Invalid("Name at least one channel: email or webhook_url.", errors=[{"field": "email"}, {"field": "webhook_url"}])
        if body.webhook_url:
            self._check_webhook_url(body.webhook_url)
        if principal.is_retailer:
            if body.force_area or not body.stores:
                raise Invalid(
                    "Retailers subscribe by store: list stores, not force_area.", errors=[{"field": "stores", "message": "required"}]
                )
            own = {s.id for s in self.deps.directory.stores_of(org)}
            bad = [i for i, s in enumerate(body.stores) if s not in own]
            if bad:
                raise Invalid(
                    "Some stores are not your organisation's.",
                    errors=[{"field": f"stores.{i}", "message": "not one of your stores"} for i in bad],
                )
            force_area = None
        else:
            if body.stores or (body.force_area and body.force_area != org):
                raise Invalid("Forces subscribe to their own force area.", errors=[{"field": "force_area", "message": f"must be {org}"}])
            force_area = org
        now = self.deps.clock.now()
        sub_id = str(uuid.uuid4())
        secret = "whsec_" + secrets.token_urlsafe(32) if body.webhook_url else None
        doc = {
            "id": sub_id,
            "organisation_id": org,
            "stores": sorted(set(body.stores)),
            "force_area": force_area,
            "email": body.email,
            "webhook_url": body.webhook_url,
            "secret": secret,
            "description": body.description,
            "created_by": principal.user_id,
            "created_at": to_iso(now),
        }
        with self.deps.records.unit_of_work() as uow:
            uow.insert(ALERT_SUBSCRIPTIONS.name, org, doc)
            self.deps.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.COLLECTION,
                operation="alert_subscription.create",
                entity=f"alert_subscription/{sub_id}",
                fields=sorted(body.model_fields_set),
            )
        out = self._present_subscription(doc)
        out["secret"] = secret
        return out

    @staticmethod
    def _present_subscription(doc: dict[str, Any]) -> dict[str, Any]:
        out = repository.body(doc)
        out.pop("secret", None)
        return out

    def list_subscriptions(self, principal: Principal, *, limit: int, continuation: str | None) -> dict[str, Any]:
        """The caller's organisation's subscriptions (secrets never shown again)."""
        with self.deps.records.read_only() as uow:
            page = uow.query(
                ALERT_SUBSCRIPTIONS.name, [principal.organisation_id], [], order_by="created_at", limit=limit, continuation=continuation
            )
        return {"items": [self._present_subscription(d) for d in page.items], "continuation": page.continuation}

    def unsubscribe(self, principal: Principal, sub_id: str) -> None:
        """Stop alerts to a subscription; queued webhook attempts for it are cancelled."""
        org = principal.organisation_id
        with self.deps.records.unit_of_work() as uow:
            if len(sub_id) > 64 or not uow.delete(ALERT_SUBSCRIPTIONS.name, org, sub_id):
                raise NotFound(f"Subscription {sub_id} was not found.")
            self.deps.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.ERASURE,
                operation="alert_subscription.delete",
                entity=f"alert_subscription/{sub_id}",
            )

    def deliveries(self, principal: Principal, sub_id: str, *, limit: int, continuation: str | None) -> dict[str, Any]:
        """Alerts sent (or being retried, or dead-lettered) to one of the caller's subscriptions."""
        org = principal.organisation_id
        with self.deps.records.read_only() as uow:
            if len(sub_id) > 64 or uow.get(ALERT_SUBSCRIPTIONS.name, org, sub_id) is None:
                raise NotFound(f"Subscription {sub_id} was not found.")
            page = uow.query(
                ALERT_DELIVERIES.name,
                [org],
                [Where("subscription_id", "eq", sub_id)],
                order_by="created_at",
                descending=True,
                limit=limit,
                continuation=continuation,
            )
        return {
            "items": [{k: v for k, v in repository.body(d).items() if k != "payload"} for d in page.items],
            "continuation": page.continuation,
        }
