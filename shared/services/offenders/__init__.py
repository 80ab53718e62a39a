"""Persons of interest: an organisation's profiles of people it has recorded offending.

One module per use case; the container exposes them as `container.offenders`, e.g.
`container.offenders.profiles.get(principal, offender_id)`. Other capabilities that audit
their own reads use `catalogue.profiles_by_ids` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.services.offenders.catalogue import profiles_by_ids
from shared.services.offenders.deps import EDITORS, OffenderDeps
from shared.services.offenders.profiles import Profiles

__all__ = ["EDITORS", "OffenderDeps", "Offenders", "profiles_by_ids"]


@dataclass
class Offenders:
    """The person-of-interest capability: one attribute per use case, all sharing `deps`."""

    deps: OffenderDeps
    profiles: Profiles = field(init=False)

    def __post_init__(self) -> None:
        self.profiles = Profiles(self.deps)
