"""Organisations, stores and sharing agreements: who is who, and who sees what."""

from __future__ import annotations

import threading
import time
from typing import Any

from shared.domain.errors import Forbidden, Misdirected, NotFound, Unauthorized
from shared.domain.tenancy import PLATFORM_TENANT, Organisation, Principal, Role, ShareLevel, Store, role_fits_org
from shared.ports import RecordStore, Where, iterate_all
from shared.records import ORGANISATIONS, SHARING, STORES


class Directory:
    """Reads organisations and stores (cached briefly: they change rarely and every request needs them)."""

    def __init__(self, records: RecordStore, *, region: str, region_base_urls: dict[str, str], cache_seconds: float = 30.0):
        self._records = records
        self._region = region
        self._base_urls = region_base_urls
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}

    def _cached(self, key: tuple[str, str], load):
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit and now - hit[0] < self._cache_seconds:
                return hit[1]
        value = load()
        with self._lock:
            self._cache[key] = (now, value)
        return value

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def organisation(self, org_id: str) -> Organisation | None:
        def load():
            with self._records.read_only() as uow:
                doc = uow.get(ORGANISATIONS.name, PLATFORM_TENANT, org_id)
            return Organisation.model_validate(_strip(doc)) if doc else None

        return self._cached(("org", org_id), load)

    def organisation_by_idp_tenant(self, tid: str) -> Organisation | None:
        def load():
            with self._records.read_only() as uow:
                docs = uow.query(ORGANISATIONS.name, [PLATFORM_TENANT], [Where("idp_tenant_id", "eq", tid)], limit=1).items
            return Organisation.model_validate(_strip(docs[0])) if docs else None

        return self._cached(("tid", tid), load)

    def store(self, store_id: str) -> Store | None:
        def load():
            with self._records.read_only() as uow:
                doc = uow.get(STORES.name, PLATFORM_TENANT, store_id)
            return Store.model_validate(_strip(doc)) if doc else None

        return self._cached(("store", store_id), load)

    def stores_of(self, org_id: str) -> list[Store]:
        def load():
            with self._records.read_only() as uow:
                return [
                    Store.model_validate(_strip(d))
                    for d in iterate_all(uow, STORES.name, [PLATFORM_TENANT], [Where("organisation_id", "eq", org_id)])
                ]

        return self._cached(("stores", org_id), load)

    def share_level(self, owner_org: str, partner_org: str) -> ShareLevel:
        """How much `owner_org` shares with `partner_org` (NONE when no agreement)."""

        def load():
            with self._records.read_only() as uow:
                doc = uow.get(SHARING.name, PLATFORM_TENANT, sharing_id(owner_org, partner_org))
            return ShareLevel(doc["level"]) if doc else ShareLevel.NONE

        return self._cached(("share", f"{owner_org}>{partner_org}"), load)

    def sharers_with(self, partner_org: str, at_least: ShareLevel) -> list[str]:
        """Organisations sharing with `partner_org` at `at_least` or deeper."""

        def load():
            with self._records.read_only() as uow:
                docs = list(iterate_all(uow, SHARING.name, [PLATFORM_TENANT], [Where("partner_id", "eq", partner_org)]))
            return [(d["owner_id"], ShareLevel(d["level"])) for d in docs]

        return [owner for owner, level in self._cached(("sharers", partner_org), load) if level.rank >= at_least.rank]

    def principal_from_claims(self, claims: dict[str, Any]) -> Principal:
        """Map verified token claims to a principal of a Vigil organisation homed in this region.

        Raises Misdirected (421) for an organisation homed elsewhere, naming its region's URL.
        """
        tid = claims.get("tid")
        sub = claims.get("sub")
        if not tid or not sub:
            raise Unauthorized("The token lacks the tid or sub claim.")
        org = self.organisation_by_idp_tenant(str(tid))
        if org is None:
            raise Forbidden("The token's tenant is not a Vigil organisation.")
        if org.home_region != self._region:
            raise Misdirected(
                f"Organisation {org.id} is served by the {org.home_region} region; send requests there.",
                home_region=org.home_region,
                home_base_url=self._base_urls.get(org.home_region),
            )
        raw_roles = claims.get("roles") or []
        if isinstance(raw_roles, str):
            raw_roles = [raw_roles]
        roles = set()
        for r in raw_roles:
            try:
                role = Role(r)
            except ValueError:
                continue
            if role_fits_org(role, org.kind):
                roles.add(role)
        stores = claims.get("stores") or []
        if isinstance(stores, str):
            stores = [s for s in stores.split(",") if s]
        return Principal(
            user_id=str(sub),
            organisation_id=org.id,
            organisation_kind=org.kind,
            roles=frozenset(roles),
            stores=frozenset(str(s) for s in stores),
        )


def sharing_id(owner_org: str, partner_org: str) -> str:
    return f"{owner_org}>{partner_org}"


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def require_store(directory: Directory, store_id: str) -> Store:
    store = directory.store(store_id)
    if store is None:
        raise NotFound(f"Store {store_id} is not known.")
    return store
