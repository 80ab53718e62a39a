"""The referrer answers the unit's question: the referral returns to the unit."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.errors import NotFound
from shared.domain.referrals import Referral
from shared.domain.tenancy import Principal
from shared.services.referrals.decide import step
from shared.services.referrals.deps import REFERRERS, ReferralDeps


@dataclass
class AnswerReferral:
    deps: ReferralDeps

    def answer(self, principal: Principal, referral_id: str, answer: str) -> Referral:
        """The referrer answers the unit's open question; the referral returns to the unit."""
        if not principal.has(*REFERRERS):
            raise NotFound(f"Referral {referral_id} was not found.")
        return step(
            self.deps,
            principal,
            referral_id,
            "referral.answer",
            ["status", "questions"],
            lambda r, now: r.answer(answer, by=principal.user_id, now=now),
            side="referrer",
        )
