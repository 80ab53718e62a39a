"""Sending a lookout to one recipient store over one channel (the `lookout_deliveries`
queue the outbox fills): an email to the store's own mailbox, or a signed webhook to a
subscription covering the store (the ANPR alert subscriptions: the same secret, headers
and signature). Rendered when sent, from the lookout and the listing as they then stand,
at the store's level: a lookout lapsed, withdrawn or suspended meanwhile sends nothing."""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from typing import Any

from shared.domain.anpr import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from shared.domain.d2p_email import local_time, region_time_zone
from shared.domain.lookouts import Lookout, LookoutState
from shared.domain.mail import Email
from shared.domain.tenancy import ShareLevel, Store
from shared.domain.timestamps import to_iso
from shared.ports import PermanentMailError
from shared.records import ALERT_SUBSCRIPTIONS, LOOKOUTS
from shared.services.lookouts.deps import LookoutDeps, Subjects, level_now, person_for_staff
from shared.services.repository import body as doc_body

log = logging.getLogger("vigil.lookouts")


class WebhookNotDelivered(Exception):
    """The subscriber did not take the webhook: the queue tries again with backoff."""


def lookout_payload(lk: Lookout, store: Store, person: dict[str, Any] | None, issuer_name: str, base_url: str) -> dict[str, Any]:
    """What a store's systems receive: the lookout at the store's level (no name below `full`)."""
    return {
        "type": "lookout",
        "lookout_id": lk.id,
        "store_id": store.id,
        "issued_by_organisation": issuer_name,
        "kind": lk.kind.value,
        "reason": lk.reason,
        "plate": lk.plate,
        "person": person,
        "expires_at": to_iso(lk.expires_at),
        "console_url": f"{base_url.rstrip('/')}/lookouts?store={store.id}",
    }


def lookout_email(payload: dict[str, Any], *, to: str, sender: str, region: str, store: Store) -> Email:
    """The email to a store's mailbox: who warns, about whom or which vehicle, why, until
    when (local time), and where to acknowledge it. The image is shown in the console only."""
    tz = region_time_zone(region)
    person = payload.get("person") or {}
    who = person.get("name") or ("vehicle " + payload["plate"] if payload.get("plate") else "a person of interest")
    lines = [("From", payload["issued_by_organisation"]), ("Store", store.name)]
    if payload.get("plate"):
        lines.append(("Vehicle", payload["plate"]))
    if person.get("name"):
        lines.append(("Name", person["name"]))
    if person.get("aliases"):
        lines.append(("Also known as", ", ".join(person["aliases"])))
    if person.get("description"):
        lines.append(("Description", person["description"]))
    lines += [("Why", payload["reason"]), ("Until", local_time(payload["expires_at"], tz))]
    opening = f"{payload['issued_by_organisation']} asks {store.name} to look out for {who}. Do not approach: call the police if needed."
    action = f"See the image and acknowledge it in Vigil: {payload['console_url']}"
    text = "\n".join([opening, "", *(f"{k}: {v}" for k, v in lines), "", action]) + "\n"
    rows = "".join(f'<tr><th scope="row">{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>' for k, v in lines)
    page = (
        f'<!doctype html><html lang="en"><body><p>{html.escape(opening)}</p><table>{rows}</table>'
        f'<p><a href="{html.escape(payload["console_url"])}">See and acknowledge the lookout in Vigil</a></p></body></html>'
    )
    return Email(
        to=to,
        sender=sender,
        subject=f"Lookout from {payload['issued_by_organisation']} for {store.name}",
        text=text,
        html=page,
        message_id=f"lookout-{payload['lookout_id']}-{store.id}@vigil",
        custom_args={"lookout_id": payload["lookout_id"], "store_id": store.id},
    )


@dataclass
class DeliverLookout:
    deps: LookoutDeps

    def handle(self, message: dict[str, Any]) -> str:
        """Send one owed email or webhook; returns what happened. A transient mail error or a
        webhook the subscriber did not take raises, so the queue retries with backoff and
        dead-letters after its maximum; an address the provider refuses is not retried."""
        deps = self.deps
        now = deps.now()
        tenant, store_id = str(message["tenant"]), str(message["store_id"])
        subscriber = str(message.get("subscriber") or "")
        with deps.records.read_only() as uow:
            doc = uow.get(LOOKOUTS.name, tenant, str(message["lookout_id"]))
            if doc is None:
                return "gone"
            lk = Lookout.model_validate(doc_body(doc))
            subjects = Subjects.read(uow, [lk])
            sub = None
            if message.get("channel") == "webhook":
                sub = uow.get(ALERT_SUBSCRIPTIONS.name, subscriber, str(message.get("subscription_id")))
        store = deps.directory.store(store_id)
        level = level_now(deps, lk, store) if store is not None else None
        if level is None or store is None or subjects.state(lk, now, for_org=store.organisation_id) != LookoutState.ACTIVE:
            return "lapsed"
        profile = subjects.profile(lk)
        issuer = deps.directory.organisation(lk.organisation_id)
        payload = lookout_payload(
            lk,
            store,
            person_for_staff(profile, level),
            issuer.name if issuer else lk.organisation_id,
            deps.region_base_url,
        )
        if message.get("channel") == "webhook":
            return self._webhook(payload, sub, message_id=f"lookout-{lk.id}-{store.id}-{message.get('subscription_id')}")
        return self._email(payload, store, level)

    def _email(self, payload: dict[str, Any], store: Store, level: ShareLevel) -> str:
        if not store.contact_email:
            return "no_address"
        email = lookout_email(
            payload, to=store.contact_email, sender=self.deps.settings.alert_mail_from, region=self.deps.settings.region, store=store
        )
        try:
            self.deps.mail.send(email)
        except PermanentMailError:
            log.warning("lookout email refused by the mail provider", extra={"lookout_id": payload["lookout_id"]})
            return "undeliverable"
        return "sent"

    def _webhook(self, payload: dict[str, Any], sub: dict[str, Any] | None, *, message_id: str) -> str:
        if sub is None or not sub.get("webhook_url") or not sub.get("secret"):
            return "cancelled"
        raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = str(int(self.deps.now().timestamp()))
        headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(sub["secret"], timestamp, raw), IDEMPOTENCY_HEADER: message_id}
        result = self.deps.webhooks.post(sub["webhook_url"], raw, headers, timeout=self.deps.settings.webhook_timeout_seconds)
        if not result.delivered:
            raise WebhookNotDelivered(f"the subscriber answered {result.status or result.error}")
        return "delivered"
