"""Network ranges: where an organisation's people and devices may reach Vigil from
(`container.network.ranges.put`), and the check every signed-in request passes
(`container.network.gate.admit`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.services.network.deps import NetworkDeps
from shared.services.network.gate import GateUseCase
from shared.services.network.ranges import RangesUseCase

__all__ = ["Network", "NetworkDeps"]


@dataclass
class Network:
    """The network capability: one attribute per use case, all sharing `deps`."""

    deps: NetworkDeps
    ranges: RangesUseCase = field(init=False)
    gate: GateUseCase = field(init=False)

    def __post_init__(self) -> None:
        self.ranges = RangesUseCase(self.deps)
        self.gate = GateUseCase(self.deps)
