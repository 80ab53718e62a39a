"""A force's D2P rules (kept as versions, changed with If-Match) and a retailer's D2P
settings (automatic sending)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.d2p_rules import CurrentRules, D2PSettings, D2PSettingsIn, ForceRules, RulesVersion
from shared.domain.errors import NotFound, PreconditionRequired
from shared.domain.tenancy import Principal
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import D2P_RULES, D2P_SETTINGS
from shared.services.d2p.deps import D2PDeps, own_force
from shared.services.go_live.deps import require_dpia_approved
from shared.services.repository import Stored, body, dump, load


@dataclass
class ForceRulesUseCase:
    deps: D2PDeps

    def get(self, principal: Principal, force_id: str) -> Stored[CurrentRules]:
        """The force's current rules with their version (Police.Admin of that force)."""
        own_force(principal, force_id)
        with self.deps.records.read_only() as uow:
            doc = uow.get(D2P_RULES.name, force_id, "current")
        if doc is None:
            raise NotFound(f"{force_id} has no D2P rules yet: PUT them to start taking direct reports.")
        return load(CurrentRules, doc)

    def put(self, principal: Principal, force_id: str, rules: ForceRules, if_match: str | None) -> Stored[CurrentRules]:
        """Replace the rules as a new version (every version kept), audited. Once rules
        exist, `if_match` (the stored ETag last read) is required."""
        own_force(principal, force_id)
        with self.deps.records.unit_of_work() as uow:
            doc = uow.get(D2P_RULES.name, force_id, "current")
            if doc is not None and not if_match:
                raise PreconditionRequired("Send If-Match with the ETag of the rules you last read.")
            _switching_on(uow, force_id, doc, rules)
            stored = self._write(uow, principal, force_id, rules, doc, if_match)
        # Again once committed: an evaluation in between may have held the rules before.
        self.deps.rules_cache.forget(force_id)
        return stored

    def onboarded(
        self, uow: UnitOfWork, principal: Principal, force_id: str, control_room_email: str, rules: Mapping[str, Any] | None
    ) -> bool:
        """On a force onboarded by the platform operator (in the operator's unit of work):
        its rules take the onboarded inbox. `rules` are the force's first rules: once it has
        any, its Police.Admin owns them and onboarding changes only the inbox. A force with
        no rules and none given keeps none (it takes reports once its admin sets them).
        True when a new version was written; the same inbox again writes nothing."""
        doc = uow.get(D2P_RULES.name, force_id, "current")
        current = load(CurrentRules, doc) if doc is not None else None
        if current is not None:
            wanted = current.record.rules.model_copy(update={"control_room_email": control_room_email})
        elif rules is not None:
            wanted = ForceRules.model_validate({**rules, "control_room_email": control_room_email})
        else:
            return False
        if current is not None and current.record.rules == wanted:
            return False
        _switching_on(uow, force_id, doc, wanted)
        self._write(uow, principal, force_id, wanted, doc, current.etag if current else None)
        return True

    def _write(
        self, uow: UnitOfWork, principal: Principal, force_id: str, rules: ForceRules, doc: dict[str, Any] | None, if_match: str | None
    ) -> Stored[CurrentRules]:
        now = self.deps.now()
        self.deps.rules_cache.forget(force_id)
        current = load(CurrentRules, doc) if doc is not None else None
        if current is None:
            new = CurrentRules(force_id=force_id, version=1, rules=rules, updated_at=now, updated_by=principal.user_id)
        else:
            new = current.record.next(rules, by=principal.user_id, now=now)
        uow.insert(D2P_RULES.name, force_id, dump(new.as_version()))
        if current is None:
            etag = uow.insert(D2P_RULES.name, force_id, dump(new))
        else:
            etag = uow.replace(D2P_RULES.name, force_id, dump(new), if_match=if_match)
        self.deps.audit.record(
            uow,
            owner_org=force_id,
            principal=principal,
            action=AuditAction.ALTERATION,
            operation="d2p.rules.change",
            entity=f"d2p-rules/{force_id}",
            fields=sorted(rules.model_fields_set or rules.model_fields),
        )
        return Stored(record=new, etag=etag, tenant=force_id)

    def versions(self, principal: Principal, force_id: str) -> list[RulesVersion]:
        """Every version of the force's rules, oldest first."""
        own_force(principal, force_id)
        with self.deps.records.read_only() as uow:
            docs = list(iterate_all(uow, D2P_RULES.name, [force_id], [Where("version", "ge", 1)], order_by="version"))
        return [RulesVersion.model_validate(body(d)) for d in docs if d["id"] != "current"]


def _switching_on(uow: UnitOfWork, force_id: str, doc: dict[str, Any] | None, rules: ForceRules) -> None:
    """Rules that enrol a retailer when the force's current ones enrol none switch D2P on:
    refused while the force's DPIA is not approved (the go-live stage `dpia_approved`).
    Changing rules already on, or turning D2P off, is not held up."""
    was_on = bool(doc is not None and doc["rules"].get("enrolled_retailers"))
    if rules.enrolled_retailers and not was_on:
        require_dpia_approved(uow, force_id, "Switching D2P on (rules enrolling a retailer)")


@dataclass
class RetailerSettingsUseCase:
    deps: D2PDeps

    def get(self, principal: Principal, org_id: str) -> D2PSettings:
        """The organisation's D2P settings (the defaults until its admin changes them)."""
        if principal.organisation_id != org_id:
            raise NotFound(f"Organisation {org_id} was not found.")
        with self.deps.records.read_only() as uow:
            doc = uow.get(D2P_SETTINGS.name, org_id, "settings")
        return D2PSettings.model_validate(body(doc)) if doc is not None else D2PSettings()

    def put(self, principal: Principal, org_id: str, change: D2PSettingsIn) -> D2PSettings:
        """Turn automatic sending on or off for the organisation (audited)."""
        if principal.organisation_id != org_id or not principal.is_retailer:
            raise NotFound(f"Organisation {org_id} was not found.")
        settings = D2PSettings(auto_send=change.auto_send, updated_at=self.deps.now(), updated_by=principal.user_id)
        with self.deps.records.unit_of_work() as uow:
            if change.auto_send:
                # Turning automatic sending off is always allowed: it sends less.
                require_dpia_approved(uow, org_id, "Sending eligible reports to the police automatically")
            uow.upsert(D2P_SETTINGS.name, org_id, dump(settings))
            self.deps.audit.record(
                uow,
                owner_org=org_id,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="d2p.settings.change",
                entity=f"d2p-settings/{org_id}",
                fields=["auto_send"],
            )
        return settings
