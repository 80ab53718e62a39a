"""Go-live: an organisation's staged go-live checklist and its DPIA and record of
processing generated from the live configuration; the container exposes them as
`container.go_live`, e.g. `container.go_live.dpia.generate(...)`."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.services.go_live.checklist import ChecklistUseCase
from shared.services.go_live.deps import GoLiveDeps, require_dpia_approved
from shared.services.go_live.dpia import DpiaUseCase

__all__ = ["GoLive", "GoLiveDeps", "require_dpia_approved"]


@dataclass
class GoLive:
    """The go-live capability: one attribute per use case, all sharing `deps`."""

    deps: GoLiveDeps
    dpia: DpiaUseCase = field(init=False)
    checklist: ChecklistUseCase = field(init=False)

    def __post_init__(self) -> None:
        self.dpia = DpiaUseCase(self.deps)
        self.checklist = ChecklistUseCase(self.deps, self.dpia)
