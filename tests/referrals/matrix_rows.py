"""Referral rows of the authorization matrix (tests/http/test_authz_matrix.py).

The referrer's side is the role's own organisation: northwind (investigators) refers its
acknowledged nw-plymouth report, devon-and-cornwall (officers, analysts) the same report
shared with it; opal is the unit's own side. Each row that changes a referral makes a
fresh one, so every role's call finds it in the state the step needs. Contoso,
avon-and-somerset and merlin, the "other" side, see none of it (404, or nothing listed);
another retailer or force referring northwind's report is refused (422: not one it can see).
"""

from __future__ import annotations

import itertools
from typing import Any

from shared.domain.referrals import AllocateIn, AnswerIn, DecisionIn, QuestionIn, ReferralIn
from shared.domain.tenancy import Role
from tests.referrals.helpers import referable_incident

_made = itertools.count()


def _setup_auth(ctx, org: str, role: str) -> dict[str, str]:
    """A token for the rows' set-up writes, from a user of its own every 50 writes: a fresh
    referral per role and side is many writes, and one caller's write budget is the
    matrix's own callers' to spend."""
    return ctx.stamp.auth(org, role, user=f"{org}-referrals-setup-{next(_made) // 50}")


def referral_rows(Row, Call, prefix: str) -> dict[tuple[str, str], Any]:
    RI = Role.RETAILER_INVESTIGATOR.value
    PO, PN = Role.POLICE_OFFICER.value, Role.POLICE_ANALYST.value
    NUO, NUA = Role.NATIONAL_UNIT_OFFICER.value, Role.NATIONAL_UNIT_ANALYST.value
    referrers = {RI, PO, PN}
    unit = {NUO, NUA}
    example = dict(ReferralIn.model_config["json_schema_extra"]["examples"][0])

    def incident(ctx) -> str:
        # The documented example names this report by the crime reference it was acknowledged with.
        return ctx.once("referral-incident", lambda: referable_incident(ctx.stamp, crime_reference="DC/2026/118734")["id"])

    def fresh(ctx, org: str, *, asked: bool = False) -> str:
        """A new referral made by `org` (northwind's for the unit's side), optionally asked a question by opal."""
        incident(ctx)
        who = {"northwind": RI, "devon-and-cornwall": PO}.get(org)
        by = (org, who) if who else ("northwind", RI)
        r = ctx.stamp.client.post(f"{prefix}/referrals", json=example, headers=_setup_auth(ctx, *by))
        assert r.status_code == 201, r.text
        referral_id = r.json()["id"]
        if asked:
            q = dict(QuestionIn.model_config["json_schema_extra"]["examples"][0])
            r = ctx.stamp.client.post(f"{prefix}/referrals/{referral_id}/questions", json=q, headers=_setup_auth(ctx, "opal", NUO))
            assert r.status_code == 200, r.text
        return referral_id

    def one(ctx, org: str) -> str:
        return ctx.once(f"referral-{org}", lambda: fresh(ctx, org))

    def body(model) -> dict[str, Any]:
        return dict(model.model_config["json_schema_extra"]["examples"][0])

    return {
        ("POST", f"{prefix}/referrals"): Row(
            allowed=referrers,
            ok=(201,),
            other=422,
            call=lambda ctx, org: (incident(ctx), Call("POST", f"{prefix}/referrals", json=example))[1],
        ),
        ("GET", f"{prefix}/referrals"): Row(
            allowed=referrers | unit, other="hidden", call=lambda ctx, org: (one(ctx, org), Call("GET", f"{prefix}/referrals"))[1]
        ),
        ("GET", f"{prefix}/referrals/{{referral_id}}"): Row(
            allowed=referrers | unit, call=lambda ctx, org: Call("GET", f"{prefix}/referrals/{one(ctx, org)}")
        ),
        ("POST", f"{prefix}/referrals/{{referral_id}}/accept"): Row(
            allowed=unit, call=lambda ctx, org: Call("POST", f"{prefix}/referrals/{fresh(ctx, org)}/accept", json=body(DecisionIn))
        ),
        ("POST", f"{prefix}/referrals/{{referral_id}}/questions"): Row(
            allowed=unit, call=lambda ctx, org: Call("POST", f"{prefix}/referrals/{fresh(ctx, org)}/questions", json=body(QuestionIn))
        ),
        ("POST", f"{prefix}/referrals/{{referral_id}}/answer"): Row(
            allowed=referrers,
            call=lambda ctx, org: Call("POST", f"{prefix}/referrals/{fresh(ctx, org, asked=True)}/answer", json=body(AnswerIn)),
        ),
        ("POST", f"{prefix}/referrals/{{referral_id}}/lead-force"): Row(
            allowed=unit, call=lambda ctx, org: Call("POST", f"{prefix}/referrals/{fresh(ctx, org)}/lead-force", json=body(AllocateIn))
        ),
    }
