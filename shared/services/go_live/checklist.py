"""The go-live checklist of an organisation: each stage complete or not, who completed it
and when. Only the DPIA's approval is recorded (a decision); every other stage is read
from the live configuration, so the checklist cannot say a stage is done that is not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.go_live import STAGE_TITLES, Checklist, Stage, StageName
from shared.domain.tenancy import PLATFORM_TENANT, Organisation, OrgKind, Principal, Role, ShareLevel
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import AUDIT, D2P_RULES, DISPATCHES, ORGANISATIONS, SHARING, STORES
from shared.services.go_live.deps import GoLiveDeps, dpia_approval, organisation
from shared.services.go_live.dpia import DpiaUseCase

# Sharing at these levels shows incidents themselves to the partner: the intelligence view.
VIEW_LEVELS = (ShareLevel.DESCRIPTIONS.value, ShareLevel.FULL.value)


def _stage(name: StageName, *, done: bool, by: str | None = None, at: str | None = None, evidence: str, recorded: bool = False) -> Stage:
    return Stage(
        name=name,
        title=STAGE_TITLES[name],
        complete=done,
        completed_by=by if done else None,
        completed_at=at if done else None,
        recorded=recorded,
        evidence=evidence,
    )


@dataclass
class ChecklistUseCase:
    deps: GoLiveDeps
    dpia: DpiaUseCase

    def get(self, principal: Principal, org_id: str) -> Checklist:
        """The organisation's stages in order (its own admin, or the platform operator)."""
        org = organisation(self.deps, principal, org_id)
        with self.deps.records.read_only() as uow:
            return self._checklist(uow, org)

    def all(self, principal: Principal) -> list[Checklist]:
        """Every organisation homed here, by name (the platform operator)."""
        if not principal.has(Role.PLATFORM_OPERATOR):
            return []
        orgs = [o for o in self.deps.directory.organisations_here() if o.kind != OrgKind.PLATFORM]
        with self.deps.records.read_only() as uow:
            return [self._checklist(uow, o) for o in orgs]

    def _checklist(self, uow: UnitOfWork, org: Organisation) -> Checklist:
        stages = [
            self._dpia(uow, org),
            self._sign_in(uow, org),
            self._view(uow, org),
            self._d2p(uow, org),
            self._first_acknowledged(uow, org),
        ]
        changes = self.dpia.live_changes(uow, org)
        return Checklist.of(org.id, org.name, org.kind.value, stages, None if changes is None else len(changes))

    @staticmethod
    def _dpia(uow: UnitOfWork, org: Organisation) -> Stage:
        approval = dpia_approval(uow, org.id)
        if approval is None:
            return _stage(StageName.DPIA_APPROVED, done=False, recorded=True, evidence="Generate the DPIA and approve a version.")
        return _stage(
            StageName.DPIA_APPROVED,
            done=True,
            by=approval["by"],
            at=approval["at"],
            recorded=True,
            evidence=f"DPIA version {approval['version']} approved.",
        )

    @staticmethod
    def _sign_in(uow: UnitOfWork, org: Organisation) -> Stage:
        # Signed in means a person of the organisation has acted: their first entry in its chain.
        first = uow.query(AUDIT.name, [org.id], [Where("actor_org", "eq", org.id)], order_by="at", limit=1).items
        if not org.idp_tenant_id or not first:
            return _stage(
                StageName.SIGN_IN_CONFIGURED,
                done=False,
                evidence=f"Entra tenant {org.idp_tenant_id or '(none)'}: waiting for the first person of the organisation to sign in.",
            )
        return _stage(
            StageName.SIGN_IN_CONFIGURED,
            done=True,
            by=first[0].get("actor_user"),
            at=first[0].get("at"),
            evidence=f"Entra tenant {org.idp_tenant_id}; first signed-in action: {first[0].get('operation')}.",
        )

    def _view(self, uow: UnitOfWork, org: Organisation) -> Stage:
        retailer = org.kind == OrgKind.RETAILER
        field = "owner_id" if retailer else "partner_id"
        agreements = [
            d
            for d in iterate_all(uow, SHARING.name, [PLATFORM_TENANT], [Where(field, "eq", org.id)])
            if d.get("partner_id") and d.get("level") in VIEW_LEVELS
        ]
        if retailer:
            forces = {
                o["id"] for o in iterate_all(uow, ORGANISATIONS.name, [PLATFORM_TENANT], [Where("kind", "eq", OrgKind.POLICE_FORCE.value)])
            }
            agreements = [d for d in agreements if d["partner_id"] in forces]
        if not agreements:
            who = "a force" if retailer else "a retailer"
            return _stage(
                StageName.INTELLIGENCE_VIEW_ON, done=False, evidence=f"No sharing agreement with {who} at descriptions or full yet."
            )
        first = min(agreements, key=lambda d: d.get("since") or "")
        return _stage(
            StageName.INTELLIGENCE_VIEW_ON,
            done=True,
            by=first["owner_id"],
            at=first.get("since"),
            evidence=f"{first['owner_id']} shares {first['level']} with {first['partner_id']}.",
        )

    def _d2p(self, uow: UnitOfWork, org: Organisation) -> Stage:
        if org.kind == OrgKind.POLICE_FORCE:
            current = uow.get(D2P_RULES.name, org.id, "current")
            if current is None or not current["rules"].get("enrolled_retailers"):
                return _stage(StageName.D2P_ON, done=False, evidence="The force's D2P rules enrol no retailer yet.")
            # From the newest run of versions that enrol a retailer: when it was switched on.
            versions = [
                v
                for v in iterate_all(uow, D2P_RULES.name, [org.id], [Where("version", "ge", 1)], order_by="version")
                if v["id"] != "current"
            ]
            on = None
            for v in versions:
                on = (on or v) if v["rules"].get("enrolled_retailers") else None
            on = on or current
            enrolled = ", ".join(current["rules"]["enrolled_retailers"])
            return _stage(
                StageName.D2P_ON,
                done=True,
                by=on.get("by") or on.get("updated_by"),
                at=on.get("at") or on.get("updated_at"),
                evidence=f"Rules version {current['version']} enrol {enrolled}.",
            )
        forces = iterate_all(uow, ORGANISATIONS.name, [PLATFORM_TENANT], [Where("kind", "eq", OrgKind.POLICE_FORCE.value)])
        for force in forces:
            current = uow.get(D2P_RULES.name, force["id"], "current")
            if current is not None and org.id in current["rules"].get("enrolled_retailers", []):
                return _stage(
                    StageName.D2P_ON,
                    done=True,
                    by=force["id"],
                    at=current.get("updated_at"),
                    evidence=f"{force['id']}'s D2P rules enrol {org.id}.",
                )
        return _stage(StageName.D2P_ON, done=False, evidence="No force's D2P rules enrol the organisation yet.")

    @staticmethod
    def _first_acknowledged(uow: UnitOfWork, org: Organisation) -> Stage:
        if org.kind == OrgKind.POLICE_FORCE:
            tenants = sorted(
                {s["organisation_id"] for s in iterate_all(uow, STORES.name, [PLATFORM_TENANT], [Where("force_id", "eq", org.id)])}
            )
            where = [Where("force_id", "eq", org.id), Where("acknowledged_at", "ge", "0")]
        else:
            tenants = [org.id]
            where = [Where("acknowledged_at", "ge", "0")]
        first: list[dict[str, Any]] = []
        if tenants:
            first = uow.query(DISPATCHES.name, tenants, where, order_by="acknowledged_at", limit=1).items
        if not first or not first[0].get("crime_reference"):
            return _stage(
                StageName.FIRST_REPORT_ACKNOWLEDGED, done=False, evidence="No D2P report acknowledged with a crime reference yet."
            )
        d = first[0]
        return _stage(
            StageName.FIRST_REPORT_ACKNOWLEDGED,
            done=True,
            by=d.get("acknowledged_by"),
            at=d.get("acknowledged_at"),
            evidence=f"Dispatch {d['id']} acknowledged by {d['force_id']} with a crime reference.",
        )
