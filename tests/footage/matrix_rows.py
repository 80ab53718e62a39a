"""Footage-request rows of the authorization matrix (tests/http/test_authz_matrix.py).

Each row that changes a request (supply, decline, withdraw) makes a fresh request from
devon-and-cornwall to nw-plymouth, so every role's call finds it open. Supplying uses one
CCTV file on the matrix's northwind incident at nw-plymouth. Contoso and
avon-and-somerset, the "other" side, answer 404 exactly as for a missing request; another
force asking for nw-plymouth's footage is refused (422: not its area).
"""

from __future__ import annotations

from typing import Any

from shared.domain.footage import DeclineIn, WithdrawIn
from shared.domain.tenancy import Role
from tests.d2p.helpers import CCTV_CLIP
from tests.footage.helpers import DC, request_body


def footage_rows(Row, Call, prefix: str) -> dict[tuple[str, str], Any]:
    RR, RI, RA = Role.RETAILER_REPORTER.value, Role.RETAILER_INVESTIGATOR.value, Role.RETAILER_ADMIN.value
    PO, PN, PA = Role.POLICE_OFFICER.value, Role.POLICE_ANALYST.value, Role.POLICE_ADMIN.value
    police = {PO, PN, PA}
    retailers = {RR, RI, RA}

    def fresh(ctx) -> str:
        r = ctx.stamp.client.post(f"{prefix}/footage-requests", json=request_body(ctx.stamp), headers=ctx.auth(DC, PO))
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def one(ctx) -> str:
        return ctx.once("footage-request", lambda: fresh(ctx))

    def cctv(ctx) -> str:
        def upload() -> str:
            headers = {**ctx.auth("northwind", RI), "Content-Type": "video/mp4", "X-Filename": "tills.mp4", "X-Evidence-Kind": "cctv"}
            r = ctx.stamp.client.post(f"{prefix}/incidents/{ctx.incident()}/evidence", content=CCTV_CLIP, headers=headers)
            assert r.status_code == 201, r.text
            return r.json()["id"]

        return ctx.once("footage-cctv", upload)

    def staff_report(ctx) -> str:
        """A nw-plymouth report filed by the store's reporter: store staff add evidence only to their own."""

        def create() -> str:
            r = ctx.stamp.client.post(f"{prefix}/incidents", json=ctx.stamp.example("IncidentIn"), headers=ctx.auth("northwind", RR))
            assert r.status_code == 201, r.text
            return r.json()["id"]

        return ctx.once("footage-staff-report", create)

    return {
        # Only a force asks; another force asking for nw-plymouth's footage is told it is not its area.
        ("POST", f"{prefix}/footage-requests"): Row(
            allowed=police,
            ok=(201,),
            other=422,
            call=lambda ctx, org: Call("POST", f"{prefix}/footage-requests", json=request_body(ctx.stamp)),
        ),
        # The force's own requests, or those to the retailer's stores: others see none of them.
        ("GET", f"{prefix}/footage-requests"): Row(
            allowed=police | retailers, other="hidden", call=lambda ctx, org: (one(ctx), Call("GET", f"{prefix}/footage-requests"))[1]
        ),
        ("GET", f"{prefix}/footage-requests/{{request_id}}"): Row(
            allowed=police | retailers, call=lambda ctx, org: Call("GET", f"{prefix}/footage-requests/{one(ctx)}")
        ),
        # A file streamed into a request, on a nw-plymouth report the store's reporter filed.
        ("POST", f"{prefix}/footage-requests/{{request_id}}/evidence"): Row(
            allowed={RR, RI},
            call=lambda ctx, org: Call(
                "POST",
                f"{prefix}/footage-requests/{fresh(ctx)}/evidence",
                params={"incident_id": staff_report(ctx)},
                content=CCTV_CLIP,
                headers={"Content-Type": "video/mp4", "X-Filename": "tills.mp4", "X-Evidence-Kind": "cctv"},
            ),
        ),
        # Supplied by whoever may add evidence to the store's reports (an admin reads and declines).
        ("POST", f"{prefix}/footage-requests/{{request_id}}/evidence/{{evidence_id}}"): Row(
            allowed={RR, RI},
            call=lambda ctx, org: Call("POST", f"{prefix}/footage-requests/{fresh(ctx)}/evidence/{cctv(ctx)}", json={"complete": True}),
        ),
        ("POST", f"{prefix}/footage-requests/{{request_id}}/decline"): Row(
            allowed=retailers,
            call=lambda ctx, org: Call(
                "POST",
                f"{prefix}/footage-requests/{fresh(ctx)}/decline",
                json=dict(DeclineIn.model_config["json_schema_extra"]["examples"][0]),
            ),
        ),
        ("POST", f"{prefix}/footage-requests/{{request_id}}/withdraw"): Row(
            allowed=police,
            call=lambda ctx, org: Call(
                "POST",
                f"{prefix}/footage-requests/{fresh(ctx)}/withdraw",
                json=dict(WithdrawIn.model_config["json_schema_extra"]["examples"][0]),
            ),
        ),
    }
