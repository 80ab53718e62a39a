"""Who acts for which of a retailer's stores: its members (people, by Entra object id) and
its registered camera systems (by the client id their tokens carry). Entra ID issues no
`stores` claim, so these records are where such a principal's stores come from
(`Directory.principal_from_claims`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.domain.errors import Invalid, NotFound, PreconditionFailed
from shared.domain.tenancy import OrgKind, Principal, Role, StoreAccess, store_access_id
from shared.ports import Where, iterate_all
from shared.records import STORE_ACCESS
from shared.services import repository
from shared.services.onboarding.common import (
    MAX_STORES_PER_ASSIGNMENT,
    PLATFORM_CHAIN,
    OnboardingDeps,
    Upserted,
    audit_change,
    require_operator,
    served_here,
    upsert,
)

Kind = Literal["member", "device"]


@dataclass
class StoreAccessUseCase:
    """Shared by members (a retailer's admin, or an operator) and devices (an operator)."""

    deps: OnboardingDeps
    kind: Kind

    def listing(self, principal: Principal, org_id: str) -> list[Upserted]:
        """Every member (or device) of the retailer with its stores, by id."""
        self._allowed(principal, org_id)
        with self.deps.records.read_only() as uow:
            docs = list(iterate_all(uow, STORE_ACCESS.name, [org_id], [Where("kind", "eq", self.kind)]))
        return sorted((Upserted(repository.body(d), repository.etag(d), "unchanged") for d in docs), key=lambda u: u.record["subject"])

    def get(self, principal: Principal, org_id: str, subject: str) -> Upserted:
        """One member (or device) with its stores and ETag."""
        self._allowed(principal, org_id)
        with self.deps.records.read_only() as uow:
            doc = uow.get(STORE_ACCESS.name, org_id, store_access_id(self.kind, subject))
        if doc is None:
            raise NotFound(f"{org_id} has no {self.kind} {subject}.")
        return Upserted(repository.body(doc), repository.etag(doc), "unchanged")

    def put(self, principal: Principal, access: StoreAccess, if_match: str | None) -> Upserted:
        """Assign the member (or device) to exactly `access.stores`, all of the retailer's
        own; a change needs `if_match`, the same assignment again changes nothing. Takes
        effect on this instance's next request (the directory's cache is cleared)."""
        self._allowed(principal, access.organisation_id)
        if access.kind != self.kind:
            raise Invalid(f"Expected a {self.kind}.", errors=[{"field": "kind"}])
        own = {s.id for s in self.deps.directory.stores_of(access.organisation_id)}
        errors = [
            {"field": f"stores.{i}", "message": f"{s} is not one of {access.organisation_id}'s stores"}
            for i, s in enumerate(access.stores)
            if s not in own
        ]
        if not access.stores:
            errors.append({"field": "stores", "message": "name at least one store (remove the assignment to take every store away)"})
        if len(access.stores) > MAX_STORES_PER_ASSIGNMENT or len(set(access.stores)) != len(access.stores):
            errors.append({"field": "stores", "message": f"at most {MAX_STORES_PER_ASSIGNMENT} stores, each once"})
        if errors:
            raise Invalid("; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors)
        wanted = {"id": access.id, **access.model_dump(mode="json")}
        wanted["stores"] = sorted(access.stores)
        try:
            with self.deps.records.unit_of_work() as uow:
                done, fields = upsert(self.deps, uow, STORE_ACCESS.name, access.organisation_id, access.id, wanted, if_match)
                if done.outcome != "unchanged":
                    self._audit(uow, principal, access.organisation_id, access.subject, "assign", fields)
        finally:
            self.deps.directory.invalidate()
        return done

    def remove(self, principal: Principal, org_id: str, subject: str, if_match: str | None) -> None:
        """Take every store away from the member (or device); NotFound when it has none.
        `if_match`, when sent, must be the current version."""
        self._allowed(principal, org_id)
        try:
            with self.deps.records.unit_of_work() as uow:
                doc = uow.get(STORE_ACCESS.name, org_id, store_access_id(self.kind, subject))
                if doc is None:
                    raise NotFound(f"{org_id} has no {self.kind} {subject}.")
                if if_match and if_match != repository.etag(doc):
                    raise PreconditionFailed(f"{self.kind} {subject} has changed since you read it; read it again.")
                uow.delete(STORE_ACCESS.name, org_id, doc["id"])
                self._audit(uow, principal, org_id, subject, "remove", ["stores"])
        finally:
            self.deps.directory.invalidate()

    def _audit(self, uow, principal: Principal, org_id: str, subject: str, verb: str, fields: list[str]) -> None:
        # A member's stores decide what a person of the retailer sees: the retailer's own
        # chain, where its DPO reads it. A device is platform configuration.
        chain = org_id if self.kind == "member" else PLATFORM_CHAIN
        audit_change(
            self.deps,
            uow,
            principal,
            chain=chain,
            operation=f"onboarding.{self.kind}.{verb}",
            entity=f"{self.kind}/{org_id}/{subject}",
            fields=fields,
        )

    def _allowed(self, principal: Principal, org_id: str) -> None:
        if self.kind == "device" or not principal.has(Role.RETAILER_ADMIN):
            require_operator(principal)
        elif principal.organisation_id != org_id:
            # Another retailer's members are as invisible as a missing organisation.
            raise NotFound(f"Organisation {org_id} was not found.")
        org = self.deps.directory.organisation(org_id)
        if org is None:
            raise NotFound(f"Organisation {org_id} was not found.")
        served_here(self.deps, org)
        if org.kind != OrgKind.RETAILER:
            raise Invalid(f"{org_id} is not a retailer: only a retailer's people and cameras act for stores.", errors=[{"field": "org_id"}])
