"""ANPR: plate-read ingest, vehicles of interest, matching and hits, alert fan-out and
signed webhook delivery, searches by data age, and expiry of reads.

Who sees what:
- A retailer's reads live in its own partition. Its investigators see its reads and hits.
- Police see reads and hits of organisations that share ANPR with their force (the
  `anpr` flag on a sharing agreement, missing = false).
- A read is matched against vehicles of interest of its own organisation and of the
  forces its organisation shares ANPR with.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from shared.domain.anpr import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    PromoteIn,
    ReadBatchIn,
    ReadWindow,
    SubscriptionIn,
    Tier,
    VehicleIn,
    alert_email,
    interest_holds,
    interest_until,
    read_expiry_text,
    read_id,
    read_problems,
    search_tier,
    sign,
)
from shared.domain.audit import AuditAction
from shared.domain.backoff import backoff_seconds
from shared.domain.errors import Forbidden, Invalid, NotFound, PayloadTooLarge, PreconditionFailed, PreconditionRequired
from shared.domain.incidents import PlateError, normalise_plate, view_for_partner
from shared.domain.tenancy import PLATFORM_TENANT, Principal, Role
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import (
    Clock,
    JobReport,
    MessageQueue,
    PermanentMailError,
    RecordStore,
    TransientMailError,
    UnitOfWork,
    WebhookSender,
    Where,
    iterate_all,
)
from shared.records import ALERT_DELIVERIES, ALERT_SUBSCRIPTIONS, ANPR_HITS, ANPR_READS, ANPR_SETTINGS, SHARING, VEHICLES
from shared.services.audit import AuditTrail
from shared.services.directory import Directory
from shared.settings import Settings

log = logging.getLogger("vigil.anpr")

ALERTS_QUEUE = "anpr_alerts"
DELIVERIES_QUEUE = "webhook_deliveries"

READ_SEARCHERS = (Role.RETAILER_INVESTIGATOR, Role.POLICE_OFFICER, Role.POLICE_ANALYST)
VEHICLE_KEEPERS = (Role.RETAILER_INVESTIGATOR, Role.POLICE_ANALYST)
SUBSCRIBERS = (Role.RETAILER_INVESTIGATOR, Role.RETAILER_ADMIN, Role.POLICE_ANALYST, Role.POLICE_ADMIN)

_IN_CHUNK = 100  # values per `in` query: bounded for both SQLite and Cosmos


def _h(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _plate(value: str, field: str) -> str:
    try:
        return normalise_plate(value)
    except PlateError as exc:
        raise Invalid(str(exc), errors=[{"field": field, "message": str(exc)}]) from None


@dataclass
class ReadQuery:
    plate: str
    store_id: str | None = None
    captured_from: datetime | None = None
    captured_to: datetime | None = None
    purpose: str | None = None
    authorised_by: str | None = None


@dataclass
class AnprService:
    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    incidents: Any  # IncidentService: `locate` for access to linked incidents
    queue: MessageQueue
    webhooks: WebhookSender
    settings: Settings
    mail: Any = None  # the mail port (shared.ports.MailSender)
    outbox: Any = None  # shared.services.outbox.Outbox: a hit's alert is written with the hit

    # ---- sharing ---------------------------------------------------------------------
    def forces_sharing_from(self, uow: UnitOfWork, org: str) -> list[str]:
        """Forces `org` shares ANPR with (their vehicles of interest match its reads)."""
        docs = iterate_all(uow, SHARING.name, [PLATFORM_TENANT], [Where("owner_id", "eq", org)])
        return sorted(d["partner_id"] for d in docs if d.get("anpr"))

    def orgs_sharing_with(self, uow: UnitOfWork, force: str) -> list[str]:
        """Organisations sharing ANPR with `force` (it sees their reads and hits)."""
        docs = iterate_all(uow, SHARING.name, [PLATFORM_TENANT], [Where("partner_id", "eq", force)])
        return sorted(d["owner_id"] for d in docs if d.get("anpr"))

    def retention_days(self, uow: UnitOfWork, org: str) -> int:
        """Days a read of `org` lives: its own setting, else the stamp's default."""
        doc = uow.get(ANPR_SETTINGS.name, org, "settings")
        if doc and doc.get("read_retention_days"):
            return int(doc["read_retention_days"])
        return self.settings.anpr_read_retention_days

    # ---- ingest ----------------------------------------------------------------------
    def ingest(self, principal: Principal, batch: ReadBatchIn) -> dict[str, Any]:
        """Store a batch of reads from a camera system and match it against vehicles of interest.

        The whole batch is checked before anything is written: a bad read refuses the batch
        (422, each bad read named by index). Re-sent reads (same store, camera, plate and
        moment) are stored once; a hit is made once per read and vehicle owner.
        """
        limit = self.settings.anpr_max_batch_reads
        if len(batch.reads) > limit:
            raise PayloadTooLarge(f"A batch holds at most {limit} reads; this one has {len(batch.reads)}. Split it.", max_reads=limit)
        org = principal.organisation_id
        now = self.clock.now()
        stores = {s.id: s for s in self.directory.stores_of(org)}
        # The batch is checked and its records built before the write transaction opens:
        # writers queue on one lock, so it is held only for the writes themselves.
        with self.records.read_only() as snapshot:
            retention = self.retention_days(snapshot, org)
        errors: list[dict[str, Any]] = []
        docs: list[dict[str, Any]] = []
        received = to_iso(now)
        window = ReadWindow.at(now, retention_days=retention, max_patch_bytes=self.settings.anpr_max_patch_bytes)
        allowed = principal.stores
        device = principal.user_id
        for i, read in enumerate(batch.reads):
            store = stores.get(read.store_id)
            if store is None or (allowed and read.store_id not in allowed):
                errors.append(
                    {"field": f"reads.{i}.store_id", "message": f"store {read.store_id} is not one of this camera system's stores"}
                )
                continue
            captured = to_iso(read.captured_at)
            problems = read_problems(read, captured, window)
            if problems:
                errors.extend({"field": f"reads.{i}.{p.split(':', 1)[0]}", "message": p.split(": ", 1)[1]} for p in problems)
                continue
            plate = normalise_plate(read.plate)
            docs.append(
                {
                    "id": read_id(read.store_id, read.camera_id, plate, captured),
                    "plate": plate,
                    "plate_raw": read.plate,
                    "camera_id": read.camera_id,
                    "store_id": read.store_id,
                    "force_id": store.force_id,
                    "captured_at": captured,
                    "confidence": read.confidence,
                    "direction": read.direction,
                    "plate_image": read.plate_image,
                    "received_at": received,
                    "device": device,
                    "expires_at": read_expiry_text(captured, retention),
                }
            )
        if errors:
            bad = sorted({int(e["field"].split(".")[1]) for e in errors})
            raise Invalid(
                f"{len(bad)} of {len(batch.reads)} reads are not valid (indexes {', '.join(map(str, bad[:20]))}); the batch was refused and nothing was stored.",
                errors=errors[:200],
                bad_reads=bad,
            )
        # Matching only reads vehicles of interest, so it too runs before the write lock is
        # taken; only reads stored now (not re-sent ones) keep their hits.
        with self.records.read_only() as snapshot:
            candidates = self._match(snapshot, org, docs, now) if docs else []
        with self.records.unit_of_work() as uow:
            inserted = uow.insert_many(ANPR_READS.name, org, docs)
            new = [d for d, ok in zip(docs, inserted, strict=True) if ok]
            stored = {d["id"] for d in new} if candidates else set()
            hits = [h for h in candidates if h["read_id"] in stored]
            hit_new = uow.insert_many(ANPR_HITS.name, org, hits) if hits else []
            hits = [h for h, ok in zip(hits, hit_new, strict=True) if ok]
            self.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.COLLECTION,
                operation="anpr.ingest",
                entity="anpr_read",
                fields=["plate", "camera_id", "store_id", "captured_at"],
                subjects=[d["id"] for d in new][:1000],
            )
            if hits:
                self.audit.record(
                    uow,
                    owner_org=org,
                    principal=principal,
                    action=AuditAction.COMBINATION,
                    operation="anpr.match",
                    entity="anpr_hit",
                    fields=["plate"],
                    subjects=[h["id"] for h in hits],
                )
                # The alert is owed from the moment the hit exists: its message is written with
                # the hit, so a queue outage delays the alert (the outbox relay sends it) instead
                # of losing it.
                for h in hits:
                    self.outbox.put(uow, org, queue=ALERTS_QUEUE, message_id=f"hit-{h['id']}", body={"tenant": org, "hit_id": h["id"]})
        if hits:
            self.outbox.relay_now(org, [f"hit-{h['id']}" for h in hits])
        index = {d["id"]: i for i, d in enumerate(docs)}
        return {
            "accepted": len(docs),
            "stored": len(new),
            "duplicates": len(docs) - len(new),
            "hits": [
                {"id": h["id"], "read_index": index[h["read_id"]], "plate": h["plate"], "vehicle_owner": h["vehicle_owner"]} for h in hits
            ],
        }

    def _match(self, uow: UnitOfWork, org: str, reads: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """Hits for `reads`: one indexed `in` lookup per chunk of distinct plates."""
        owners = [org, *self.forces_sharing_from(uow, org)]
        plates = sorted({r["plate"] for r in reads})
        vehicles: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(plates), _IN_CHUNK):
            chunk = plates[start : start + _IN_CHUNK]
            # Ordered by plate so SQLite walks the (tenant, plate) index instead of the whole table.
            for v in iterate_all(uow, VEHICLES.name, owners, [Where("plate", "in", chunk)], order_by="plate", limit=1000):
                vehicles.setdefault(v["plate"], []).append(v)
        hits = []
        created = to_iso(now)
        for r in reads:
            for v in vehicles.get(r["plate"], ()):
                if not interest_holds(v, from_iso(r["captured_at"])):
                    continue
                owner = v["_tenant"]
                hits.append(
                    {
                        "id": _h(r["id"], owner),
                        "read_id": r["id"],
                        "plate": r["plate"],
                        "plate_raw": r["plate_raw"],
                        "camera_id": r["camera_id"],
                        "store_id": r["store_id"],
                        "force_id": r["force_id"],
                        "captured_at": r["captured_at"],
                        "confidence": r["confidence"],
                        "direction": r["direction"],
                        "vehicle_owner": owner,
                        "vehicle_reason": v["reason"],
                        "incident_ids": list(v.get("incident_ids", [])),
                        # Linked hits go with their incidents; unlinked ones by the ANPR-hit schedule.
                        "linked": bool(v.get("incident_ids")),
                        "created_at": created,
                    }
                )
        return hits

    # ---- searches --------------------------------------------------------------------
    def _visible_owners(self, uow: UnitOfWork, principal: Principal) -> list[str]:
        if principal.is_retailer:
            return [principal.organisation_id]
        if principal.is_police:
            return self.orgs_sharing_with(uow, principal.organisation_id)
        return []

    def _check_tier(
        self, principal: Principal, searched_from: datetime, now: datetime, purpose: str | None, authorised_by: str | None
    ) -> Tier:
        days = self.settings.anpr_search_days_without_authorisation
        tier = search_tier(searched_from, now, days)
        if tier == Tier.AUTHORISED:
            if not principal.has(Role.POLICE_ANALYST):
                raise Forbidden(
                    f"Reads older than {days} days can only be searched by a Police.Analyst with a stated purpose and an authorising officer's id.",
                    oldest_without_authorisation=to_iso(now - timedelta(days=days)),
                )
            if not authorised_by:
                raise Invalid(
                    f"Searching reads older than {days} days needs the authorising officer's id (authorised_by).",
                    errors=[{"field": "authorised_by", "message": "required for reads older than the ordinary window"}],
                )
        if not purpose:
            raise Invalid(
                "ANPR searches need a stated purpose (query parameter 'purpose').", errors=[{"field": "purpose", "message": "required"}]
            )
        return tier

    def _audit_search(
        self,
        uow: UnitOfWork,
        principal: Principal,
        operation: str,
        entity: str,
        by_owner: dict[str, list[str]],
        fields: list[str],
        purpose: str | None,
    ) -> None:
        for owner, ids in by_owner.items() or [(principal.organisation_id, [])]:
            own = owner == principal.organisation_id
            self.audit.record(
                uow,
                owner_org=owner,
                principal=principal,
                action=AuditAction.CONSULTATION if own else AuditAction.DISCLOSURE,
                operation=operation,
                entity=entity,
                fields=fields,
                subjects=ids,
                purpose=purpose,
                recipient_org=None if own else principal.organisation_id,
            )
        if not principal.is_retailer:
            self.audit.record(
                uow,
                owner_org=principal.organisation_id,
                principal=principal,
                action=AuditAction.CONSULTATION,
                operation=operation,
                entity=entity,
                fields=fields,
                subjects=[i for ids in by_owner.values() for i in ids],
                purpose=purpose,
            )

    def search_reads(self, principal: Principal, q: ReadQuery, *, limit: int, continuation: str | None) -> dict[str, Any]:
        """Reads of one plate the caller may see, newest first, within the tier its window needs."""
        plate = _plate(q.plate, "plate")
        now = self.clock.now()
        days = self.settings.anpr_search_days_without_authorisation
        searched_from = q.captured_from or now - timedelta(days=days)
        tier = self._check_tier(principal, searched_from, now, q.purpose, q.authorised_by)
        purpose = q.purpose if tier == Tier.ORDINARY else f"{q.purpose} (authorised by {q.authorised_by})"
        where = [Where("plate", "eq", plate), Where("captured_at", "ge", to_iso(searched_from)), Where("expires_at", "gt", to_iso(now))]
        if q.captured_to:
            where.append(Where("captured_at", "lt", to_iso(q.captured_to)))
        if q.store_id:
            where.append(Where("store_id", "eq", q.store_id))
        with self.records.unit_of_work() as uow:
            owners = self._visible_owners(uow, principal)
            page = uow.query(
                ANPR_READS.name, owners, where, order_by="captured_at", descending=True, limit=limit, continuation=continuation
            )
            by_owner: dict[str, list[str]] = {}
            for d in page.items:
                by_owner.setdefault(d["_tenant"], []).append(d["id"])
            self._audit_search(uow, principal, "anpr.read.search", "anpr_read", by_owner, ["plate"], purpose)
        return {
            "items": [self._present_read(d) for d in page.items],
            "continuation": page.continuation,
            "searched_from": to_iso(searched_from),
            "tier": tier.value,
        }

    def get_read(self, principal: Principal, read_id_: str, *, purpose: str | None, authorised_by: str | None) -> dict[str, Any]:
        """One read the caller may see (404 exactly as missing otherwise)."""
        missing = NotFound(f"Read {read_id_} was not found.")
        if len(read_id_) > 64:
            raise missing
        now = self.clock.now()
        with self.records.unit_of_work() as uow:
            doc = None
            for owner in self._visible_owners(uow, principal):
                doc = uow.get(ANPR_READS.name, owner, read_id_)
                if doc is not None:
                    break
            if doc is None or from_iso(doc["expires_at"]) <= now:
                raise missing
            tier = self._check_tier(principal, from_iso(doc["captured_at"]), now, purpose, authorised_by)
            stated = purpose if tier == Tier.ORDINARY else f"{purpose} (authorised by {authorised_by})"
            self._audit_search(uow, principal, "anpr.read.read", f"anpr_read/{read_id_}", {doc["_tenant"]: [read_id_]}, [], stated)
        return self._present_read(doc)

    @staticmethod
    def _present_read(doc: dict[str, Any]) -> dict[str, Any]:
        out = _public(doc)
        out.pop("device", None)
        return out

    def list_hits(
        self,
        principal: Principal,
        *,
        captured_from: datetime | None,
        captured_to: datetime | None,
        store_id: str | None,
        plate: str | None,
        purpose: str | None,
        limit: int,
        continuation: str | None,
    ) -> dict[str, Any]:
        """Hits on reads the caller may see, newest first. A vehicle's reason and incidents are
        shown only to the organisation that listed it."""
        if principal.is_police and not purpose:
            raise Invalid(
                "Police searches need a stated purpose (query parameter 'purpose').", errors=[{"field": "purpose", "message": "required"}]
            )
        where: list[Where] = []
        if captured_from:
            where.append(Where("captured_at", "ge", to_iso(captured_from)))
        if captured_to:
            where.append(Where("captured_at", "lt", to_iso(captured_to)))
        if store_id:
            where.append(Where("store_id", "eq", store_id))
        if plate:
            where.append(Where("plate", "eq", _plate(plate, "plate")))
        with self.records.unit_of_work() as uow:
            owners = self._visible_owners(uow, principal)
            page = uow.query(ANPR_HITS.name, owners, where, order_by="captured_at", descending=True, limit=limit, continuation=continuation)
            by_owner: dict[str, list[str]] = {}
            for d in page.items:
                by_owner.setdefault(d["_tenant"], []).append(d["id"])
            self._audit_search(uow, principal, "anpr.hit.search", "anpr_hit", by_owner, sorted(w.field for w in where), purpose)
        return {"items": [self._present_hit(d, principal.organisation_id) for d in page.items], "continuation": page.continuation}

    @staticmethod
    def _present_hit(doc: dict[str, Any], viewer: str) -> dict[str, Any]:
        out = _public(doc)
        if doc["vehicle_owner"] != viewer:
            out["vehicle_reason"] = None
            out["incident_ids"] = []
        return out

    # ---- vehicles of interest ----------------------------------------------------------
    def list_vehicles(self, principal: Principal, *, limit: int, continuation: str | None) -> dict[str, Any]:
        """The caller's organisation's vehicles of interest, by plate."""
        org = principal.organisation_id
        with self.records.unit_of_work() as uow:
            page = uow.query(VEHICLES.name, [org], [], order_by="plate", limit=limit, continuation=continuation)
            self.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.CONSULTATION,
                operation="vehicle.list",
                entity="vehicle",
                subjects=[d["id"] for d in page.items],
            )
        return {"items": [self._present_vehicle(d) for d in page.items], "continuation": page.continuation}

    @staticmethod
    def _present_vehicle(doc: dict[str, Any]) -> dict[str, Any]:
        out = _public(doc)
        out["etag"] = f'"{doc["_etag"]}"'
        return out

    def _check_incidents(self, uow: UnitOfWork, principal: Principal, ids: list[str]) -> None:
        for i, incident_id in enumerate(ids):
            try:
                self.incidents.locate(uow, principal, incident_id)
            except NotFound:
                raise Invalid(
                    f"Incident {incident_id} was not found.", errors=[{"field": f"incident_ids.{i}", "message": "not found"}]
                ) from None

    def put_vehicle(self, principal: Principal, plate_text: str, body: VehicleIn, if_match: str | None) -> tuple[dict[str, Any], bool]:
        """List a vehicle of interest, or change one (If-Match needed to change). Returns (vehicle, created)."""
        plate = _plate(plate_text, "plate")
        org = principal.organisation_id
        now = self.clock.now()
        until = interest_until(body.until, now, self.settings.anpr_vehicle_interest_days)
        with self.records.unit_of_work() as uow:
            self._check_incidents(uow, principal, body.incident_ids)
            existing = uow.get(VEHICLES.name, org, plate)
            doc = {
                "id": plate,
                "plate": plate,
                "plate_raw": plate_text,
                "reason": body.reason,
                "incident_ids": body.incident_ids,
                "until": to_iso(until),
                "make": body.make,
                "model": body.model,
                "colour": body.colour,
                "owner_org": org,
                "updated_by": principal.user_id,
                "updated_at": to_iso(now),
            }
            if existing is None:
                doc.update(added_by=principal.user_id, added_at=to_iso(now))
                etag = uow.insert(VEHICLES.name, org, doc)
                action = AuditAction.COLLECTION
            else:
                if not if_match:
                    raise PreconditionRequired(f"Vehicle {plate} is already listed: send If-Match with its ETag to change it.")
                if _unquote(if_match) != existing["_etag"]:
                    raise PreconditionFailed(f"Vehicle {plate} has changed since you read it.")
                doc.update(added_by=existing["added_by"], added_at=existing["added_at"])
                etag = uow.replace(VEHICLES.name, org, doc, if_match=existing["_etag"])
                action = AuditAction.ALTERATION
            self.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=action,
                operation="vehicle.put",
                entity=f"vehicle/{plate}",
                fields=sorted(body.model_fields_set | {"reason"}),
            )
        doc["_etag"] = etag
        return self._present_vehicle(doc), existing is None

    def delete_vehicle(self, principal: Principal, plate_text: str) -> None:
        """Stop matching a plate for the caller's organisation (its hits stay)."""
        plate = _plate(plate_text, "plate")
        org = principal.organisation_id
        with self.records.unit_of_work() as uow:
            if not uow.delete(VEHICLES.name, org, plate):
                raise NotFound(f"Vehicle {plate} is not listed.")
            self.audit.record(
                uow, owner_org=org, principal=principal, action=AuditAction.ERASURE, operation="vehicle.delete", entity=f"vehicle/{plate}"
            )

    def promote(self, principal: Principal, incident_id: str, plate_text: str, body: PromoteIn) -> tuple[dict[str, Any], bool]:
        """Make a vehicle recorded on an incident a vehicle of interest of the caller's
        organisation, linked to that incident (added to the links if already listed)."""
        plate = _plate(plate_text, "plate")
        org = principal.organisation_id
        now = self.clock.now()
        until = interest_until(body.until, now, self.settings.anpr_vehicle_interest_days)
        with self.records.unit_of_work() as uow:
            loc = self.incidents.locate(uow, principal, incident_id)
            seen = (
                loc.doc
                if loc.share_level is None
                else view_for_partner(_public(loc.doc), loc.share_level, dispatched_to_viewer=loc.dispatched_to_viewer)
            )
            vehicle = next((v for v in seen.get("vehicles", []) if normalise_plate(v["plate"]) == plate), None)
            if vehicle is None:
                raise NotFound(f"Incident {incident_id} records no vehicle {plate}.")
            existing = uow.get(VEHICLES.name, org, plate)
            reason = (
                body.reason
                or f"Vehicle recorded on incident {loc.doc.get('reference', incident_id)} ({loc.doc.get('category', 'incident').replace('_', ' ')}, {loc.doc.get('occurred_at', '')[:10]})."
            )
            if existing is None:
                doc = {
                    "id": plate,
                    "plate": plate,
                    "plate_raw": vehicle["plate"],
                    "reason": reason,
                    "incident_ids": [incident_id],
                    "until": to_iso(until),
                    "make": vehicle.get("make"),
                    "model": vehicle.get("model"),
                    "colour": vehicle.get("colour"),
                    "owner_org": org,
                    "added_by": principal.user_id,
                    "added_at": to_iso(now),
                    "updated_by": principal.user_id,
                    "updated_at": to_iso(now),
                }
                etag = uow.insert(VEHICLES.name, org, doc)
            else:
                doc = _public(existing)
                doc["incident_ids"] = sorted(set(doc.get("incident_ids", [])) | {incident_id})
                doc["until"] = max(doc["until"], to_iso(until))
                if body.reason:
                    doc["reason"] = body.reason
                doc.update(updated_by=principal.user_id, updated_at=to_iso(now))
                etag = uow.replace(VEHICLES.name, org, doc, if_match=existing["_etag"])
            self.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.COMBINATION,
                operation="vehicle.promote",
                entity=f"vehicle/{plate}",
                fields=["incident_ids"],
                subjects=[incident_id],
            )
        doc["_etag"] = etag
        return self._present_vehicle(doc), existing is None

    # ---- subscriptions ---------------------------------------------------------------
    def _check_webhook_url(self, url: str) -> None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        ok = bool(host) and (parts.scheme == "https" or (parts.scheme == "http" and host in self.settings.webhook_http_hosts))
        if not ok or parts.username or parts.password:
            allowed = ", ".join(self.settings.webhook_http_hosts) or "none"
            raise Invalid(
                f"webhook_url must be an https URL without credentials (plain http only for: {allowed}).",
                errors=[{"field": "webhook_url", "message": "not an allowed URL"}],
            )
        refused = self.webhooks.destination_problem(url)
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
            own = {s.id for s in self.directory.stores_of(org)}
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
        now = self.clock.now()
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
        with self.records.unit_of_work() as uow:
            uow.insert(ALERT_SUBSCRIPTIONS.name, org, doc)
            self.audit.record(
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
        out = _public(doc)
        out.pop("secret", None)
        return out

    def subscriptions(self, principal: Principal, *, limit: int, continuation: str | None) -> dict[str, Any]:
        """The caller's organisation's subscriptions (secrets never shown again)."""
        with self.records.unit_of_work() as uow:
            page = uow.query(
                ALERT_SUBSCRIPTIONS.name, [principal.organisation_id], [], order_by="created_at", limit=limit, continuation=continuation
            )
        return {"items": [self._present_subscription(d) for d in page.items], "continuation": page.continuation}

    def unsubscribe(self, principal: Principal, sub_id: str) -> None:
        """Stop alerts to a subscription; queued webhook attempts for it are cancelled."""
        org = principal.organisation_id
        with self.records.unit_of_work() as uow:
            if len(sub_id) > 64 or not uow.delete(ALERT_SUBSCRIPTIONS.name, org, sub_id):
                raise NotFound(f"Subscription {sub_id} was not found.")
            self.audit.record(
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
        with self.records.unit_of_work() as uow:
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
        return {"items": [{k: v for k, v in _public(d).items() if k != "payload"} for d in page.items], "continuation": page.continuation}

    # ---- alert fan-out and delivery (queue handlers) -----------------------------------
    def fan_out(self, tenant: str, hit_id: str) -> int:
        """Make one delivery per subscription and channel for a hit; returns how many were new.

        Idempotent: delivery ids come from (hit, subscription, channel), so a redelivered
        queue message makes nothing twice."""
        now = self.clock.now()
        with self.records.unit_of_work() as uow:
            hit = uow.get(ANPR_HITS.name, tenant, hit_id)
            if hit is None:
                return 0
            subs = list(iterate_all(uow, ALERT_SUBSCRIPTIONS.name, [tenant], [Where("stores", "contains", hit["store_id"])]))
            force = hit["force_id"]
            if force in self.forces_sharing_from(uow, tenant):
                subs += list(iterate_all(uow, ALERT_SUBSCRIPTIONS.name, [force], [Where("force_area", "eq", force)]))
            made: list[tuple[str, dict[str, Any]]] = []
            for sub in subs:
                sub_org = sub["_tenant"]
                channels = (["webhook"] if sub.get("webhook_url") else []) + (["email"] if sub.get("email") else [])
                for channel in channels:
                    delivery_id = _h(hit_id, sub["id"], channel)
                    payload = {
                        "type": "anpr.hit",
                        "alert_id": delivery_id,
                        "subscription_id": sub["id"],
                        "hit": self._present_hit(hit, sub_org),
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
                            self.audit.record(
                                uow,
                                owner_org=tenant,
                                principal=None,
                                action=AuditAction.DISCLOSURE,
                                operation="anpr.alert",
                                entity=f"anpr_hit/{hit_id}",
                                recipient_org=sub_org,
                                system_actor="anpr-alerts",
                            )
        # Both channels go through the delivery queue, so email gets the same retries,
        # backoff and dead-lettering as webhooks.
        for sub_org, doc in made:
            self.queue.send(DELIVERIES_QUEUE, {"tenant": sub_org, "delivery_id": doc["id"]}, message_id=f"{doc['id']}:1")
        return len(made)

    def deliver(self, tenant: str, delivery_id: str) -> str:
        """One attempt at an alert delivery (signed webhook or email); schedules the next with
        exponential backoff, dead-letters after `webhook_max_attempts`. Returns the status after."""
        with self.records.unit_of_work() as uow:
            delivery = uow.get(ALERT_DELIVERIES.name, tenant, delivery_id)
            if delivery is None or delivery["status"] in ("delivered", "dead_lettered", "cancelled", "failed"):
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
        now = self.clock.now()
        attempt = int(delivery["attempts"]) + 1
        try:
            self.mail.send(alert_email(delivery, to=", ".join(sub["email"]), sender=self.settings.alert_mail_from))
        except PermanentMailError as exc:
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
        now = self.clock.now()
        timestamp = str(int(now.timestamp()))
        attempt = int(delivery["attempts"]) + 1
        headers = {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(sub["secret"], timestamp, body),
            IDEMPOTENCY_HEADER: delivery_id,
            "Vigil-Attempt": str(attempt),
        }
        result = self.webhooks.post(sub["webhook_url"], body, headers, timeout=self.settings.webhook_timeout_seconds)
        if result.delivered:
            self._update_delivery(
                tenant, delivery_id, status="delivered", attempts=attempt, delivered_at=to_iso(now), last_status=result.status
            )
            return "delivered"
        return self._retry_or_dead_letter(tenant, delivery_id, attempt, now, status=result.status, error=result.error)

    def _retry_or_dead_letter(
        self, tenant: str, delivery_id: str, attempt: int, now: datetime, *, status: int | None, error: str | None
    ) -> str:
        if attempt >= self.settings.webhook_max_attempts:
            self._update_delivery(tenant, delivery_id, status="dead_lettered", attempts=attempt, last_status=status, last_error=error)
            log.warning("alert delivery dead-lettered", extra={"delivery_id": delivery_id, "attempts": attempt})
            return "dead_lettered"
        delay = backoff_seconds(attempt, base=self.settings.webhook_backoff_base_seconds, cap=self.settings.webhook_backoff_cap_seconds)
        self._update_delivery(
            tenant,
            delivery_id,
            status="retrying",
            attempts=attempt,
            last_status=status,
            last_error=error,
            next_attempt_at=to_iso(now + timedelta(seconds=delay)),
        )
        self.queue.send(
            DELIVERIES_QUEUE, {"tenant": tenant, "delivery_id": delivery_id}, message_id=f"{delivery_id}:{attempt + 1}", delay_seconds=delay
        )
        return "retrying"

    def _update_delivery(self, tenant: str, delivery_id: str, **changes: Any) -> None:
        with self.records.unit_of_work() as uow:
            doc = uow.get(ALERT_DELIVERIES.name, tenant, delivery_id)
            if doc is None:
                return
            etag = doc["_etag"]
            doc = _public(doc)
            doc.update(changes)
            uow.replace(ALERT_DELIVERIES.name, tenant, doc, if_match=etag)

    # ---- settings --------------------------------------------------------------------
    def get_settings(self, principal: Principal) -> dict[str, Any]:
        """The caller's organisation's ANPR settings, with the stamp's defaults filled in."""
        with self.records.unit_of_work() as uow:
            days = self.retention_days(uow, principal.organisation_id)
        return {
            "read_retention_days": days,
            "max_read_retention_days": self.settings.anpr_read_retention_max_days,
            "default_read_retention_days": self.settings.anpr_read_retention_days,
        }

    def set_settings(self, principal: Principal, read_retention_days: int) -> dict[str, Any]:
        """Set how long the organisation's new reads live (existing reads keep their expiry)."""
        top = self.settings.anpr_read_retention_max_days
        if not 1 <= read_retention_days <= top:
            raise Invalid(f"read_retention_days must be 1 to {top}.", errors=[{"field": "read_retention_days", "message": f"1 to {top}"}])
        org = principal.organisation_id
        with self.records.unit_of_work() as uow:
            uow.upsert(
                ANPR_SETTINGS.name,
                org,
                {
                    "id": "settings",
                    "read_retention_days": read_retention_days,
                    "updated_by": principal.user_id,
                    "updated_at": to_iso(self.clock.now()),
                },
            )
            self.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="anpr.settings",
                entity="anpr_settings",
                fields=["read_retention_days"],
            )
        return self.get_settings(principal)

    # ---- expiry ----------------------------------------------------------------------
    def expire(self, as_of: datetime) -> JobReport:
        """Delete reads whose `expires_at` is at or before `as_of`, in bounded batches until
        none are due. Found through the expiry index, so the cost follows what is due. Hits
        are separate records and stay."""
        report = JobReport(job="anpr-expiry", as_of=as_of)
        cutoff = to_iso(as_of)
        batch = self.settings.anpr_expiry_batch
        per_tenant: dict[str, int] = {}
        batches = 0
        while True:
            # Key-only: the store deletes by the expiry index without loading the reads.
            with self.records.unit_of_work() as uow:
                gone = uow.delete_where(ANPR_READS.name, [Where("expires_at", "le", cutoff)], order_by="expires_at", limit=batch)
            if gone:
                batches += 1
                for tenant, _ in gone:
                    per_tenant[tenant] = per_tenant.get(tenant, 0) + 1
            if len(gone) < batch:
                break
        if per_tenant:
            with self.records.unit_of_work() as uow:
                for tenant, n in sorted(per_tenant.items()):
                    self.audit.record(
                        uow,
                        owner_org=tenant,
                        principal=None,
                        action=AuditAction.ERASURE,
                        operation="anpr.expiry",
                        entity="anpr_read",
                        purpose=f"retention: {n} reads past their expiry",
                        system_actor="anpr-expiry",
                    )
        report.counts = {"reads_deleted": sum(per_tenant.values()), "batches": batches, "organisations": len(per_tenant)}
        return report


def _unquote(etag: str) -> str:
    return etag.strip().removeprefix("W/").strip('"')


def erase_hits_for_incident(uow: UnitOfWork, org: str, incident_id: str) -> int:
    """ANPR hits are kept with the incidents they link: a hit linked to this incident
    only goes with it; one linked to others too just loses the link."""
    removed = 0
    for hit in list(iterate_all(uow, ANPR_HITS.name, [org], [Where("incident_ids", "contains", incident_id)])):
        others = [i for i in hit.get("incident_ids", []) if i != incident_id]
        if others:
            body = {k: v for k, v in hit.items() if not k.startswith("_")}
            uow.replace(ANPR_HITS.name, org, {**body, "incident_ids": others}, if_match=hit["_etag"])
        else:
            removed += uow.delete(ANPR_HITS.name, org, hit["id"])
    return removed
