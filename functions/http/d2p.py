"""Direct-to-police routes: force rules, eligibility, sending, acknowledgement, outcomes,
KPIs, the SendGrid event webhook and dead-letter replay. Thin: parse, who, one call, and
the answer's status and headers."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from functions.http.d2p_schemas import (
    DeadLetterOut,
    DeadLettersOut,
    DispatchesOut,
    DispatchOut,
    EligibilityOut,
    EvaluationOut,
    EventCountsOut,
    InboxOut,
    KpiOut,
    OutcomeOut,
    OutcomeRecordOut,
    ReplayOut,
    RulesOut,
    RulesVersionsOut,
    SendOut,
    SettingsOut,
)
from functions.http.deps import ContainerDep, IfMatch, PageCursor, etag_header, require, require_offset
from functions.http.problems import AUTH_ERRORS, problem, responses
from shared import settings as app_settings
from shared.domain.d2p import AcknowledgeIn, DispatchStatus, InboxView, OutcomeIn
from shared.domain.d2p_rules import D2PSettingsIn, ForceRules
from shared.domain.errors import Unauthorized
from shared.domain.tenancy import Principal, Role
from shared.services.d2p import POLICE
from shared.services.incidents import READERS, REPORTERS

IncidentId = Annotated[str, Path(min_length=1, max_length=64, description="Incident id")]
ForceId = Annotated[str, Path(min_length=1, max_length=64, description="Force (organisation) id", examples=["devon-and-cornwall"])]
OrgId = Annotated[str, Path(min_length=1, max_length=64, description="Organisation id", examples=["northwind"])]
DispatchId = Annotated[str, Path(min_length=3, max_length=140, description="Dispatch id: '<incident id>.<force id>'")]

PoliceAdmin = Annotated[Principal, Depends(require(Role.POLICE_ADMIN))]
RetailerAdmin = Annotated[Principal, Depends(require(Role.RETAILER_ADMIN))]
Police = Annotated[Principal, Depends(require(*POLICE))]
Operator = Annotated[Principal, Depends(require(Role.PLATFORM_OPERATOR))]

# Page-size bounds are part of the documented contract: read once, when the router are declared.
_settings = app_settings.get_settings()

# A SendGrid event batch as it arrives: the dispatch is named by the custom arguments the
# D2P email carries. No dispatch of this id exists in the seeded demo, so it is counted as ignored.
SENDGRID_EXAMPLE: list[dict[str, Any]] = [
    {
        "email": "control-room@devon-cornwall.police.example",
        "timestamp": 1795435080,
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


router = APIRouter(tags=["direct to police"])


# ---- force rules --------------------------------------------------------------
@router.get(
    "/forces/{force_id}/d2p-rules",
    summary="A force's D2P rules and inbox",
    response_model=RulesOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The force's current D2P rules and inbox, with their ETag",
)
def get_d2p_rules(force_id: ForceId, principal: PoliceAdmin, container: ContainerDep, response: Response) -> RulesOut:
    """The rules a report must meet before it may be sent to this force directly, and the inbox it goes to."""
    stored = container.d2p.rules.get(principal, force_id)
    response.headers.update(etag_header(stored.etag))
    return RulesOut.of(stored.record, stored.etag)


@router.put(
    "/forces/{force_id}/d2p-rules",
    summary="Set a force's D2P rules (a new version; If-Match once rules exist)",
    response_model=RulesOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 412, 413, 422, 428),
    response_description="The force's rules as now in force (a new version)",
)
def replace_d2p_rules(
    force_id: ForceId,
    body: Annotated[ForceRules, Body()],
    principal: PoliceAdmin,
    container: ContainerDep,
    if_match: IfMatch,
    response: Response,
) -> RulesOut:
    """Sets the rules a report must meet to be sent to this force directly, as a new version (older versions stay readable).
    Rules that enrol a retailer while none is enrolled switch D2P on: 409 naming the go-live stage `dpia_approved` until the force's DPIA is approved."""
    stored = container.d2p.rules.put(principal, force_id, body, if_match)
    response.headers.update(etag_header(stored.etag))
    return RulesOut.of(stored.record, stored.etag)


@router.get(
    "/forces/{force_id}/d2p-rules/versions",
    summary="Every version of a force's D2P rules",
    response_model=RulesVersionsOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="Every version of the force's rules, oldest first",
)
def list_d2p_rule_versions(force_id: ForceId, principal: PoliceAdmin, container: ContainerDep) -> RulesVersionsOut:
    """Each version of the force's D2P rules, kept so an eligibility decision can be traced to the rules it was made under."""
    return RulesVersionsOut.of(container.d2p.rules.versions(principal, force_id))


