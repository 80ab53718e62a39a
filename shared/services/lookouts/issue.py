"""Issuing a lookout: its subject checked (a listed person in force, never a minor, or a
vehicle of interest), its recipients chosen from the stores in its area that the sharing
agreements let it reach, stored, and one outbox message owed per recipient mailbox and
webhook, written in batches in the same unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Invalid
from shared.domain.lookouts import (
    MAX_RECIPIENT_STORES,
    Lookout,
    LookoutIn,
    Recipient,
    check_lookout,
    in_area,
    recipient_level,
)
from shared.domain.offenders import PersonOfInterest, is_minor, listing_in_force, may_leave_organisation
from shared.domain.tenancy import OrgKind, Principal, Store
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import UnitOfWork, iterate_all
from shared.records import ALERT_SUBSCRIPTIONS, LOOKOUTS, OUTBOX, VEHICLES
from shared.services import idempotency
from shared.services.anpr.common import plate_or_invalid
from shared.services.lookouts.deps import QUEUE, LookoutDeps, find
from shared.services.offenders.catalogue import profiles_by_ids
from shared.services.repository import dump

OPERATION = "lookout.issue"
OUTBOX_BATCH = 100  # outbox messages per insert_many


@dataclass(frozen=True)
class Issued:
    lookout: Lookout
    created: bool  # False when an Idempotency-Key retry answered the first request's
    messages: int = 0  # emails and webhooks owed


def _refuse(field: str, message: str) -> Invalid:
    return Invalid(f"The lookout cannot be issued: {message}", errors=[{"field": field, "message": message}])


@dataclass
class IssueLookout:
    deps: LookoutDeps

    def issue(self, principal: Principal, body: LookoutIn, idempotency_key: str | None) -> Issued:
        """Issue a lookout to the stores in its area the caller's organisation may reach.

        Invalid (naming the field) for: no subject or area, an expiry past or beyond 30
        days, a person who is not a listed person of interest of the caller's organisation,
        whose listing is not in force (contested, past review, unlisted, merged) or who is
        a minor, a plate that is not a current vehicle of interest, or an area holding no
        store the lookout may reach. A retry with the same Idempotency-Key answers the
        lookout it issued."""
        deps = self.deps
        key = idempotency.check_key(idempotency_key)
        request_fingerprint = idempotency.fingerprint(OPERATION, body.model_dump(mode="json"))
        now = deps.now()
        issuer = principal.organisation_id
        with deps.records.unit_of_work() as uow:
            remembered = idempotency.replay(uow, principal, OPERATION, key, request_fingerprint, now=now)
            if remembered is not None:
                return Issued(find(deps, uow, principal, remembered.resource.rpartition("/")[2]).record, created=False)
            check_lookout(body, now)
            profile, plate = self._subject(uow, issuer, body, now)
            recipients = self._recipients(principal, body)
            if profile is not None and any(r.organisation_id != issuer for r in recipients) and not may_leave_organisation(profile, now):
                raise _refuse("offender_id", "this listing may not be shown outside your organisation.")
            image = profile.image_evidence_ids[0] if profile is not None and profile.image_evidence_ids else None
            lookout = Lookout.issue(
                body, issuer=issuer, by=principal.user_id, now=now, plate=plate, recipients=recipients, image_evidence_id=image
            )
            uow.insert(LOOKOUTS.name, issuer, dump(lookout))
            message_ids = self._owe_deliveries(uow, lookout, now)
            deps.audit.record(
                uow,
                owner_org=issuer,
                principal=principal,
                action=AuditAction.COLLECTION,
                operation=OPERATION,
                entity=f"lookout/{lookout.id}",
                fields=sorted(body.model_fields_set),
                subjects=[lookout.offender_id] if lookout.offender_id else [],
            )
            if lookout.recipient_orgs != [issuer]:
                # Each other organisation reached: a disclosure the issuer accounts for.
                deps.audit.record(
                    uow,
                    owner_org=issuer,
                    principal=principal,
                    action=AuditAction.DISCLOSURE,
                    operation="lookout.disclose",
                    entity=f"lookout/{lookout.id}",
                    fields=[o for o in lookout.recipient_orgs if o != issuer],
                    subjects=[lookout.offender_id] if lookout.offender_id else [],
                )
            try:
                idempotency.remember(uow, principal, OPERATION, key, request_fingerprint, f"lookout/{issuer}/{lookout.id}", now=now)
            except Conflict:
                raise Conflict("A lookout with this Idempotency-Key is being issued; retry to see its answer.") from None
        deps.outbox.relay_now(issuer, message_ids)
        return Issued(lookout, created=True, messages=len(message_ids))

    # ---- subject -------------------------------------------------------------------------
    def _subject(self, uow: UnitOfWork, issuer: str, body: LookoutIn, now: datetime) -> tuple[PersonOfInterest | None, str | None]:
        if body.offender_id is not None:
            profile = profiles_by_ids(uow, issuer, [body.offender_id]).get(body.offender_id)
            if profile is None:
                raise _refuse("offender_id", "this is not a person of interest of your organisation.")
            # Checked before the listing: a minor is refused in those words, whatever else holds.
            if is_minor(profile, now.date()):
                raise _refuse("offender_id", "no lookout is ever issued for a minor.")
            if not listing_in_force(profile, now):
                raise _refuse(
                    "offender_id",
                    f"the listing is not in force ({profile.status.value}, or past its review date or expiry): review it first.",
                )
            return profile, None
        plate = plate_or_invalid(body.plate or "", "plate")
        vehicle = uow.get(VEHICLES.name, issuer, plate)
        if vehicle is None or from_iso(vehicle["until"]) <= now:
            raise _refuse("plate", "this plate is not a current vehicle of interest of your organisation.")
        return None, plate

    # ---- recipients ----------------------------------------------------------------------
    def _recipients(self, principal: Principal, body: LookoutIn) -> list[Recipient]:
        deps = self.deps
        issuer = principal.organisation_id
        if principal.is_police and body.force_area is not None and body.force_area != issuer:
            raise _refuse("force_area", f"a force warns the stores in its own area ({issuer}).")
        centre = self._centre(body)
        out: list[Recipient] = []
        for store in self._stores_here():
            if not in_area(store, centre=centre, within_km=body.within_km, force_area=body.force_area):
                continue
            level = recipient_level(
                issuer_id=issuer,
                issuer_is_police=principal.is_police,
                store=store,
                issuer_shares=deps.directory.share_level(issuer, store.organisation_id),
                store_owner_shares_with_issuer=deps.directory.share_level(store.organisation_id, issuer),
            )
            if level is not None:
                out.append(Recipient(store_id=store.id, organisation_id=store.organisation_id, level=level))
        if not out:
            raise _refuse("within_km" if body.force_area is None else "force_area", "no store you may warn is in that area.")
        if len(out) > MAX_RECIPIENT_STORES:
            raise _refuse("within_km", f"the area holds {len(out)} stores; a lookout reaches at most {MAX_RECIPIENT_STORES}.")
        return sorted(out, key=lambda r: r.store_id)

    def _centre(self, body: LookoutIn) -> tuple[float, float] | None:
        if body.near_store_id is None:
            if body.near_latitude is None or body.near_longitude is None:
                return None
            return (body.near_latitude, body.near_longitude)
        store = self.deps.directory.store(body.near_store_id)
        if store is None:
            raise _refuse("near_store_id", f"there is no store {body.near_store_id}.")
        if store.latitude is None or store.longitude is None:
            raise _refuse("near_store_id", f"{store.name} has no location on record; give a point or a force area.")
        return (store.latitude, store.longitude)

    def _stores_here(self) -> Iterator[Store]:
        for org in self.deps.directory.organisations_here():
            if org.kind == OrgKind.RETAILER:
                yield from self.deps.directory.stores_of(org.id)

    # ---- deliveries ----------------------------------------------------------------------
    def _owe_deliveries(self, uow: UnitOfWork, lookout: Lookout, now: datetime) -> list[str]:
        """One outbox message per recipient store's mailbox and per webhook subscription
        covering the store, inserted in batches. Rendered when sent, from the lookout as it
        then stands: a lookout lapsed meanwhile sends nothing."""
        deps = self.deps
        created = to_iso(now)
        hooks: dict[str, dict[str, list[str]]] = {}
        for org in lookout.recipient_orgs:
            by_store: dict[str, list[str]] = {}
            for sub in iterate_all(uow, ALERT_SUBSCRIPTIONS.name, [org], []):
                if sub.get("webhook_url"):
                    for store_id in sub.get("stores") or []:
                        by_store.setdefault(store_id, []).append(sub["id"])
            hooks[org] = by_store
        docs: list[dict[str, Any]] = []
        for r in lookout.recipients:
            store = deps.directory.store(r.store_id)
            channels: list[tuple[str, str | None]] = [("email", None)] if store is not None and store.contact_email else []
            channels += [("webhook", sub_id) for sub_id in hooks.get(r.organisation_id, {}).get(r.store_id, [])]
            for channel, sub_id in channels:
                message_id = f"lookout-{lookout.id}-{r.store_id}-{sub_id or channel}"
                body = {
                    "tenant": lookout.organisation_id,
                    "lookout_id": lookout.id,
                    "store_id": r.store_id,
                    "channel": channel,
                    "subscription_id": sub_id,
                    "subscriber": r.organisation_id,
                }
                docs.append({"id": message_id, "queue": QUEUE, "message_id": message_id, "body": body, "created_at": created})
        for start in range(0, len(docs), OUTBOX_BATCH):
            uow.insert_many(OUTBOX.name, lookout.organisation_id, docs[start : start + OUTBOX_BATCH])
        return [d["id"] for d in docs]
