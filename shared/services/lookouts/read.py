"""Reading lookouts: those reaching a store (its staff, while active), those an
organisation issued (its issuers, in every state, with who acknowledged), or one. Every
lookout shown is a read of personal data, audited in the issuer's trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Invalid
from shared.domain.lookouts import Lookout, LookoutState
from shared.domain.tenancy import Principal, ShareLevel, Store
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import LOOKOUT_ACKNOWLEDGEMENTS, LOOKOUTS
from shared.services.audit import ReadEntry
from shared.services.lookouts.deps import (
    ISSUERS,
    LookoutDeps,
    Subjects,
    find,
    issuers_reaching,
    level_now,
    may_read_for_store,
    person_for_staff,
    readable_stores,
)
from shared.services.repository import body


@dataclass(frozen=True)
class LookoutView:
    """A lookout as one reader sees it: `person` holds only what their level allows."""

    lookout: Lookout
    state: LookoutState
    level: ShareLevel
    issuer_name: str
    person: dict[str, Any] | None
    store_id: str | None = None  # the store it is read for (store staff)
    acknowledged_at: str | None = None  # that store's acknowledgement
    acknowledgements: list[dict[str, Any]] | None = None  # the issuer's view: every store's
    recipient_count: int = 0


@dataclass(frozen=True)
class LookoutPage:
    items: list[LookoutView]
    continuation: str | None
    store_id: str | None = None
    stores: list[str] = field(default_factory=list)


def acknowledgement_id(lookout_id: str, store_id: str) -> str:
    return f"{lookout_id}.{store_id}"


def acknowledgements_of(uow: UnitOfWork, lookout: Lookout) -> list[dict[str, Any]]:
    docs = iterate_all(uow, LOOKOUT_ACKNOWLEDGEMENTS.name, [lookout.organisation_id], [Where("lookout_id", "eq", lookout.id)])
    keep = ("store_id", "organisation_id", "acknowledged_by", "acknowledged_at")
    return sorted(({k: body(d).get(k) for k in keep} for d in docs), key=lambda a: (a["acknowledged_at"], a["store_id"]))


@dataclass
class ReadLookouts:
    deps: LookoutDeps

    def list(self, principal: Principal, *, store: str | None = None, limit: int = 50, continuation: str | None = None) -> LookoutPage:
        """With `store`: the active lookouts reaching it, if the caller reads for it (none
        otherwise, as for a store with none). Without: the lookouts the caller's
        organisation issued, newest first, for its issuers; store staff reading for exactly
        one store get that store's (Invalid naming `store` when they read for several)."""
        deps = self.deps
        if store is None:
            if principal.has(*ISSUERS):
                return self._issued(principal, limit, continuation)
            mine = [s for s in deps.directory.stores_of(principal.organisation_id) if may_read_for_store(principal, s)]
            if len(mine) != 1:
                choices = ", ".join(s.id for s in mine) or "none"
                raise Invalid(f"Name the store whose lookouts you want (store=...): yours are {choices}.", errors=[{"field": "store"}])
            store = mine[0].id
        found = deps.directory.store(store) if len(store) <= 64 else None
        if found is None or not may_read_for_store(principal, found):
            return LookoutPage([], None, store_id=store)
        return self._for_store(principal, found, limit, continuation)

    def _issued(self, principal: Principal, limit: int, continuation: str | None) -> LookoutPage:
        deps = self.deps
        org = principal.organisation_id
        now = deps.now()
        with deps.records.read_only() as uow:
            page = uow.query(LOOKOUTS.name, [org], [], order_by="issued_at", descending=True, limit=limit, continuation=continuation)
            lookouts = [Lookout.model_validate(body(d)) for d in page.items]
            subjects = Subjects.read(uow, lookouts)
            views = [self._issuer_view(uow, lk, subjects, now) for lk in lookouts]
        self._audit(principal, views)
        return LookoutPage(views, page.continuation)

    def _for_store(self, principal: Principal, store: Store, limit: int, continuation: str | None) -> LookoutPage:
        deps = self.deps
        now = deps.now()
        owners = issuers_reaching(deps, store)
        with deps.records.read_only() as uow:
            page = uow.query(
                LOOKOUTS.name,
                owners,
                [Where("store_ids", "contains", store.id)],
                order_by="issued_at",
                descending=True,
                limit=limit,
                continuation=continuation,
            )
            lookouts = [Lookout.model_validate(body(d)) for d in page.items]
            subjects = Subjects.read(uow, lookouts)
            views = []
            for lk in lookouts:
                level = level_now(self.deps, lk, store)
                # Lapsed, withdrawn or suspended lookouts are not shown to stores at all.
                if level is None or subjects.state(lk, now, for_org=store.organisation_id) != LookoutState.ACTIVE:
                    continue
                views.append(self._store_view(uow, lk, subjects, store, level))
        self._audit(principal, views)
        return LookoutPage(views, page.continuation, store_id=store.id)

    def get(self, principal: Principal, lookout_id: str) -> LookoutView:
        """One lookout: its issuer's people see it in every state with every acknowledgement;
        a recipient store's staff see it while active (404 otherwise, and for anyone else)."""
        deps = self.deps
        now = deps.now()
        with deps.records.read_only() as uow:
            lk = find(deps, uow, principal, lookout_id).record
            subjects = Subjects.read(uow, [lk])
            if principal.organisation_id == lk.organisation_id and principal.has(*ISSUERS):
                view = self._issuer_view(uow, lk, subjects, now)
            else:
                store = readable_stores(deps, principal, lk)[0]
                view = self._store_view(uow, lk, subjects, store, level_now(deps, lk, store) or ShareLevel.DESCRIPTIONS)
        self._audit(principal, [view])
        return view

    # ---- views ---------------------------------------------------------------------------
    def _issuer_name(self, org_id: str) -> str:
        org = self.deps.directory.organisation(org_id)
        return org.name if org else org_id

    def _issuer_view(self, uow: UnitOfWork, lk: Lookout, subjects: Subjects, now) -> LookoutView:
        profile = subjects.profile(lk)
        return LookoutView(
            lookout=lk,
            state=subjects.state(lk, now, for_org=lk.organisation_id),
            level=ShareLevel.FULL,
            issuer_name=self._issuer_name(lk.organisation_id),
            person=person_for_staff(profile, ShareLevel.FULL),
            acknowledgements=acknowledgements_of(uow, lk),
            recipient_count=len(lk.store_ids),
        )

    def _store_view(self, uow: UnitOfWork, lk: Lookout, subjects: Subjects, store: Store, level: ShareLevel) -> LookoutView:
        profile = subjects.profile(lk)
        ack = uow.get(LOOKOUT_ACKNOWLEDGEMENTS.name, lk.organisation_id, acknowledgement_id(lk.id, store.id))
        return LookoutView(
            lookout=lk,
            state=LookoutState.ACTIVE,
            level=level,
            issuer_name=self._issuer_name(lk.organisation_id),
            person=person_for_staff(profile, level),
            store_id=store.id,
            acknowledged_at=ack.get("acknowledged_at") if ack else None,
            recipient_count=len(lk.store_ids),
        )

    def _audit(self, principal: Principal, views: Sequence[LookoutView]) -> None:
        entries = []
        for v in views:
            lk = v.lookout
            own = principal.organisation_id == lk.organisation_id
            entries.append(
                ReadEntry(
                    owner_org=lk.organisation_id,
                    action=AuditAction.CONSULTATION if own else AuditAction.DISCLOSURE,
                    operation="lookout.read",
                    entity=f"lookout/{lk.id}",
                    fields=sorted(v.person) if v.person else [],
                    subjects=[lk.offender_id] if lk.offender_id else [],
                    recipient_org=None if own else principal.organisation_id,
                )
            )
        if entries:
            self.deps.audit.record_read(principal, entries)
