"""A platform operator creates and changes a retailer's stores, each in the area of a
police force of the retailer's own region."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.errors import Invalid, NotFound
from shared.domain.tenancy import PLATFORM_TENANT, OrgKind, Principal, Store
from shared.records import STORES
from shared.services import repository
from shared.services.onboarding.common import PLATFORM_CHAIN, OnboardingDeps, Upserted, audit_change, require_operator, served_here, upsert


@dataclass
class StoresUseCase:
    deps: OnboardingDeps

    def get(self, principal: Principal, org_id: str, store_id: str) -> Upserted:
        """A store of a retailer homed here, with its ETag (Platform.Operator)."""
        require_operator(principal)
        with self.deps.records.read_only() as uow:
            doc = uow.get(STORES.name, PLATFORM_TENANT, store_id)
        if doc is None or doc.get("organisation_id") != org_id:
            raise NotFound(f"Store {store_id} of {org_id} is not known.")
        self._retailer_here(org_id)
        return Upserted(repository.body(doc), repository.etag(doc), "unchanged")

    def put(self, principal: Principal, store: Store, if_match: str | None) -> Upserted:
        """Create or change a store of a retailer homed here, in the area of a force of
        the same region; a change needs `if_match`. The same store again changes nothing."""
        require_operator(principal)
        self._retailer_here(store.organisation_id)
        force = self.deps.directory.organisation(store.force_id)
        if force is None or force.kind != OrgKind.POLICE_FORCE:
            raise Invalid(
                f"{store.force_id} is not a police force known to Vigil.",
                errors=[{"field": "force_id", "message": "not a police force"}],
            )
        if force.home_region != self.deps.region:
            # The force receives the store's reports (D2P) and reads what is shared with it:
            # a force served by another region would take them out of this one.
            raise Invalid(
                f"{store.force_id} is served by the {force.home_region} region; a store here must be in the area of a force of this region.",
                errors=[{"field": "force_id", "message": f"a force of the {force.home_region} region"}],
            )
        try:
            with self.deps.records.unit_of_work() as uow:
                existing = uow.get(STORES.name, PLATFORM_TENANT, store.id)
                if existing is not None and existing.get("organisation_id") != store.organisation_id:
                    # Store ids are global: never hand one retailer's store (and its reports) to another.
                    raise Invalid(
                        f"Store id {store.id} is already another retailer's.",
                        errors=[{"field": "id", "message": "already another retailer's"}],
                    )
                done, fields = upsert(self.deps, uow, STORES.name, PLATFORM_TENANT, store.id, store.model_dump(mode="json"), if_match)
                if done.outcome != "unchanged":
                    audit_change(
                        self.deps,
                        uow,
                        principal,
                        chain=PLATFORM_CHAIN,
                        operation=f"onboarding.store.{'create' if done.outcome == 'created' else 'change'}",
                        entity=f"store/{store.id}",
                        fields=fields,
                    )
        finally:
            self.deps.directory.invalidate()
        return done

    def _retailer_here(self, org_id: str) -> None:
        org = self.deps.directory.organisation(org_id)
        if org is None:
            raise NotFound(f"Organisation {org_id} is not known: onboard it first.")
        served_here(self.deps, org)
        if org.kind != OrgKind.RETAILER:
            raise Invalid(f"{org_id} is not a retailer: only retailers have stores.", errors=[{"field": "organisation_id"}])
