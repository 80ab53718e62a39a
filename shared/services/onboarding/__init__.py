"""Onboarding: the platform operator's organisations, stores and camera devices, and a
retailer's members (who acts for which store), one module per use case; the container
exposes them as `container.onboarding`, e.g. `container.onboarding.stores.put(...)`.
`container.onboarding.files.apply(...)` applies a whole onboarding description (the CLI's
`onboard`, the demo seed) through the same use cases."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.services.onboarding.access import StoreAccessUseCase
from shared.services.onboarding.common import OnboardingDeps, Upserted
from shared.services.onboarding.files import OnboardingFileUseCase
from shared.services.onboarding.organisations import OrganisationsUseCase
from shared.services.onboarding.stores import StoresUseCase

__all__ = ["Onboarding", "OnboardingDeps", "Upserted"]


@dataclass
class Onboarding:
    """The onboarding capability: one attribute per use case, all sharing `deps`."""

    deps: OnboardingDeps
    organisations: OrganisationsUseCase = field(init=False)
    stores: StoresUseCase = field(init=False)
    devices: StoreAccessUseCase = field(init=False)
    members: StoreAccessUseCase = field(init=False)
    files: OnboardingFileUseCase = field(init=False)

    def __post_init__(self) -> None:
        self.organisations = OrganisationsUseCase(self.deps)
        self.stores = StoresUseCase(self.deps)
        self.devices = StoreAccessUseCase(self.deps, "device")
        self.members = StoreAccessUseCase(self.deps, "member")
        self.files = OnboardingFileUseCase(self.organisations, self.stores, self.devices, self.members)
