"""Helpers for referral tests: a second national unit, and series referred through the API."""

from __future__ import annotations

from shared.domain.tenancy import Organisation, OrgKind
from shared.services.seed import SEED_OPERATOR

PREFIX = "/api/v1"
# Another national unit, so "another organisation of the same kind" exists for the unit's roles.
OTHER_UNIT = "merlin"


def onboard_other_unit(stamp) -> str:
    """Onboard `merlin`, a second national unit, through onboarding (once); returns its id."""
    if stamp.container.directory.organisation(OTHER_UNIT) is None:
        stamp.container.onboarding.organisations.put(
            SEED_OPERATOR,
            Organisation(
                id=OTHER_UNIT,
                name="Merlin, a regional organised crime unit",
                kind=OrgKind.NATIONAL_UNIT,
                home_region="uk",
                idp_tenant_id="6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0a22",
                reference_prefix="MRL",
            ),
            None,
        )
    return OTHER_UNIT
