"""Direct-to-police routes: force rules, eligibility, sending, acknowledgement, outcomes,
KPIs, the SendGrid event webhook and dead-letter replay. Thin: parse, who, one call."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from functions.http.deps import container, require, require_offset
from functions.http.problems import AUTH_ERRORS, problem, responses
from shared.bootstrap import Container
from shared.domain.d2p import AcknowledgeIn, D2PSettingsIn, DispatchStatus, ForceRules, OutcomeIn
from shared.domain.errors import Unauthorized
from shared.domain.tenancy import Principal, Role
from shared.services.d2p import POLICE
from shared.services.incidents import READERS, REPORTERS
from shared.settings import Settings

IncidentId = Annotated[str, Path(min_length=1, max_length=64, description="Incident id")]
ForceId = Annotated[str, Path(min_length=1, max_length=64, description="Force (organisation) id", examples=["devon-and-cornwall"])]
OrgId = Annotated[str, Path(min_length=1, max_length=64, description="Organisation id", examples=["northwind"])]
DispatchId = Annotated[str, Path(min_length=3, max_length=140, description="Dispatch id: '<incident id>.<force id>'")]


class RuleOut(BaseModel):
    rule: str
    passed: bool
    sentence: str = Field(description="On failure, what the store manager can do about it")


class RulesOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    force_id: str
    version: int
    updated_at: str
    updated_by: str
    rules: ForceRules
    etag: str


class DispatchOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    incident_id: str
    force_id: str
    status: DispatchStatus
    history: list[dict[str, Any]] = []


class EligibilityOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    incident_id: str
    eligible: bool
    reasons: list[str]
    force_id: str
    rules_version: int | None
    rules: list[RuleOut]
    dispatches: list[DispatchOut]
    outcomes: list[dict[str, Any]]


class SettingsOut(BaseModel):
    organisation_id: str
    auto_send: bool
    updated_at: str | None = None


class OutcomeOut(BaseModel):
    outcome: dict[str, Any]
    history: list[dict[str, Any]]


class KpiOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    force: str
    dispatches_by_status: dict[str, int]
    times: dict[str, Any]
    outcomes: dict[str, Any]


# A SendGrid event batch as it arrives: the dispatch is named by the custom arguments the
# D2P email carries. No dispatch of this id exists in the seeded demo, so it is counted as ignored.
SENDGRID_EXAMPLE: list[dict[str, Any]] = [
    {
        "email": "control-room@devon-cornwall.police.example",
        "timestamp": 1795700000,
        "event": "delivered",
        "sg_event_id": "ZGVsaXZlcmVkLTAtMjc3NjU",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "response": "250 OK",
        "dispatch_id": "6f1c2b9a8e4d4c3b9a7e5d1f2c3b4a59.devon-and-cornwall",
        "owner_org": "northwind",
    }
]


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"message_ids": None}]})
    message_ids: list[Annotated[str, Field(max_length=200)]] | None = Field(
        default=None, max_length=1000, description="Only these; all when absent"
    )


def router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["direct to police"])

    # ---- force rules --------------------------------------------------------------
    @r.get(
        "/forces/{force_id}/d2p-rules",
        summary="A force's D2P rules and inbox",
        response_model=RulesOut,
        responses=responses(*AUTH_ERRORS, 404, 422),
    )
    def get_rules(force_id: ForceId, p: Principal = Depends(require(Role.POLICE_ADMIN)), c: Container = Depends(container)):
        body, etag = c.d2p.get_rules(p, force_id)
        return JSONResponse(body, headers={"ETag": f'"{etag}"'})

    @r.put(
        "/forces/{force_id}/d2p-rules",
        summary="Set a force's D2P rules (a new version; If-Match once rules exist)",
        response_model=RulesOut,
        responses=responses(400, *AUTH_ERRORS, 404, 412, 413, 422, 428),
    )
    def put_rules(
        force_id: ForceId,
        body: Annotated[ForceRules, Body()],
        p: Principal = Depends(require(Role.POLICE_ADMIN)),
        c: Container = Depends(container),
        if_match: Annotated[str | None, Header(max_length=200, description="The ETag of the rules you last read")] = None,
    ):
        out, etag = c.d2p.put_rules(p, force_id, body, if_match)
        out["etag"] = f'"{etag}"'
        return JSONResponse(out, headers={"ETag": f'"{etag}"'})

    @r.get(
        "/forces/{force_id}/d2p-rules/versions", summary="Every version of a force's D2P rules", responses=responses(*AUTH_ERRORS, 404, 422)
    )
    def rule_versions(force_id: ForceId, p: Principal = Depends(require(Role.POLICE_ADMIN)), c: Container = Depends(container)):
        return JSONResponse({"items": c.d2p.rule_versions(p, force_id)})

    @r.get(
        "/forces/{force_id}/d2p-dispatches",
        summary="Reports dispatched to the force (failures and bounces to act on)",
        responses=responses(*AUTH_ERRORS, 404, 422),
    )
    def force_dispatches(
        force_id: ForceId,
        p: Principal = Depends(require(Role.POLICE_ADMIN)),
        c: Container = Depends(container),
        status: DispatchStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=settings.max_page_size)] = settings.default_page_size,
    ):
        return JSONResponse({"items": c.d2p.force_dispatches(p, force_id, status.value if status else None, limit)})

    # ---- retailer settings -----------------------------------------------------------
    @r.get(
        "/organisations/{org_id}/d2p-settings",
        summary="A retailer's D2P settings",
        response_model=SettingsOut,
        responses=responses(*AUTH_ERRORS, 404, 422),
    )
    def get_settings(org_id: OrgId, p: Principal = Depends(require(Role.RETAILER_ADMIN)), c: Container = Depends(container)):
        return JSONResponse(c.d2p.get_settings(p, org_id))

    @r.put(
        "/organisations/{org_id}/d2p-settings",
        summary="Turn automatic sending on or off",
        response_model=SettingsOut,
        responses=responses(400, *AUTH_ERRORS, 404, 413, 422),
    )
    def put_settings(
        org_id: OrgId,
        body: Annotated[D2PSettingsIn, Body()],
        p: Principal = Depends(require(Role.RETAILER_ADMIN)),
        c: Container = Depends(container),
    ):
        return JSONResponse(c.d2p.put_settings(p, org_id, body))

    # ---- eligibility and sending -------------------------------------------------------
    @r.get(
        "/incidents/{incident_id}/d2p",
        summary="Eligibility (every rule with pass/fail), dispatch status and history",
        response_model=EligibilityOut,
        responses=responses(*AUTH_ERRORS, 404, 422),
    )
    def eligibility(incident_id: IncidentId, p: Principal = Depends(require(*READERS)), c: Container = Depends(container)):
        return JSONResponse(c.d2p.eligibility(p, incident_id))

    @r.post(
        "/incidents/{incident_id}/d2p",
        status_code=202,
        summary="Send an eligible report to the force (once: a repeat answers the existing dispatch)",
        response_model=DispatchOut,
        responses={
            **responses(*AUTH_ERRORS, 404, 409, 422),
            200: {"model": DispatchOut, "description": "Already dispatched: the existing dispatch"},
        },
    )
    def send(incident_id: IncidentId, p: Principal = Depends(require(*REPORTERS)), c: Container = Depends(container)):
        status, body = c.d2p.send(p, incident_id)
        return JSONResponse(body, status_code=status)

    # ---- police side ---------------------------------------------------------------------
    @r.post(
        "/d2p/{dispatch_id}/acknowledge",
        summary="Record the force's crime reference number",
        response_model=DispatchOut,
        responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    )
    def acknowledge(
        dispatch_id: DispatchId,
        body: Annotated[AcknowledgeIn, Body()],
        p: Principal = Depends(require(*POLICE)),
        c: Container = Depends(container),
    ):
        return JSONResponse(c.d2p.acknowledge(p, dispatch_id, body))

    @r.post(
        "/incidents/{incident_id}/outcomes",
        status_code=201,
        summary="Record a Home Office outcome code",
        response_model=OutcomeOut,
        responses=responses(400, *AUTH_ERRORS, 404, 413, 422),
    )
    def outcome(
        incident_id: IncidentId,
        body: Annotated[OutcomeIn, Body()],
        p: Principal = Depends(require(*POLICE)),
        c: Container = Depends(container),
    ):
        return JSONResponse(c.d2p.record_outcome(p, incident_id, body), status_code=201)

    @r.get(
        "/kpis/d2p",
        summary="D2P against other channels: statuses, times, charge and outcome 14/16 rates",
        response_model=KpiOut,
        responses=responses(*AUTH_ERRORS, 404, 422),
    )
    def kpis(
        force: Annotated[str, Query(min_length=1, max_length=64, examples=["devon-and-cornwall"])],
        start: Annotated[datetime, Query(alias="from", description="Incidents occurred at or after (ISO 8601 with offset)")],
        end: Annotated[datetime, Query(alias="to", description="Incidents occurred before (ISO 8601 with offset)")],
        p: Principal = Depends(require(*POLICE)),
        c: Container = Depends(container),
    ):
        require_offset(("from", start), ("to", end))
        return JSONResponse(c.d2p.kpis(p, force, start, end))

    # ---- delivery webhook (signed, no bearer) ----------------------------------------------
    webhook_responses = responses(400, 401, 413, 422)
    webhook_responses[401] = {
        **webhook_responses[401],
        "description": "Missing, stale or invalid SendGrid signature (no bearer token is used here)",
    }

    @r.post(
        "/webhooks/sendgrid",
        summary="SendGrid signed event webhook: delivered, bounced, dropped",
        description="Signed by SendGrid (ECDSA P-256 over timestamp + body), not by a bearer token. Events name the dispatch in their custom arguments; others are counted as ignored.",
        openapi_extra={
            "security": [],
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {"type": "array", "items": {"type": "object"}, "maxItems": 10_000},
                        "example": SENDGRID_EXAMPLE,
                    }
                }
            },
        },
        responses=webhook_responses,
    )
    async def sendgrid_events(
        request: Request,
        c: Container = Depends(container),
        signature: Annotated[str | None, Header(alias="X-Twilio-Email-Event-Webhook-Signature", max_length=500)] = None,
        timestamp: Annotated[str | None, Header(alias="X-Twilio-Email-Event-Webhook-Timestamp", max_length=20)] = None,
    ):
        payload = await request.body()
        try:
            counts = await run_in_threadpool(c.d2p.delivery_webhook, payload, signature, timestamp)
        except Unauthorized as exc:
            # Problem details without the bearer challenge the shared handler adds: this
            # route takes no token, so inviting one would mislead the caller.
            return problem(exc.status, exc.slug, exc.title, exc.detail, instance=request.url.path)
        return JSONResponse(counts)

    # ---- operations ----------------------------------------------------------------------
    @r.get(
        "/operations/dead-letters/d2p", summary="Dead-lettered dispatch messages (ids and reasons only)", responses=responses(*AUTH_ERRORS)
    )
    def dead_letters(p: Principal = Depends(require(Role.PLATFORM_OPERATOR)), c: Container = Depends(container)):
        return JSONResponse({"items": c.d2p.dead_letters()})

    @r.post(
        "/operations/dead-letters/d2p/replay",
        summary="Put dead-lettered dispatch messages back on the queue",
        responses=responses(400, *AUTH_ERRORS, 413, 422),
    )
    def replay(
        body: Annotated[ReplayIn, Body()], p: Principal = Depends(require(Role.PLATFORM_OPERATOR)), c: Container = Depends(container)
    ):
        return JSONResponse({"replayed": c.d2p.replay_dead_letters(body.message_ids)})

    return r