@router.get(
    "/forces/{force_id}/d2p-dispatches",
    summary="Reports dispatched to the force (failures and bounces to act on)",
    response_model=DispatchesOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The dispatches sent to the force, with their delivery state",
)
def list_force_dispatches(
    force_id: ForceId,
    principal: PoliceAdmin,
    container: ContainerDep,
    status: DispatchStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=_settings.max_page_size)] = _settings.default_page_size,
) -> DispatchesOut:
    """Reports sent to this force, newest first, with what the mail provider said about each: the force's officers act on bounces and failures."""
    dispatches = container.d2p.police.dispatches(principal, force_id, status, limit)
    return DispatchesOut(items=[DispatchOut.of(d) for d in dispatches])


@router.get(
    "/forces/{force_id}/d2p-inbox",
    summary="The force's D2P inbox: reports received, newest first (new, unacknowledged, overdue)",
    response_model=InboxOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="One page of the reports the force received, with a continuation while more remain",
)
def list_force_inbox(
    force_id: ForceId,
    principal: Police,
    container: ContainerDep,
    view: Annotated[
        InboxView,
        Query(description="all; new (unacknowledged within the force's target); unacknowledged; overdue (past the target)"),
    ] = InboxView.ALL,
    limit: Annotated[int, Query(ge=1, le=_settings.max_page_size)] = _settings.default_page_size,
    *,
    page: PageCursor,
) -> InboxOut:
    """The reports retailers sent to this force, newest first, marked priority (violence, suspect detained) and overdue; what the control room works through."""
    found = container.d2p.police.inbox(principal, force_id, view, limit=limit, continuation=page.token)
    return InboxOut.of(found, container.clock.now(), page.next(found.continuation))


# ---- retailer settings -----------------------------------------------------------
@router.get(
    "/organisations/{org_id}/d2p-settings",
    summary="A retailer's D2P settings",
    response_model=SettingsOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The retailer's D2P settings",
)
def get_d2p_settings(org_id: OrgId, principal: RetailerAdmin, container: ContainerDep) -> SettingsOut:
    """Whether this retailer's eligible reports are sent to the police automatically."""
    return SettingsOut.of(org_id, container.d2p.settings.get(principal, org_id))


@router.put(
    "/organisations/{org_id}/d2p-settings",
    summary="Turn automatic sending on or off",
    response_model=SettingsOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The retailer's D2P settings as now stored",
)
def replace_d2p_settings(
    org_id: OrgId, body: Annotated[D2PSettingsIn, Body()], principal: RetailerAdmin, container: ContainerDep
) -> SettingsOut:
    """Turns automatic sending of this retailer's eligible reports on or off. Turning it on needs the retailer's
    go-live stage `dpia_approved` (409 naming the stage otherwise)."""
    return SettingsOut.of(org_id, container.d2p.settings.put(principal, org_id, body))


# ---- eligibility and sending -------------------------------------------------------
@router.get(
    "/incidents/{incident_id}/d2p",
    summary="Eligibility (every rule with pass/fail), dispatch status and history (purpose required for police)",
    response_model=EligibilityOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="Each rule with pass or fail, the dispatch status and its history",
)
def check_d2p_eligibility(
    incident_id: IncidentId,
    principal: Annotated[Principal, Depends(require(*READERS))],
    container: ContainerDep,
    purpose: Annotated[
        str | None,
        Query(min_length=3, max_length=500, description="Why you are looking: required for police, recorded in the audit trail"),
    ] = None,
) -> EligibilityOut:
    """Whether the incident may be sent to its force, rule by rule, and what has been sent so far."""
    report = container.d2p.eligibility.report(principal, incident_id, purpose)
    return EligibilityOut(
        incident_id=report.incident_id,
        **EvaluationOut.of(report.evaluation).model_dump(),
        dispatches=[DispatchOut.of(d) for d in report.dispatches],
        outcomes=[OutcomeRecordOut.of(o) for o in report.outcomes],
    )


@router.post(
    "/incidents/{incident_id}/d2p",
    status_code=202,
    summary="Send an eligible report to the force (once: a repeat answers the existing dispatch)",
    response_model=SendOut,
    responses={
        **responses(*AUTH_ERRORS, 404, 409, 422),
        200: {"model": SendOut, "description": "Already dispatched: the existing dispatch"},
    },
    response_description="Queued for sending to the force",
)
def dispatch_incident(
    incident_id: IncidentId, principal: Annotated[Principal, Depends(require(*REPORTERS))], container: ContainerDep, response: Response
) -> SendOut:
    """Sends an eligible report to its force's D2P inbox. Sending happens once: a repeat answers the existing dispatch."""
    result = container.d2p.dispatch.send(principal, incident_id)
    if not result.created:
        response.status_code = 200
    return SendOut(**DispatchOut.of(result.dispatch).model_dump(), evaluation=EvaluationOut.of(result.evaluation))


