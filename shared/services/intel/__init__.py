"""Intelligence: repeat and prolific offending ranked with reasons, offender networks, and
organised crime group records.

One module per use case; the container exposes them as `container.intel`, e.g.
`container.intel.ranking.rank(...)`, `container.intel.network.of(...)`; the read model the
ranking stands on is kept by `container.intel.standing` from the incident events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.services.intel.deps import ANALYSTS, GROUP_KEEPERS, IntelDeps
from shared.services.intel.groups import Groups
from shared.services.intel.network import Network
from shared.services.intel.ranking import Ranking
from shared.services.intel.standing import Standing

__all__ = ["ANALYSTS", "GROUP_KEEPERS", "Intel", "IntelDeps"]


@dataclass
class Intel:
    """The intelligence capability: one attribute per use case, all sharing `deps`."""

    deps: IntelDeps
    standing: Standing = field(init=False)
    ranking: Ranking = field(init=False)
    network: Network = field(init=False)
    groups: Groups = field(init=False)

    def __post_init__(self) -> None:
        self.standing = Standing(self.deps)
        self.ranking = Ranking(self.deps)
        self.network = Network(self.deps)
        self.groups = Groups(self.deps)
