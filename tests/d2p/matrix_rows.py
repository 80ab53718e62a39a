"""Direct-to-police rows of the authorization matrix (tests/http/test_authz_matrix.py).

The incident routes use one northwind report at nw-plymouth that meets devon-and-cornwall's
seeded rules (CCTV and a suspect image, the reporter's statement, prosecution supported),
sent with `POST /incidents/{id}/d2p` and delivered to the outbox, so the force holds a
dispatch to acknowledge and an incident to record outcomes on. Avon-and-somerset, the
"other" force, has no grant to it and answers 404 exactly as for a missing incident.

The SendGrid webhook takes no token: it is signed. The row signs its body with a key
made for the test module and set as the service's verification key.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from functions.http.d2p import SENDGRID_EXAMPLE
from shared.domain.d2p import AcknowledgeIn, OutcomeIn, dispatch_id
from shared.domain.d2p_rules import D2PSettingsIn
from shared.domain.evaluation import ChannelFiguresIn
from shared.domain.tenancy import Role
from shared.services.seed import approve_dpia
from tests.d2p.helpers import add_evidence, drain

DC = "devon-and-cornwall"
EXTRACT = (
    b"crime_reference,channel,reported_at,recorded_at,outcome_code\n"
    b"CR/100001/26,online,2026-09-01T08:12:00Z,2026-09-03T13:12:00Z,14\n"
    b"CR/100002/26,101,2026-09-02T19:40:00Z,2026-09-02T23:10:00Z,1\n"
)
SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


def _example(model) -> dict[str, Any]:
    return dict(model.model_config["json_schema_extra"]["examples"][0])


def d2p_rows(Row, Call, prefix: str) -> dict[tuple[str, str], Any]:
    RR, RI, RA = Role.RETAILER_REPORTER.value, Role.RETAILER_INVESTIGATOR.value, Role.RETAILER_ADMIN.value
    PO, PN, PA = Role.POLICE_OFFICER.value, Role.POLICE_ANALYST.value, Role.POLICE_ADMIN.value
    OPS = Role.PLATFORM_OPERATOR.value
    police = {PO, PN, PA}

    def dispatched(ctx) -> str:
        """The northwind incident sent to devon-and-cornwall and delivered (status sent)."""

        def make():
            from tests.http.test_authz_matrix import SECRET

            body = {**ctx.stamp.example("IncidentIn"), "narrative": SECRET}
            r = ctx.stamp.client.post(f"{prefix}/incidents", json=body, headers=ctx.auth("northwind", RI))
            assert r.status_code == 201, r.text
            incident = r.json()
            add_evidence(ctx.stamp, incident, "cctv", "suspect_image")
            sent = ctx.stamp.client.post(f"{prefix}/incidents/{incident['id']}/d2p", headers=ctx.auth("northwind", RI))
            assert sent.status_code in (200, 202), sent.text
            drain(ctx.stamp)
            status = ctx.stamp.client.get(f"{prefix}/incidents/{incident['id']}/d2p", headers=ctx.auth("northwind", RI)).json()[
                "dispatches"
            ][0]["status"]
            assert status == "sent", status
            return incident["id"]

        return ctx.once("d2p-dispatched", make)

    def rules_etag(ctx) -> str:
        return ctx.stamp.client.get(f"{prefix}/forces/{DC}/d2p-rules", headers=ctx.auth(DC, PA)).headers["etag"]

    def signed_call(ctx) -> Any:
        """The documented example batch, signed now with the module's webhook key."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        def key():
            k = ec.generate_private_key(ec.SECP256R1())
            der = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            ctx.stamp.container.d2p.deps.webhook_public_key = base64.b64encode(der).decode()
            return k

        private = ctx.once("d2p-webhook-key", key)
        # The bytes the client sends for json=...: the example test posts the example that way.
        payload = httpx.Request("POST", "http://matrix", json=SENDGRID_EXAMPLE).content
        ts = str(int(ctx.stamp.clock.now().timestamp()))
        sig = base64.b64encode(private.sign(ts.encode() + payload, ec.ECDSA(hashes.SHA256()))).decode()
        return Call("POST", f"{prefix}/webhooks/sendgrid", json=SENDGRID_EXAMPLE, headers={SIGNATURE: sig, TIMESTAMP: ts})

    def kpi_params(org: str) -> dict[str, str]:
        return {"force": org, "from": "2026-01-01T00:00:00+00:00", "to": "2027-01-01T00:00:00+00:00"}

    return {
        # A force's rules, inbox and dispatch list are its Police.Admin's; another force's answer 404.
        ("GET", f"{prefix}/forces/{{force_id}}/d2p-rules"): Row(
            allowed={PA}, call=lambda ctx, org: Call("GET", f"{prefix}/forces/{org}/d2p-rules")
        ),
        ("PUT", f"{prefix}/forces/{{force_id}}/d2p-rules"): Row(
            allowed={PA},
            call=lambda ctx, org: Call(
                "PUT", f"{prefix}/forces/{org}/d2p-rules", json=ctx.stamp.example("ForceRules"), headers={"If-Match": rules_etag(ctx)}
            ),
        ),
        ("GET", f"{prefix}/forces/{{force_id}}/d2p-rules/versions"): Row(
            allowed={PA}, call=lambda ctx, org: Call("GET", f"{prefix}/forces/{org}/d2p-rules/versions")
        ),
        ("GET", f"{prefix}/forces/{{force_id}}/d2p-dispatches"): Row(
            allowed={PA},
            call=lambda ctx, org: (dispatched(ctx), Call("GET", f"{prefix}/forces/{org}/d2p-dispatches"))[1],
        ),
        # The force's inbox: any of its police roles; another force's answers 404.
        ("GET", f"{prefix}/forces/{{force_id}}/d2p-inbox"): Row(
            allowed=police,
            call=lambda ctx, org: (dispatched(ctx), Call("GET", f"{prefix}/forces/{org}/d2p-inbox"))[1],
        ),
        # A retailer's admin turns its own automatic sending on or off.
        ("GET", f"{prefix}/organisations/{{org_id}}/d2p-settings"): Row(
            allowed={RA}, call=lambda ctx, org: Call("GET", f"{prefix}/organisations/{org}/d2p-settings")
        ),
        # Turning it on needs the retailer's approved DPIA (docs/go-live.md): approved first.
        ("PUT", f"{prefix}/organisations/{{org_id}}/d2p-settings"): Row(
            allowed={RA},
            call=lambda ctx, org: (
                ctx.once("northwind-dpia", lambda: approve_dpia(ctx.stamp.container, "northwind")),
                Call("PUT", f"{prefix}/organisations/{org}/d2p-settings", json=_example(D2PSettingsIn)),
            )[1],
        ),
        # Eligibility: whoever may read the incident (the force it was sent to included).
        ("GET", f"{prefix}/incidents/{{incident_id}}/d2p"): Row(
            allowed={RR, RI, PO, PN},
            call=lambda ctx, org: Call(
                "GET", f"{prefix}/incidents/{dispatched(ctx)}/d2p", params={"purpose": "Authorization matrix check"}
            ),
        ),
        # Sending again answers the existing dispatch (200); the first send answers 202.
        ("POST", f"{prefix}/incidents/{{incident_id}}/d2p"): Row(
            allowed={RR, RI},
            ok=(200, 202),
            call=lambda ctx, org: Call("POST", f"{prefix}/incidents/{dispatched(ctx)}/d2p"),
        ),
        # The force it was sent to acknowledges (the same crime reference again is idempotent).
        ("POST", f"{prefix}/d2p/{{dispatch_id}}/acknowledge"): Row(
            allowed=police,
            call=lambda ctx, org: Call(
                "POST", f"{prefix}/d2p/{dispatch_id(dispatched(ctx), DC)}/acknowledge", json=_example(AcknowledgeIn)
            ),
        ),
        ("POST", f"{prefix}/incidents/{{incident_id}}/outcomes"): Row(
            allowed=police,
            ok=(201,),
            call=lambda ctx, org: Call("POST", f"{prefix}/incidents/{dispatched(ctx)}/outcomes", json=_example(OutcomeIn)),
        ),
        ("GET", f"{prefix}/kpis/d2p"): Row(
            allowed=police,
            call=lambda ctx, org: (dispatched(ctx), Call("GET", f"{prefix}/kpis/d2p", params=kpi_params(org)))[1],
        ),
        # Evaluation: the force's Police.Admin uploads its other channels' figures; its
        # admins and analysts read them; another force's answers 404.
        ("POST", f"{prefix}/forces/{{force_id}}/channel-figures"): Row(
            allowed={PA},
            ok=(201,),
            call=lambda ctx, org: Call("POST", f"{prefix}/forces/{org}/channel-figures", json=_example(ChannelFiguresIn)),
        ),
        ("POST", f"{prefix}/forces/{{force_id}}/channel-figures/extract"): Row(
            allowed={PA},
            ok=(201,),
            call=lambda ctx, org: Call(
                "POST",
                f"{prefix}/forces/{org}/channel-figures/extract",
                params={"from": "2026-09-01", "to": "2026-09-30"},
                content=EXTRACT,
                headers={"Content-Type": "text/csv"},
            ),
        ),
        ("GET", f"{prefix}/forces/{{force_id}}/channel-figures"): Row(
            allowed={PA, PN}, call=lambda ctx, org: Call("GET", f"{prefix}/forces/{org}/channel-figures")
        ),
        ("GET", f"{prefix}/operations/dead-letters/d2p"): Row(
            allowed={OPS}, call=lambda ctx, org: Call("GET", f"{prefix}/operations/dead-letters/d2p")
        ),
        ("POST", f"{prefix}/operations/dead-letters/d2p/replay"): Row(
            allowed={OPS},
            call=lambda ctx, org: Call("POST", f"{prefix}/operations/dead-letters/d2p/replay", json={"message_ids": None}),
        ),
        # Signed by SendGrid, not by a token: any token is beside the point, the signature decides.
        ("POST", f"{prefix}/webhooks/sendgrid"): Row(
            allowed=set(),
            public=True,
            signature_headers=(SIGNATURE, TIMESTAMP),
            other="hidden",
            call=lambda ctx, org: signed_call(ctx),
        ),
    }
