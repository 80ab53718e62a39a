"""Searches of reads and hits: who may see which, the tier a window of data age needs, and the audit of each search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.anpr import (
    Tier,
    search_tier,
)
from shared.domain.audit import AuditAction
from shared.domain.errors import Forbidden, Invalid, NotFound
from shared.domain.tenancy import Principal, Role
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import UnitOfWork, Where
from shared.records import ANPR_HITS, ANPR_READS
from shared.services import repository
from shared.services.anpr.authorisers import find_officer
from shared.services.anpr.common import (
    AnprDeps,
    orgs_sharing_with,
    plate_or_invalid,
    present_hit,
)
from shared.services.audit import ReadEntry


@dataclass
class ReadQuery:
    plate: str
    store_id: str | None = None
    captured_from: datetime | None = None
    captured_to: datetime | None = None
    purpose: str | None = None
    authorised_by: str | None = None


@dataclass
class Search:
    deps: AnprDeps

    def _visible_owners(self, uow: UnitOfWork, principal: Principal) -> list[str]:
        if principal.is_retailer:
            return [principal.organisation_id]
        if principal.is_police:
            return orgs_sharing_with(uow, principal.organisation_id)
        return []

    def _check_tier(
        self, principal: Principal, searched_from: datetime, now: datetime, purpose: str | None, authorised_by: str | None
    ) -> tuple[Tier, str]:
        """The tier the window needs and the purpose to audit (naming the authorising
        officer for older reads), or the refusal the caller gets."""
        days = self.deps.settings.anpr_search_days_without_authorisation
        tier = search_tier(searched_from, now, days)
        officer = None
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
            # Only an officer the force has appointed can authorise: a free-text name would
            # let anyone vouch for themselves or for someone who never agreed.
            with self.deps.records.read_only() as uow:
                officer = find_officer(uow, principal.organisation_id, authorised_by)
            if officer is None:
                raise Invalid(
                    f"authorised_by {authorised_by!r} is not on your force's register of ANPR authorising officers; "
                    f"its Police.Admin keeps it (PUT /forces/{principal.organisation_id}/anpr-authorising-officers).",
                    errors=[{"field": "authorised_by", "message": "not an authorising officer of your force"}],
                )
        if not purpose:
            raise Invalid(
                "ANPR searches need a stated purpose (query parameter 'purpose').", errors=[{"field": "purpose", "message": "required"}]
            )
        if officer is None:
            return tier, purpose
        return tier, f"{purpose} (authorised by {officer.rank} {officer.name}, {officer.user_id})"

    @staticmethod
    def _search_entries(
        principal: Principal,
        operation: str,
        entity: str,
        by_owner: dict[str, list[str]],
        fields: list[str],
        purpose: str | None,
    ) -> list[ReadEntry]:
        # Each owner of what was found gets its own entry (a disclosure when the caller is
        # another organisation), and a force also keeps one of its own search.
        entries = []
        for owner, ids in by_owner.items() or [(principal.organisation_id, [])]:
            own = owner == principal.organisation_id
            entries.append(
                ReadEntry(
                    owner_org=owner,
                    action=AuditAction.CONSULTATION if own else AuditAction.DISCLOSURE,
                    operation=operation,
                    entity=entity,
                    fields=fields,
                    subjects=ids,
                    purpose=purpose,
                    recipient_org=None if own else principal.organisation_id,
                )
            )
        if not principal.is_retailer:
            entries.append(
                ReadEntry(
                    owner_org=principal.organisation_id,
                    action=AuditAction.CONSULTATION,
                    operation=operation,
                    entity=entity,
                    fields=fields,
                    subjects=[i for ids in by_owner.values() for i in ids],
                    purpose=purpose,
                )
            )
        return entries

    def search_reads(self, principal: Principal, q: ReadQuery, *, limit: int, continuation: str | None) -> dict[str, Any]:
        """Reads of one plate the caller may see, newest first, within the tier its window needs."""
        plate = plate_or_invalid(q.plate, "plate")
        now = self.deps.clock.now()
        days = self.deps.settings.anpr_search_days_without_authorisation
        searched_from = q.captured_from or now - timedelta(days=days)
        tier, purpose = self._check_tier(principal, searched_from, now, q.purpose, q.authorised_by)
        where = [Where("plate", "eq", plate), Where("captured_at", "ge", to_iso(searched_from)), Where("expires_at", "gt", to_iso(now))]
        if q.captured_to:
            where.append(Where("captured_at", "lt", to_iso(q.captured_to)))
        if q.store_id:
            where.append(Where("store_id", "eq", q.store_id))
        with self.deps.records.read_only() as uow:
            owners = self._visible_owners(uow, principal)
            page = uow.query(
                ANPR_READS.name, owners, where, order_by="captured_at", descending=True, limit=limit, continuation=continuation
            )
        by_owner: dict[str, list[str]] = {}
        for d in page.items:
            by_owner.setdefault(repository.tenant(d), []).append(d["id"])
        self.deps.audit.record_read(
            principal, self._search_entries(principal, "anpr.read.search", "anpr_read", by_owner, ["plate"], purpose)
        )
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
        now = self.deps.clock.now()
        with self.deps.records.read_only() as uow:
            doc = None
            for owner in self._visible_owners(uow, principal):
                doc = uow.get(ANPR_READS.name, owner, read_id_)
                if doc is not None:
                    break
        if doc is None or from_iso(doc["expires_at"]) <= now:
            raise missing
        _, stated = self._check_tier(principal, from_iso(doc["captured_at"]), now, purpose, authorised_by)
        entries = self._search_entries(
            principal, "anpr.read.read", f"anpr_read/{read_id_}", {repository.tenant(doc): [read_id_]}, [], stated
        )
        self.deps.audit.record_read(principal, entries)
        return self._present_read(doc)

    @staticmethod
    def _present_read(doc: dict[str, Any]) -> dict[str, Any]:
        out = repository.body(doc)
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
        """Hits on the caller's own vehicles of interest, newest first: a retailer's on its own
        cameras, a force's on the cameras of organisations sharing ANPR with it (accepted)."""
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
            where.append(Where("plate", "eq", plate_or_invalid(plate, "plate")))
        # A hit is its vehicle owner's alone: a retailer never sees hits on a force's
        # vehicles made on its cameras, nor a force hits on a retailer's own list.
        where.append(Where("vehicle_owner", "eq", principal.organisation_id))
        with self.deps.records.read_only() as uow:
            owners = self._visible_owners(uow, principal)
            page = uow.query(ANPR_HITS.name, owners, where, order_by="captured_at", descending=True, limit=limit, continuation=continuation)
        by_owner: dict[str, list[str]] = {}
        for d in page.items:
            by_owner.setdefault(repository.tenant(d), []).append(d["id"])
        entries = self._search_entries(principal, "anpr.hit.search", "anpr_hit", by_owner, sorted(w.field for w in where), purpose)
        self.deps.audit.record_read(principal, entries)
        return {"items": [present_hit(d, principal.organisation_id) for d in page.items], "continuation": page.continuation}
