"""A platform operator creates and changes organisations: retailers and police forces,
with their home region, Entra tenant, reference prefix, contact details and, for a force,
its D2P control-room inbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared.domain.d2p_rules import ForceRules
from shared.domain.errors import Invalid, NotFound
from shared.domain.events import ForceOnboarded
from shared.domain.tenancy import PLATFORM_TENANT, Organisation, OrgKind, Principal
from shared.ports import Where, iterate_all
from shared.records import ORGANISATIONS
from shared.services import repository
from shared.services.onboarding.common import (
    PLATFORM_CHAIN,
    OnboardingDeps,
    Upserted,
    audit_change,
    require_operator,
    served_here,
    upsert,
)


@dataclass
class OrganisationsUseCase:
    deps: OnboardingDeps

    def get(self, principal: Principal, org_id: str) -> Upserted:
        """An organisation as stored, with its ETag (Platform.Operator)."""
        require_operator(principal)
        with self.deps.records.read_only() as uow:
            doc = uow.get(ORGANISATIONS.name, PLATFORM_TENANT, org_id)
        if doc is None:
            raise NotFound(f"Organisation {org_id} is not known.")
        served_here(self.deps, Organisation.model_validate(repository.body(doc)))
        return Upserted(repository.body(doc), repository.etag(doc), "unchanged")

    def read_etag(self, principal: Principal, org_id: str) -> str | None:
        """The stored version of an organisation wherever it is homed; None when unknown."""
        require_operator(principal)
        with self.deps.records.read_only() as uow:
            doc = uow.get(ORGANISATIONS.name, PLATFORM_TENANT, org_id)
        return repository.etag(doc) if doc is not None else None

    def put(self, principal: Principal, org: Organisation, if_match: str | None, *, d2p_rules: dict[str, Any] | None = None) -> Upserted:
        """Create or change an organisation homed in this region (421 otherwise); a change
        needs `if_match`. For a force, its inbox (and `d2p_rules`, when given) reach its
        D2P rules in the same unit of work. The same organisation again changes nothing."""
        require_operator(principal)
        served_here(self.deps, org)
        return self._put(principal, org, if_match, d2p_rules)

    def note_homed_elsewhere(self, principal: Principal, org: Organisation, if_match: str | None) -> Upserted:
        """Record that an organisation homed in another region exists, so this stamp answers
        its users 421 naming their home rather than "unknown". Only its directory entry:
        nothing else of it is held here."""
        require_operator(principal)
        if org.home_region == self.deps.region:
            raise Invalid(f"{org.id} is homed in this region: onboard it.", errors=[{"field": "home_region"}])
        return self._put(principal, org, if_match, None)

    def _put(self, principal: Principal, org: Organisation, if_match: str | None, d2p_rules: dict[str, Any] | None) -> Upserted:
        if d2p_rules is not None and org.kind != OrgKind.POLICE_FORCE:
            raise Invalid("Only a police force has D2P rules.", errors=[{"field": "d2p_rules"}])
        if d2p_rules is not None and not org.control_room_email:
            raise Invalid("A force taking D2P reports needs its control-room inbox.", errors=[{"field": "control_room_email"}])
        if org.control_room_email and org.kind != OrgKind.POLICE_FORCE:
            raise Invalid("Only a police force has a control-room inbox.", errors=[{"field": "control_room_email"}])
        rules = _force_rules(org, d2p_rules) if d2p_rules is not None else None
        try:
            with self.deps.records.unit_of_work() as uow:
                existing = uow.get(ORGANISATIONS.name, PLATFORM_TENANT, org.id)
                if existing is not None:
                    self._unchangeable(Organisation.model_validate(repository.body(existing)), org)
                self._unique(uow, org)
                done, fields = upsert(self.deps, uow, ORGANISATIONS.name, PLATFORM_TENANT, org.id, org.model_dump(mode="json"), if_match)
                if done.outcome != "unchanged":
                    audit_change(
                        self.deps,
                        uow,
                        principal,
                        chain=PLATFORM_CHAIN,
                        operation=f"onboarding.organisation.{'create' if done.outcome == 'created' else 'change'}",
                        entity=f"organisation/{org.id}",
                        fields=fields,
                    )
                rules_changed = False
                if org.kind == OrgKind.POLICE_FORCE and org.control_room_email and org.home_region == self.deps.region:
                    results = self.deps.bus.publish(
                        uow,
                        ForceOnboarded(principal=principal, force_id=org.id, control_room_email=org.control_room_email, d2p_rules=rules),
                    )
                    rules_changed = any(results)
        finally:
            self.deps.directory.invalidate()
        if done.outcome == "unchanged" and rules_changed:
            return Upserted(done.record, done.etag, "changed")
        return done

    @staticmethod
    def _unchangeable(old: Organisation, new: Organisation) -> None:
        # Kind decides which roles a token's holders get; home region decides where the
        # organisation's data lives. Changing either is a migration, not an edit.
        for field in ("kind", "home_region"):
            if getattr(old, field) != getattr(new, field):
                raise Invalid(
                    f"{old.id}'s {field} is {getattr(old, field)} and cannot be changed by onboarding.",
                    errors=[{"field": field, "message": "cannot be changed"}],
                )

    @staticmethod
    def _unique(uow, org: Organisation) -> None:
        # One Entra tenant maps to one organisation (its tokens' `tid` picks it), and a
        # reference prefix names one organisation's incidents to the people who read them.
        clash = [
            d
            for d in iterate_all(uow, ORGANISATIONS.name, [PLATFORM_TENANT], [Where("idp_tenant_id", "eq", org.idp_tenant_id)])
            if d["id"] != org.id
        ]
        if clash:
            raise Invalid(
                f"Entra tenant {org.idp_tenant_id} already belongs to {clash[0]['id']}.",
                errors=[{"field": "idp_tenant_id", "message": f"already {clash[0]['id']}'s"}],
            )
        same_prefix = [
            d["id"]
            for d in iterate_all(uow, ORGANISATIONS.name, [PLATFORM_TENANT], [Where("home_region", "eq", org.home_region)])
            if d["id"] != org.id and d.get("reference_prefix") == org.reference_prefix
        ]
        if same_prefix:
            raise Invalid(
                f"Reference prefix {org.reference_prefix} already names {same_prefix[0]}'s incidents.",
                errors=[{"field": "reference_prefix", "message": f"already {same_prefix[0]}'s"}],
            )


def _force_rules(org: Organisation, d2p_rules: dict[str, Any]) -> dict[str, Any]:
    """A force's D2P rules as onboarding gives them, checked; the inbox is the organisation's."""
    given = d2p_rules.get("control_room_email")
    if given is not None and given != org.control_room_email:
        raise Invalid(
            "The D2P rules' inbox is the force's control_room_email: leave it out of d2p_rules.",
            errors=[{"field": "d2p_rules.control_room_email", "message": "differs from control_room_email"}],
        )
    try:
        rules = ForceRules.model_validate({**d2p_rules, "control_room_email": org.control_room_email})
    except ValidationError as exc:
        errors = [{"field": ".".join(["d2p_rules", *(str(p) for p in e["loc"])]), "message": e["msg"]} for e in exc.errors()]
        raise Invalid("; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors) from None
    return rules.model_dump(mode="json")
