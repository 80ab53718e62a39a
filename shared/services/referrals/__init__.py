"""Referrals to a national unit: a force or retailer refers a cross-force series with
3x5x2 gradings; the unit accepts it, asks for more, or allocates a lead force; the
referrer sees the status and answers questions.

One module per use case; the container exposes them as `container.referrals`, e.g.
`container.referrals.create.create(...)` or `container.referrals.decide.accept(...)`, `container.referrals.answer.answer(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.services.referrals.answer import AnswerReferral
from shared.services.referrals.create import CreateReferral
from shared.services.referrals.decide import DecideReferral
from shared.services.referrals.deps import REFERRERS, UNIT, ReferralDeps
from shared.services.referrals.read import ReadReferrals

__all__ = ["REFERRERS", "UNIT", "ReferralDeps", "Referrals"]


@dataclass
class Referrals:
    """The referral capability: one attribute per use case, all sharing `deps`."""

    deps: ReferralDeps
    create: CreateReferral = field(init=False)
    read: ReadReferrals = field(init=False)
    decide: DecideReferral = field(init=False)
    answer: AnswerReferral = field(init=False)

    def __post_init__(self) -> None:
        self.create = CreateReferral(self.deps)
        self.read = ReadReferrals(self.deps)
        self.decide = DecideReferral(self.deps)
        self.answer = AnswerReferral(self.deps)
