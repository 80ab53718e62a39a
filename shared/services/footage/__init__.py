"""Police requests for footage: a force asks a store for the recordings of a time window
by a deadline; the store is emailed (through the outbox) and sees it in the console,
answers with files or declines, and is reminded before the deadline.

One module per use case; the container exposes them as `container.footage`, e.g.
`container.footage.create.create(...)` or `container.footage.answer.supply(...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.services.footage.answer import AnswerRequest
from shared.services.footage.create import CreateRequest
from shared.services.footage.deps import POLICE, QUEUE, RETAILERS, FootageDeps
from shared.services.footage.mail import FootageMail
from shared.services.footage.read import ReadRequests
from shared.services.footage.reminders import Reminders
from shared.services.footage.withdraw import WithdrawRequest

__all__ = ["POLICE", "QUEUE", "RETAILERS", "Footage", "FootageDeps"]


@dataclass
class Footage:
    """The footage-request capability: one attribute per use case, all sharing `deps`."""

    deps: FootageDeps
    evidence: Callable[[], Any]  # gives the evidence capability, whose intake stores files streamed into a request
    create: CreateRequest = field(init=False)
    read: ReadRequests = field(init=False)
    answer: AnswerRequest = field(init=False)
    withdraw: WithdrawRequest = field(init=False)
    reminders: Reminders = field(init=False)
    mail: FootageMail = field(init=False)

    def __post_init__(self) -> None:
        self.create = CreateRequest(self.deps)
        self.read = ReadRequests(self.deps)
        self.answer = AnswerRequest(self.deps, self.evidence)
        self.withdraw = WithdrawRequest(self.deps)
        self.reminders = Reminders(self.deps)
        self.mail = FootageMail(self.deps)
