"""Direct to police (D2P): force rules, eligibility, dispatch through an outbox and a
queue, exactly-once email, delivery events, acknowledgement, outcomes and KPIs.

One module per use case; the container exposes them together as `container.d2p`, e.g.
`container.d2p.dispatch.send(...)` or `container.d2p.delivery.handle(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.services.d2p.channel_figures import ChannelFiguresUseCase
from shared.services.d2p.counters import CountersUseCase
from shared.services.d2p.delivery import DeliveryUseCase
from shared.services.d2p.delivery_events import DeliveryEventsUseCase
from shared.services.d2p.deps import POLICE, QUEUE, D2PDeps
from shared.services.d2p.dispatch import DispatchUseCase
from shared.services.d2p.eligibility import EligibilityUseCase
from shared.services.d2p.kpis import KpisUseCase
from shared.services.d2p.police import PoliceUseCase
from shared.services.d2p.rules import ForceRulesUseCase, RetailerSettingsUseCase

__all__ = ["D2P", "D2PDeps", "POLICE", "QUEUE"]


@dataclass
class D2P:
    """The D2P capability: one attribute per use case, all sharing `deps`."""

    deps: D2PDeps
    rules: ForceRulesUseCase = field(init=False)
    settings: RetailerSettingsUseCase = field(init=False)
    eligibility: EligibilityUseCase = field(init=False)
    dispatch: DispatchUseCase = field(init=False)
    delivery: DeliveryUseCase = field(init=False)
    delivery_events: DeliveryEventsUseCase = field(init=False)
    police: PoliceUseCase = field(init=False)
    kpis: KpisUseCase = field(init=False)
    counters: CountersUseCase = field(init=False)
    channel_figures: ChannelFiguresUseCase = field(init=False)

    def __post_init__(self) -> None:
        self.rules = ForceRulesUseCase(self.deps)
        self.settings = RetailerSettingsUseCase(self.deps)
        self.eligibility = EligibilityUseCase(self.deps)
        self.dispatch = DispatchUseCase(self.deps)
        self.delivery = DeliveryUseCase(self.deps)
        self.delivery_events = DeliveryEventsUseCase(self.deps)
        self.police = PoliceUseCase(self.deps)
        self.counters = CountersUseCase(self.deps)
        self.channel_figures = ChannelFiguresUseCase(self.deps)
        self.kpis = KpisUseCase(self.deps, self.counters, self.channel_figures)