# ---- police side ---------------------------------------------------------------------
@router.post(
    "/d2p/{dispatch_id}/acknowledge",
    summary="Record the force's crime reference number",
    response_model=DispatchOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The dispatch with the force's crime reference number",
)
def acknowledge_dispatch(
    dispatch_id: DispatchId, body: Annotated[AcknowledgeIn, Body()], principal: Police, container: ContainerDep
) -> DispatchOut:
    """The force records the crime reference number it gave the report."""
    return DispatchOut.of(container.d2p.police.acknowledge(principal, dispatch_id, body))


@router.post(
    "/incidents/{incident_id}/outcomes",
    status_code=201,
    summary="Record a Home Office outcome code",
    response_model=OutcomeOut,
    responses=responses(400, *AUTH_ERRORS, 404, 413, 422),
    response_description="The outcome as recorded",
)
def record_outcome(incident_id: IncidentId, body: Annotated[OutcomeIn, Body()], principal: Police, container: ContainerDep) -> OutcomeOut:
    """The force records a Home Office outcome code for a dispatched report."""
    recorded = container.d2p.police.record_outcome(principal, incident_id, body)
    return OutcomeOut(outcome=OutcomeRecordOut.of(recorded.outcome), history=[OutcomeRecordOut.of(o) for o in recorded.history])


@router.get(
    "/kpis/d2p",
    summary="D2P against other channels: statuses, times, charge and outcome 14/16 rates",
    response_model=KpiOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="Counts, times and outcome rates per channel",
)
def get_d2p_kpis(
    force: Annotated[str, Query(min_length=1, max_length=64, examples=["devon-and-cornwall"])],
    start: Annotated[datetime, Query(alias="from", description="Incidents occurred at or after (ISO 8601 with offset)")],
    end: Annotated[datetime, Query(alias="to", description="Incidents occurred before (ISO 8601 with offset)")],
    principal: Police,
    container: ContainerDep,
) -> KpiOut:
    """D2P against the other reporting channels over a period: dispatch statuses, time to acknowledgement, charge and outcome rates."""
    require_offset(("from", start), ("to", end))
    return KpiOut.model_validate(container.d2p.kpis.report(principal, force, start, end))


# ---- delivery webhook (signed, no bearer) ----------------------------------------------
_webhook_responses = responses(400, 401, 413, 422)
_webhook_responses[401] = {
    **_webhook_responses[401],
    "description": "Missing, stale or invalid SendGrid signature (no bearer token is used here)",
}


@router.post(
    "/webhooks/sendgrid",
    summary="SendGrid signed event webhook: delivered, bounced, dropped",
    description="Signed by SendGrid (ECDSA P-256 over timestamp + body), not by a bearer token. Events name the dispatch in their custom arguments; others are counted as ignored.",
    response_model=EventCountsOut,
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
    responses=_webhook_responses,
    response_description="How many events of each kind were applied",
)
async def receive_sendgrid_events(
    request: Request,
    container: ContainerDep,
    signature: Annotated[str | None, Header(alias="X-Twilio-Email-Event-Webhook-Signature", max_length=500)] = None,
    timestamp: Annotated[str | None, Header(alias="X-Twilio-Email-Event-Webhook-Timestamp", max_length=20)] = None,
):
    payload = await request.body()
    try:
        counts = await run_in_threadpool(container.d2p.delivery_events.record, payload, signature, timestamp)
    except Unauthorized as exc:
        # Problem details without the bearer challenge the shared handler adds: this
        # route takes no token, so inviting one would mislead the caller.
        return problem(exc.status, exc.slug, exc.title, exc.detail, instance=request.url.path)
    return EventCountsOut(recorded=counts.recorded, ignored=counts.ignored, duplicates=counts.duplicates)


# ---- operations ----------------------------------------------------------------------
@router.get(
    "/operations/dead-letters/d2p",
    summary="Dead-lettered dispatch messages (ids and reasons only)",
    response_model=DeadLettersOut,
    responses=responses(*AUTH_ERRORS),
    response_description="The dead-lettered dispatch messages, ids and reasons only",
)
def list_d2p_dead_letters(principal: Operator, container: ContainerDep) -> DeadLettersOut:
    """Dispatch messages the queue gave up on, for a platform operator to inspect: ids and reasons only, never report content."""
    return DeadLettersOut(items=[DeadLetterOut(**vars(d)) for d in container.d2p.delivery.dead_letters()])


@router.post(
    "/operations/dead-letters/d2p/replay",
    summary="Put dead-lettered dispatch messages back on the queue",
    response_model=ReplayOut,
    responses=responses(400, *AUTH_ERRORS, 413, 422),
    response_description="How many messages went back on the queue",
)
def replay_d2p_dead_letters(body: Annotated[ReplayIn, Body()], principal: Operator, container: ContainerDep) -> ReplayOut:
    """Puts the named dead-lettered dispatch messages back on the queue, for a platform operator once the cause is fixed."""
    return ReplayOut(replayed=container.d2p.delivery.replay_dead_letters(body.message_ids))
