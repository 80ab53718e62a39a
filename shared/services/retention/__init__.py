"""Retention without operators: schedules, the retention index, the sweep of every
registered lane, legal holds, tombstones and the counts that outlive deletion.

One module per use case; `Retention` is what the container exposes, e.g.
`container.retention.holds.place(...)` or `container.retention.sweep.run(as_of)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.services.retention.deletion import Deletion
from shared.services.retention.deps import RetentionDeps
from shared.services.retention.holds import Holds
from shared.services.retention.index import RetentionIndex
from shared.services.retention.lanes import RetentionLane
from shared.services.retention.schedules import Schedules
from shared.services.retention.statistics import Statistics
from shared.services.retention.sweep import Sweep
from shared.services.retention.terms import EvidenceTerms
from shared.services.retention.tombstones import Tombstones


@dataclass(frozen=True)
class Retention:
    deps: RetentionDeps
    schedules: Schedules
    index: RetentionIndex
    sweep: Sweep
    deletion: Deletion
    holds: Holds
    tombstones: Tombstones
    statistics: Statistics
    terms: EvidenceTerms

    @classmethod
    def build(cls, deps: RetentionDeps, lanes: Sequence[RetentionLane]) -> Retention:
        """The capability over `deps`, sweeping `lanes` in their order."""
        return cls(
            deps=deps,
            schedules=Schedules(deps),
            index=RetentionIndex(),
            sweep=Sweep(deps, lanes),
            deletion=Deletion(deps),
            holds=Holds(deps),
            tombstones=Tombstones(deps),
            statistics=Statistics(deps),
            terms=EvidenceTerms(deps),
        )


__all__ = ["Retention", "RetentionDeps"]
