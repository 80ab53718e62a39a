"""Which persons of interest an intelligence answer may show, and how much of each.

The one place the ranking and the network apply the listing rules: a person shows only
while their listing is in force (not contested, past review, expired, unlisted or merged),
outside their organisation only when they may leave it (never a minor), and a partner
below `full` sees descriptions and images, never names (`partner_view`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared.domain.offenders import listing_in_force, may_leave_organisation, partner_view
from shared.domain.tenancy import Principal, ShareLevel
from shared.ports import UnitOfWork
from shared.services.offenders.catalogue import incidents_in_area, profiles_by_ids


def visible_persons(
    uow: UnitOfWork, principal: Principal, owner: str, ids: Iterable[str], level: ShareLevel | None, now: datetime
) -> dict[str, dict[str, Any]]:
    """The persons of `owner` among `ids` the caller may be shown, as the caller may see them
    (`level` None: the caller's own organisation)."""
    wanted = sorted(set(ids))
    if not wanted or (level is not None and level.rank < ShareLevel.DESCRIPTIONS.rank):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for pid, profile in profiles_by_ids(uow, owner, wanted).items():
        if level is None:
            if listing_in_force(profile, now):
                out[pid] = {**partner_view(profile, ShareLevel.FULL), "id": pid, "organisation_id": owner}
        elif may_leave_organisation(profile, now):
            area = incidents_in_area(uow, profile, principal.organisation_id) if principal.is_police else None
            out[pid] = {**partner_view(profile, level, incident_ids=area), "id": pid, "organisation_id": owner}
    return out
