"""Incident intake and case records: report, read, search, edit, history, revert."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionRequired
from shared.domain.events import IncidentChanged, IncidentRecorded, IncidentViewed
from shared.domain.incidents import (
    EDITABLE_FIELDS,
    IncidentIn,
    IncidentPatch,
    is_minor,
    normalise_plate,
    total_value,
    view_for_partner,
)
from shared.domain.tenancy import Principal, Role, ShareLevel
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import Clock, RecordStore, UnitOfWork, Where
from shared.records import ACCESS_GRANTS, INCIDENT_VERSIONS, INCIDENTS
from shared.services import idempotency
from shared.services.audit import AuditTrail
from shared.services.directory import Directory
from shared.services.messagebus import MessageBus

READERS = (Role.RETAILER_REPORTER, Role.RETAILER_INVESTIGATOR, Role.POLICE_OFFICER, Role.POLICE_ANALYST)
REPORTERS = (Role.RETAILER_REPORTER, Role.RETAILER_INVESTIGATOR)
EDITORS = (Role.RETAILER_INVESTIGATOR,)


@dataclass
class Filters:
    store_id: str | None = None
    reference: str | None = None
    category: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    plate: str | None = None
    offender_id: str | None = None


@dataclass
class Located:
    """An incident as the caller may see it."""

    doc: dict[str, Any]
    owner_org: str
    share_level: ShareLevel | None = None  # None for the owning organisation
    dispatched_to_viewer: bool = False


@dataclass
class IncidentService:
    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    # What follows from a report or a change (retention index, D2P) is in the handler table.
    bus: MessageBus

    # ---- create --------------------------------------------------------------
    def report(self, principal: Principal, body: IncidentIn, idempotency_key: str | None) -> idempotency.StoredAnswer:
        """Record a new incident for the caller's organisation; replays return the first answer."""
        key = idempotency.check_key(idempotency_key)
        request_fingerprint = idempotency.fingerprint("incident.report", body.model_dump(mode="json"))
        store = self.directory.store(body.store_id)
        if store is None or store.organisation_id != principal.organisation_id:
            raise Invalid(f"Store {body.store_id} is not one of your organisation's stores.", errors=[{"field": "store_id"}])
        if (
            principal.has(Role.RETAILER_REPORTER)
            and not principal.has(Role.RETAILER_INVESTIGATOR)
            and body.store_id not in principal.stores
        ):
            raise Forbidden(f"You report for stores {', '.join(sorted(principal.stores)) or '(none)'}, not {body.store_id}.")
        org = self.directory.organisation(principal.organisation_id)
        now = self.clock.now()
        if body.occurred_at > now:
            raise Invalid("occurred_at is in the future.", errors=[{"field": "occurred_at"}])
        try:
            return self._report(principal, body, key, request_fingerprint, store.force_id, org.reference_prefix if org else "INC", now)
        except Conflict:
            # A concurrent request with the same key won; answer what it answered.
            with self.records.unit_of_work() as uow:
                stored = idempotency.replay(uow, principal, "incident.report", key, request_fingerprint)
            if stored is None:
                raise
            return stored

    def _report(
        self, principal: Principal, body: IncidentIn, key: str | None, request_fingerprint: str, force_id: str, prefix: str, now: datetime
    ) -> idempotency.StoredAnswer:
        with self.records.unit_of_work() as uow:
            stored = idempotency.replay(uow, principal, "incident.report", key, request_fingerprint)
            if stored is not None:
                return stored
            data = body.model_dump(mode="json")
            self._check_offenders(uow, principal.organisation_id, data)
            incident_id = str(uuid.uuid4())
            seq = uow.next_sequence(principal.organisation_id, "incident-reference")
            doc = {
                "id": incident_id,
                "reference": f"{prefix}-{seq:06d}",
                "organisation_id": principal.organisation_id,
                "force_id": force_id,
                **data,
                "reported_at": to_iso(now),
                "created_at": to_iso(now),
                "updated_at": to_iso(now),
                "created_by": principal.user_id,
                "version": 1,
            }
            _derive(doc)
            etag = uow.insert(INCIDENTS.name, principal.organisation_id, doc)
            self._snapshot(uow, principal, doc, "created")
            self.audit.record(
                uow,
                owner_org=principal.organisation_id,
                principal=principal,
                action=AuditAction.COLLECTION,
                operation="incident.create",
                entity=f"incident/{incident_id}",
                fields=list(data.keys()),
            )
            extras = self.bus.gather(uow, IncidentRecorded(principal=principal, incident=doc))
            answer = idempotency.StoredAnswer(
                status=201,
                body=self._present(doc, etag, extras),
                headers={"ETag": f'"{etag}"', "Location": f"/api/v1/incidents/{incident_id}"},
            )
            idempotency.remember(uow, self.clock, principal, "incident.report", key, request_fingerprint, answer)
            return answer

    # ---- read ----------------------------------------------------------------
    def get(self, principal: Principal, incident_id: str, purpose: str | None) -> tuple[dict[str, Any], str]:
        """One incident as the caller may see it (404 when it is not theirs to see)."""
        with self.records.unit_of_work() as uow:
            loc = self.locate(uow, principal, incident_id)
            self._audit_read(uow, principal, loc, purpose, "incident.read")
            extras = self.bus.gather(uow, IncidentViewed(principal=principal, incident=loc.doc))
            return self._present(self._shape(loc), loc.doc["_etag"], extras), loc.doc["_etag"]

    def locate(self, uow: UnitOfWork, principal: Principal, incident_id: str) -> Located:
        """Find an incident the caller may see, or raise NotFound exactly as if it did not exist."""
        missing = NotFound(f"Incident {incident_id} was not found.")
        if len(incident_id) > 64:
            raise missing
        if principal.is_retailer:
            doc = uow.get(INCIDENTS.name, principal.organisation_id, incident_id)
            if doc is None or not self._retailer_may_see(principal, doc):
                raise missing
            return Located(doc=doc, owner_org=principal.organisation_id)
        if principal.is_police:
            grant = uow.get(ACCESS_GRANTS.name, principal.organisation_id, incident_id)
            if grant is not None:
                doc = uow.get(INCIDENTS.name, grant["owner_org"], incident_id)
                if doc is not None:
                    level = self.directory.share_level(grant["owner_org"], principal.organisation_id)
                    return Located(
                        doc=doc,
                        owner_org=grant["owner_org"],
                        share_level=max(level, ShareLevel.DESCRIPTIONS, key=lambda s: s.rank),
                        dispatched_to_viewer=True,
                    )
            sharers = self.directory.sharers_with(principal.organisation_id, ShareLevel.DESCRIPTIONS)
            if sharers:
                docs = uow.query(
                    INCIDENTS.name, sharers, [Where("id", "eq", incident_id), Where("force_id", "eq", principal.organisation_id)], limit=1
                ).items
                if docs:
                    owner = docs[0]["organisation_id"]
                    return Located(doc=docs[0], owner_org=owner, share_level=self.directory.share_level(owner, principal.organisation_id))
        raise missing

    def _retailer_may_see(self, principal: Principal, doc: dict[str, Any]) -> bool:
        if principal.has(Role.RETAILER_INVESTIGATOR):
            return True
        return principal.has(Role.RETAILER_REPORTER) and doc["store_id"] in principal.stores

    def search(
        self, principal: Principal, filters: Filters, *, limit: int, continuation: str | None, purpose: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Incidents the caller may see, newest first, filtered on indexed fields only."""
        where: list[Where] = []
        if filters.store_id:
            where.append(Where("store_id", "eq", filters.store_id))
        if filters.reference:
            where.append(Where("reference", "eq", filters.reference))
        if filters.category:
            where.append(Where("category", "eq", filters.category))
        if filters.occurred_from:
            where.append(Where("occurred_at", "ge", to_iso(filters.occurred_from)))
        if filters.occurred_to:
            where.append(Where("occurred_at", "lt", to_iso(filters.occurred_to)))
        if filters.plate:
            try:
                where.append(Where("plates", "contains", normalise_plate(filters.plate)))
            except ValueError as exc:
                raise Invalid(str(exc), errors=[{"field": "plate"}]) from exc
        if filters.offender_id:
            where.append(Where("offender_ids", "contains", filters.offender_id))
        if principal.is_retailer:
            tenants = [principal.organisation_id]
            if not principal.has(Role.RETAILER_INVESTIGATOR):
                where.append(Where("store_id", "in", sorted(principal.stores)))
        else:
            if not purpose:
                raise Invalid("Police searches need a stated purpose (query parameter 'purpose').", errors=[{"field": "purpose"}])
            tenants = self.directory.sharers_with(principal.organisation_id, ShareLevel.DESCRIPTIONS)
            where.append(Where("force_id", "eq", principal.organisation_id))
        with self.records.unit_of_work() as uow:
            page = uow.query(
                INCIDENTS.name, tenants, where, order_by="occurred_at", descending=True, limit=limit, continuation=continuation
            )
            by_owner: dict[str, list[str]] = {}
            results = []
            for doc in page.items:
                owner = doc["organisation_id"]
                loc = Located(
                    doc=doc,
                    owner_org=owner,
                    share_level=None if principal.is_retailer else self.directory.share_level(owner, principal.organisation_id),
                )
                by_owner.setdefault(owner, []).append(doc["id"])
                results.append(self._present(self._shape(loc), doc["_etag"], {}))
            described = {k: v for k, v in filters.__dict__.items() if v}
            for owner, ids in by_owner.items() or [(principal.organisation_id, [])]:
                self.audit.record(
                    uow,
                    owner_org=owner,
                    principal=principal,
                    action=AuditAction.CONSULTATION if owner == principal.organisation_id else AuditAction.DISCLOSURE,
                    operation="incident.search",
                    entity="incident",
                    fields=sorted(described),
                    subjects=ids,
                    purpose=purpose,
                    recipient_org=None if owner == principal.organisation_id else principal.organisation_id,
                )
            if principal.is_police and by_owner:
                self.audit.record(
                    uow,
                    owner_org=principal.organisation_id,
                    principal=principal,
                    action=AuditAction.CONSULTATION,
                    operation="incident.search",
                    entity="incident",
                    fields=sorted(described),
                    subjects=[i for ids in by_owner.values() for i in ids],
                    purpose=purpose,
                )
        return results, page.continuation

    # ---- change --------------------------------------------------------------
    def change(self, principal: Principal, incident_id: str, patch: IncidentPatch, if_match: str | None) -> tuple[dict[str, Any], str]:
        """Apply a merge patch under If-Match; each change is a new version."""
        if not if_match:
            raise PreconditionRequired("Send If-Match with the ETag you last read; changes without it could overwrite someone else's.")
        changes = patch.model_dump(mode="json", exclude_unset=True)
        if not changes:
            raise Invalid("The patch changes nothing.", errors=[])
        if "store_id" in changes:
            store = self.directory.store(changes["store_id"])
            if store is None or store.organisation_id != principal.organisation_id:
                raise Invalid(f"Store {changes['store_id']} is not one of your organisation's stores.", errors=[{"field": "store_id"}])
        with self.records.unit_of_work() as uow:
            loc = self.locate(uow, principal, incident_id)
            doc = {k: v for k, v in loc.doc.items() if k != "_etag"}
            for name, value in changes.items():
                if name == "flags":
                    doc["flags"] = {**doc.get("flags", {}), **{k: v for k, v in value.items()}}
                elif value is None and name in ("narrative", "reporter", "category", "store_id", "occurred_at", "prosecution_supported"):
                    raise Invalid(f"{name} cannot be removed.", errors=[{"field": name}])
                else:
                    doc[name] = value
            merged = IncidentIn.model_validate(_editable(doc))
            if merged.occurred_at > self.clock.now():
                raise Invalid("occurred_at is in the future.", errors=[{"field": "occurred_at"}])
            doc.update(merged.model_dump(mode="json"))
            if "store_id" in changes:
                doc["force_id"] = self.directory.store(doc["store_id"]).force_id
            self._check_offenders(uow, loc.owner_org, doc)
            return self._write_version(uow, principal, loc, doc, if_match, "changed", sorted(changes))

    def history(self, principal: Principal, incident_id: str) -> list[dict[str, Any]]:
        """Every version of the incident, oldest first."""
        with self.records.unit_of_work() as uow:
            loc = self.locate(uow, principal, incident_id)
            versions = uow.query(
                INCIDENT_VERSIONS.name, [loc.owner_org], [Where("incident_id", "eq", incident_id)], order_by="version", limit=1000
            ).items
            self._audit_read(uow, principal, loc, None, "incident.history")
        return [{k: v for k, v in ver.items() if not k.startswith("_") and k != "id"} for ver in versions]

    def revert(self, principal: Principal, incident_id: str, version: int, if_match: str | None) -> tuple[dict[str, Any], str]:
        """Make an earlier version current again, as a new version."""
        if not if_match:
            raise PreconditionRequired("Send If-Match with the ETag you last read.")
        with self.records.unit_of_work() as uow:
            loc = self.locate(uow, principal, incident_id)
            old = uow.get(INCIDENT_VERSIONS.name, loc.owner_org, _version_id(incident_id, version))
            if old is None:
                raise NotFound(f"Incident {incident_id} has no version {version}.")
            doc = {k: v for k, v in loc.doc.items() if k != "_etag"}
            for name in EDITABLE_FIELDS:
                if name in old["snapshot"]:
                    doc[name] = old["snapshot"][name]
            store = self.directory.store(doc["store_id"])
            if store is not None:
                doc["force_id"] = store.force_id
            return self._write_version(
                uow, principal, loc, doc, if_match, f"reverted to {version}", list(EDITABLE_FIELDS), reverted_from=version
            )

    # ---- internals -----------------------------------------------------------
    def _write_version(
        self,
        uow: UnitOfWork,
        principal: Principal,
        loc: Located,
        doc: dict[str, Any],
        if_match: str,
        note: str,
        fields: list[str],
        reverted_from: int | None = None,
    ) -> tuple[dict[str, Any], str]:
        doc["version"] = loc.doc["version"] + 1
        doc["updated_at"] = to_iso(self.clock.now())
        _derive(doc)
        etag = uow.replace(INCIDENTS.name, loc.owner_org, doc, if_match=if_match.strip('"').removeprefix("W/").strip('"'))
        self._snapshot(uow, principal, doc, note)
        self.audit.record(
            uow,
            owner_org=loc.owner_org,
            principal=principal,
            action=AuditAction.ALTERATION,
            operation="incident.revert" if reverted_from else "incident.change",
            entity=f"incident/{doc['id']}",
            fields=fields,
        )
        extras = self.bus.gather(uow, IncidentChanged(principal=principal, incident=doc))
        return self._present(doc, etag, extras), etag

    def _snapshot(self, uow: UnitOfWork, principal: Principal, doc: dict[str, Any], note: str) -> None:
        uow.insert(
            INCIDENT_VERSIONS.name,
            doc["organisation_id"],
            {
                "id": _version_id(doc["id"], doc["version"]),
                "incident_id": doc["id"],
                "version": doc["version"],
                "at": doc["updated_at"],
                "by": principal.user_id,
                "note": note,
                "snapshot": {k: doc.get(k) for k in EDITABLE_FIELDS},
            },
        )

    def _check_offenders(self, uow: UnitOfWork, org: str, data: dict[str, Any]) -> None:
        known: set[str] = set()
        for i, person in enumerate(data.get("persons", [])):
            oid = person.get("offender_id")
            if not oid:
                person["offender_id"] = "off-" + uuid.uuid4().hex[:16]
                continue
            if oid in known or uow.count(INCIDENTS.name, [org], [Where("offender_ids", "contains", oid)]) > 0:
                known.add(oid)
                continue
            raise Invalid(
                f"persons[{i}].offender_id {oid} is not an offender your organisation has recorded.",
                errors=[{"field": f"persons[{i}].offender_id"}],
            )

    def _audit_read(self, uow: UnitOfWork, principal: Principal, loc: Located, purpose: str | None, operation: str) -> None:
        own = loc.owner_org == principal.organisation_id
        self.audit.record(
            uow,
            owner_org=loc.owner_org,
            principal=principal,
            action=AuditAction.CONSULTATION if own else AuditAction.DISCLOSURE,
            operation=operation,
            entity=f"incident/{loc.doc['id']}",
            purpose=purpose,
            recipient_org=None if own else principal.organisation_id,
        )
        if not own:
            self.audit.record(
                uow,
                owner_org=principal.organisation_id,
                principal=principal,
                action=AuditAction.CONSULTATION,
                operation=operation,
                entity=f"incident/{loc.doc['id']}",
                purpose=purpose,
            )

    def _shape(self, loc: Located) -> dict[str, Any]:
        doc = {k: v for k, v in loc.doc.items() if k != "_etag"}
        if loc.share_level is None:
            return doc
        return view_for_partner(doc, loc.share_level, dispatched_to_viewer=loc.dispatched_to_viewer)

    @staticmethod
    def _present(doc: dict[str, Any], etag: str, extras: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in doc.items() if not k.startswith("_") and k not in ("plates", "offender_ids")}
        out["etag"] = f'"{etag}"'
        out.setdefault("d2p", None)
        out.update(extras)
        return out


def _editable(doc: dict[str, Any]) -> dict[str, Any]:
    """The reported fields without what `_derive` adds, ready to validate again."""
    out = {k: doc[k] for k in EDITABLE_FIELDS if k in doc}
    out["vehicles"] = [{k: v for k, v in veh.items() if k != "plate_normalised"} for veh in out.get("vehicles", [])]
    return out


def _version_id(incident_id: str, version: int) -> str:
    return f"{incident_id}:{version:06d}"


def _derive(doc: dict[str, Any]) -> None:
    """Fields computed from the report: matching keys, totals, the minor flag."""
    occurred = from_iso(doc["occurred_at"])
    doc["occurred_at"] = to_iso(occurred)
    for v in doc.get("vehicles", []):
        v["plate_normalised"] = normalise_plate(v["plate"])
    for p in doc.get("persons", []):
        p["under_18"] = is_minor(p, occurred) or bool(p.get("under_18"))
    doc["plates"] = sorted({v["plate_normalised"] for v in doc.get("vehicles", [])})
    doc["offender_ids"] = sorted({p["offender_id"] for p in doc.get("persons", []) if p.get("offender_id")})
    doc["total_value"] = total_value(doc.get("goods", []))
    doc["has_minor"] = any(p["under_18"] for p in doc.get("persons", []))
