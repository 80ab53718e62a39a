"""A force's register of ANPR authorising officers, kept by its Police.Admin: who may
authorise a search of reads older than the ordinary window (`authorised_by`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.anpr import AuthorisingOfficer, AuthorisingOfficersIn
from shared.domain.audit import AuditAction
from shared.domain.errors import NotFound
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import UnitOfWork
from shared.records import ANPR_SETTINGS
from shared.services.anpr.common import AnprDeps

# The register lives beside the force's other ANPR settings, as its own document.
REGISTER_ID = "authorising-officers"


def find_officer(uow: UnitOfWork, force_id: str, user_id: str) -> AuthorisingOfficer | None:
    """The officer on the force's register with this sign-in id, or None."""
    doc = uow.get(ANPR_SETTINGS.name, force_id, REGISTER_ID)
    for officer in (doc or {}).get("officers", []):
        if officer.get("user_id") == user_id:
            return AuthorisingOfficer.model_validate(officer)
    return None


@dataclass
class AuthorisingOfficers:
    deps: AnprDeps

    @staticmethod
    def _own_force(principal: Principal, force_id: str) -> None:
        # Another force's register answers exactly as a force that does not exist.
        if principal.organisation_id != force_id or not principal.is_police:
            raise NotFound(f"Force {force_id} was not found.")

    def get(self, principal: Principal, force_id: str) -> dict[str, Any]:
        """The force's register (empty until its admin names someone)."""
        self._own_force(principal, force_id)
        with self.deps.records.read_only() as uow:
            doc = uow.get(ANPR_SETTINGS.name, force_id, REGISTER_ID)
        return {"officers": list((doc or {}).get("officers", []))}

    def set(self, principal: Principal, force_id: str, body: AuthorisingOfficersIn) -> dict[str, Any]:
        """Replace the force's register; audited with who changed it."""
        self._own_force(principal, force_id)
        officers = [o.model_dump() for o in body.officers]
        with self.deps.records.unit_of_work() as uow:
            uow.upsert(
                ANPR_SETTINGS.name,
                force_id,
                {"id": REGISTER_ID, "officers": officers, "updated_by": principal.user_id, "updated_at": to_iso(self.deps.clock.now())},
            )
            self.deps.audit.record(
                uow,
                owner_org=force_id,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="anpr.authorising_officers",
                entity="anpr_settings/authorising-officers",
                fields=["officers"],
                subjects=[o["user_id"] for o in officers],
            )
        return {"officers": officers}
