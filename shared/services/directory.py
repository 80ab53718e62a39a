"""Organisations, stores and sharing agreements: who is who, and who sees what."""

from __future__ import annotations

import threading
import time
from typing import Any

from shared.domain.errors import Misdirected, NotFound, Unauthorized
from shared.domain.tenancy import (
    PLATFORM_TENANT,
    Organisation,
    OrgKind,
    Principal,
    Role,
    ShareLevel,
    Store,
    role_fits_org,
    store_access_id,
)
from shared.ports import RecordStore, Where, iterate_all
from shared.records import ORGANISATIONS, SHARING, STORE_ACCESS, STORES


class Directory:
    """Reads organisations and stores (cached briefly: they change rarely and every request needs them).

    Onboarding invalidates the cache of its own instance on every change; another
    instance sees a change within `cache_seconds` (docs/tenancy.md, "Store members").
    """

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

    def organisations_here(self) -> list[Organisation]:
        """Every organisation homed in this region, by name (the local console's sign-in page lists them)."""

        def load():
            with self._records.read_only() as uow:
                docs = list(iterate_all(uow, ORGANISATIONS.name, [PLATFORM_TENANT], []))
            orgs = [Organisation.model_validate(_strip(d)) for d in docs]
            return sorted((o for o in orgs if o.home_region == self._region), key=lambda o: o.name)

        return self._cached(("orgs", self._region), load)

    def stores_of(self, org_id: str) -> list[Store]:
        def load():
            with self._records.read_only() as uow:
                return [
                    Store.model_validate(_strip(d))
                    for d in iterate_all(uow, STORES.name, [PLATFORM_TENANT], [Where("organisation_id", "eq", org_id)])
                ]

        return self._cached(("stores", org_id), load)

    def assigned_stores(self, org_id: str, kind: str, subject: str) -> frozenset[str]:
        """The stores a retailer's member (`kind` "member", by user id) or registered camera
        system ("device", by client id) acts for; empty when none are assigned."""

        def load():
            with self._records.read_only() as uow:
                doc = uow.get(STORE_ACCESS.name, org_id, store_access_id(kind, subject))
            return frozenset(doc["stores"]) if doc else frozenset()

        return self._cached(("access", f"{org_id}/{kind}:{subject}"), load)

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

    def agreements_from(self, owner_org: str) -> list[dict[str, Any]]:
        """The sharing agreements `owner_org` offers (one per partner), as stored."""

        def load():
            with self._records.read_only() as uow:
                return [_strip(d) for d in iterate_all(uow, SHARING.name, [PLATFORM_TENANT], [Where("owner_id", "eq", owner_org)])]

        return self._cached(("agreements", owner_org), load)

    def principal_from_claims(self, claims: dict[str, Any]) -> Principal:
        """Map verified token claims to a principal of a Vigil organisation homed in this region.

        Raises Unauthorized (401) naming a claim of the wrong shape, and Misdirected (421) for
        any organisation this region does not serve, whether homed elsewhere or unknown
        (docs/tenancy.md): only a home elsewhere adds its region's URL.
        """
        sub = _text_claim(claims, "sub")
        # Entra's `sub` is pairwise: the same person has a different one in each app
        # registration's tokens (the API's access tokens, the console's ID tokens), while
        # `oid` is their one object id in the tenant. Keyed on oid, a person is the same user
        # in audit and custody whichever way they came in; tokens without it (the local
        # issuer) keep `sub`.
        user_id = _text_claim(claims, "oid") if "oid" in claims else sub
        tid = _text_claim(claims, "tid")
        roles_claim = _list_claim(claims, "roles", comma_separated=False)
        stores_claim = _list_claim(claims, "stores", comma_separated=True)
        org = self.organisation_by_idp_tenant(tid)
        if org is None or org.home_region != self._region:
            home = org.home_region if org is not None else None
            raise Misdirected(
                "Your organisation is not served by this region."
                + (f" Send requests to the {home} region." if home else " Ask your administrator which region serves it."),
                home_region=home,
                home_base_url=self._base_urls.get(home) if home else None,
            )
        roles = set()
        for r in roles_claim:
            try:
                role = Role(r)
            except ValueError:
                continue
            if role_fits_org(role, org.kind):
                roles.add(role)
        stores = frozenset(stores_claim)
        if not stores_claim and org.kind == OrgKind.RETAILER:
            # Entra ID issues no `stores` claim: a camera system's stores come from its
            # registration (keyed by the client id its client-credential token carries), a
            # person's from their store membership (keyed by object id). A claim, where an
            # issuer sends one (the local issuer, tests), still wins.
            if Role.DEVICE_ANPR in roles:
                client_id = claims.get("azp") or claims.get("appid") or sub
                stores = self.assigned_stores(org.id, "device", client_id if isinstance(client_id, str) else sub)
            else:
                stores = self.assigned_stores(org.id, "member", user_id)
        return Principal(
            user_id=user_id,
            organisation_id=org.id,
            organisation_kind=org.kind,
            roles=frozenset(roles),
            stores=stores,
        )


def _text_claim(claims: dict[str, Any], name: str) -> str:
    """A required claim holding non-empty text; 401 naming it otherwise."""
    value = claims.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Unauthorized(f"The token's {name} claim must be non-empty text.", errors=[{"field": f"token.{name}"}])
    return value


def _list_claim(claims: dict[str, Any], name: str, *, comma_separated: bool) -> list[str]:
    """An optional claim holding a list of text (or, where `comma_separated`, one comma-separated
    text, as a directory extension attribute arrives); 401 naming it when it holds anything
    else. A number or an object here means a misconfigured issuer: guessing what it meant
    could widen what the caller sees, so the token is refused."""
    value = claims.get(name)
    if value is None:
        return []
    if comma_separated and isinstance(value, str):
        return [s.strip() for s in value.split(",") if s.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v for v in value if v]
    shape = "a list of text or comma-separated text" if comma_separated else "a list of text"
    raise Unauthorized(f"The token's {name} claim must be {shape}.", errors=[{"field": f"token.{name}"}])


def sharing_id(owner_org: str, partner_org: str) -> str:
    return f"{owner_org}>{partner_org}"


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def require_store(directory: Directory, store_id: str) -> Store:
    store = directory.store(store_id)
    if store is None:
        raise NotFound(f"Store {store_id} is not known.")
    return store
