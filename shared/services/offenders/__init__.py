"""Persons of interest: an organisation's profiles of people it has recorded offending.

One module per use case; the container exposes them as `container.offenders`, e.g.
`container.offenders.profiles.get(principal, offender_id)`. Other capabilities that audit
their own reads use `catalogue.profiles_by_ids` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.services.offenders.catalogue import profiles_by_ids
from shared.services.offenders.contest import Contest
from shared.services.offenders.deps import EDITORS, OffenderDeps
from shared.services.offenders.erasure import OffenderErasure
from shared.services.offenders.listing import Listing
from shared.services.offenders.merging import Merging
from shared.services.offenders.profiles import ProfileList, Profiles
from shared.services.offenders.suggestions import Suggestions

__all__ = ["EDITORS", "OffenderDeps", "Offenders", "profiles_by_ids"]


@dataclass
class Offenders:
    """The person-of-interest capability: one attribute per use case, all sharing `deps`."""

    deps: OffenderDeps
    profiles: Profiles = field(init=False)
    search: ProfileList = field(init=False)
    listing: Listing = field(init=False)
    suggestions: Suggestions = field(init=False)
    contest: Contest = field(init=False)
    erasure: OffenderErasure = field(init=False)
    merging: Merging = field(init=False)

    def __post_init__(self) -> None:
        self.profiles = Profiles(self.deps)
        self.search = ProfileList(self.deps)
        self.listing = Listing(self.deps)
        self.suggestions = Suggestions(self.deps)
        self.contest = Contest(self.deps)
        self.erasure = OffenderErasure(self.deps)
        self.merging = Merging(self.deps)
