"""Store staff pages: report an incident from a phone, follow the store's reports to the police.

Every action calls the service the matching API route calls, with the same principal:
the report is `incidents.report.submit` (POST /incidents) with an Idempotency-Key made
when the form was drawn, so a second tap on "Send" makes no second report; a report's
page reads it as GET /incidents/{id}, its eligibility as GET /incidents/{id}/d2p and its
evidence as GET /incidents/{id}/evidence do. Files go straight to the API's resumable
upload routes from `static/upload.js`, with the session cookie and the CSRF header.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from functions.console.deps import posted_form, require_page
from functions.console.render import page, redirect
from functions.console.report_form import (
    BUILDS,
    EVIDENCE_KINDS,
    FLAG_LABELS,
    MAX_LINES,
    PERSON_ROLES,
    REGION_CURRENCIES,
    WITNESS_KINDS,
    ReportForm,
    region_zone,
)
from functions.http.deps import ContainerDep
from shared.adapters.page_tokens import binding
from shared.domain.d2p_rules import CATEGORY_WORDS, FLAG_NAMES, Evaluation
from shared.domain.errors import Invalid
from shared.domain.incident_report import MAX_WITNESSES, Category, IncidentIn, WitnessIn
from shared.domain.tenancy import REGION_TIME_ZONES, Principal, Role, Store
from shared.services.incidents import Filters

router = APIRouter(include_in_schema=False)

# Who reports: the roles POST /incidents admits (investigators report for any store of theirs).
Staff = Annotated[Principal, Depends(require_page(Role.RETAILER_REPORTER, Role.RETAILER_INVESTIGATOR))]
Form = Annotated[FormData, Depends(posted_form)]
IncidentId = Annotated[str, Path(min_length=1, max_length=64)]

PAGE_SIZE = 20

DISPATCH_WORDS = {
    "queued": "Being sent to police",
    "enqueued": "Being sent to police",
    "sending": "Being sent to police",
    "retrying": "Being sent to police (trying again)",
    "sent": "Sent to police",
    "failed": "Not delivered to police yet: Vigil's operators have been told",
    "dead_lettered": "Not delivered to police yet: Vigil's operators have been told",
    "acknowledged": "Acknowledged by police",
}
ALREADY_SENT = (
    "This form was already sent as a report. To add to that report, open it from Our reports; "
    "to report another incident, start a new report."
)
# A report may be sent again only when its last sending failed for good.
_SENDABLE_AGAIN = {None, "failed"}


def _validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "message": str(e["msg"]).removeprefix("Value error, ")} for e in exc.errors()[:50]
    ]


def _report_stores(c, who: Principal) -> list[Store]:
    """The stores this person reports for: a reporter's own, an investigator's organisation's."""
    stores = c.directory.stores_of(who.organisation_id)
    if not who.has(Role.RETAILER_INVESTIGATOR):
        stores = [s for s in stores if s.id in who.stores]
    return sorted(stores, key=lambda s: s.name)


def _region(c, who: Principal) -> str:
    org = c.directory.organisation(who.organisation_id)
    return org.home_region if org else c.settings.region


def _evaluate_draft(c, who: Principal, form: ReportForm, currency: str) -> tuple[Evaluation | None, str]:
    """The draft against its force's rules, or a prompt saying what to choose first."""
    draft = form.draft(currency)
    if not draft["store_id"]:
        return None, "Choose the store to see whether the police will take this report."
    if not draft["category"]:
        return None, "Choose what happened to see whether the police will take this report."
    try:
        return c.d2p.eligibility.preview(who, draft), ""
    except Invalid as exc:
        return None, exc.detail


def _form_page(request: Request, c, who: Principal, form: ReportForm, *, status: int = 200) -> Response:
    region = _region(c, who)
    currency = REGION_CURRENCIES.get(region, "GBP")
    evaluation, prompt = _evaluate_draft(c, who, form, currency)
    force = c.directory.organisation(evaluation.force_id) if evaluation else None
    return page(
        request,
        "store/report.html",
        status=status,
        form=form,
        stores=_report_stores(c, who),
        categories=[(c_.value, CATEGORY_WORDS.get(c_.value, c_.value)) for c_ in Category],
        flag_labels=FLAG_LABELS,
        builds=BUILDS,
        person_roles=PERSON_ROLES,
        max_lines=MAX_LINES,
        currency=currency,
        zone_name=REGION_TIME_ZONES.get(region, "UTC"),
        evaluation=evaluation,
        force=force,
        prompt=prompt,
    )


@router.get("/report")
def report_form(request: Request, c: ContainerDep, who: Staff) -> Response:
    zone = region_zone(_region(c, who))
    now = c.clock.now().astimezone(zone)
    stores = _report_stores(c, who)
    form = ReportForm(
        values={
            # A fresh key per drawn form: the same form sent twice is one report.
            "idempotency_key": uuid.uuid4().hex,
            "occurred_at": now.strftime("%Y-%m-%dT%H:%M"),
            "store_id": stores[0].id if len(stores) == 1 else "",
        }
    )
    return _form_page(request, c, who, form)


@router.post("/report")
def report_submit(request: Request, c: ContainerDep, who: Staff, posted: Form) -> Response:
    form = ReportForm.posted(posted)
    if form.change_lines(str(posted.get("action", ""))):
        return _form_page(request, c, who, form)
    region = _region(c, who)
    store = next((s for s in _report_stores(c, who) if s.id == form.values.get("store_id")), None)
    body = form.body(store, region_zone(region), REGION_CURRENCIES.get(region, "GBP"))
    if not form.errors:
        try:
            report = IncidentIn.model_validate(body)
        except ValidationError as exc:
            form.adopt_errors(_validation_errors(exc))
    if form.errors:
        return _form_page(request, c, who, form, status=422)
    try:
        reported = c.incidents.report.submit(who, report, form.values.get("idempotency_key") or None)
    except Invalid as exc:
        if any(e.get("field") == "Idempotency-Key" for e in exc.errors or []):
            # Sent, then changed after going back: a second report is never made quietly.
            form.error("form", ALREADY_SENT)
        else:
            form.adopt_errors([dict(e, message=e.get("message") or exc.detail) for e in exc.errors or [{"field": "form"}]])
        return _form_page(request, c, who, form, status=exc.status)
    return redirect(request, f"/reports/{reported.incident.id}?made=1")


@router.post("/report/eligibility")
def report_eligibility(request: Request, c: ContainerDep, who: Staff, posted: Form) -> Response:
    """The draft against its force's rules, as a fragment `store.js` swaps in as the form fills."""
    form = ReportForm.posted(posted)
    currency = REGION_CURRENCIES.get(_region(c, who), "GBP")
    evaluation, prompt = _evaluate_draft(c, who, form, currency)
    force = c.directory.organisation(evaluation.force_id) if evaluation else None
    return page(request, "store/_eligibility.html", evaluation=evaluation, force=force, prompt=prompt)


# ---- our reports ------------------------------------------------------------------------


def _status_words(state) -> str:
    if state is None or state.status is None:
        if state is not None and state.eligible:
            return "Ready to send to police"
        return "Not sent to police"
    return DISPATCH_WORDS.get(state.status, state.status)


@router.get("/reports")
def reports(
    request: Request,
    c: ContainerDep,
    who: Staff,
    after: Annotated[str | None, Query(max_length=4000)] = None,
) -> Response:
    # The continuation is sealed to this listing and this person, as the API's are.
    bound = binding("GET /reports", who.organisation_id, who.user_id, [])
    token = c.page_tokens.open(after, bound)
    found = c.incidents.search.find(who, Filters(), limit=PAGE_SIZE, continuation=token, purpose=None)
    states = c.d2p.eligibility.states(who, [v.body for v in found.items])
    stores = {s.id: s.name for s in c.directory.stores_of(who.organisation_id)}
    rows = [
        {
            "incident": v.body,
            "store": stores.get(v.body["store_id"], v.body["store_id"]),
            "category": CATEGORY_WORDS.get(v.body["category"], v.body["category"]),
            "state": states.get(v.id),
            "status": _status_words(states.get(v.id)),
        }
        for v in found.items
    ]
    return page(
        request,
        "store/reports.html",
        rows=rows,
        region=_region(c, who),
        next_page=c.page_tokens.seal(found.continuation, bound) if found.continuation else None,
        first_page=after is None,
    )


def _detail_page(
    request: Request,
    c,
    who: Principal,
    incident_id: str,
    *,
    statement: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    made: bool = False,
    added: str = "",
) -> Response:
    view = c.incidents.read.get(who, incident_id, None)
    report = c.d2p.eligibility.report(who, incident_id, None)
    evidence = c.evidence.access.list_items(who, incident_id, None)
    incident = view.body
    live = next((d for d in report.dispatches if d.force_id == report.evaluation.force_id), None)
    status_now = live.status.value if live else None
    stores = {s.id: s.name for s in c.directory.stores_of(who.organisation_id)}
    force = c.directory.organisation(report.evaluation.force_id) if report.evaluation.force_id else None
    return page(
        request,
        "store/report_detail.html",
        status=status,
        incident=incident,
        store=stores.get(incident["store_id"], incident["store_id"]),
        category=CATEGORY_WORDS.get(incident["category"], incident["category"]),
        flags=[FLAG_LABELS[f] for f in FLAG_NAMES if (incident.get("flags") or {}).get(f)],
        region=_region(c, who),
        evaluation=report.evaluation,
        dispatch=live,
        dispatch_words=DISPATCH_WORDS.get(status_now, "") if status_now else "",
        can_send=report.evaluation.eligible and status_now in _SENDABLE_AGAIN,
        force=force,
        evidence=evidence,
        evidence_kinds=EVIDENCE_KINDS,
        kind_words=dict(EVIDENCE_KINDS),
        witness_kinds=WITNESS_KINDS,
        can_add_statement=who.has(Role.RETAILER_INVESTIGATOR) or incident.get("created_by") == who.user_id,
        room_for_statement=len(incident.get("witnesses") or []) < MAX_WITNESSES,
        statement=statement or {"kind": "staff"},
        errors=errors or {},
        made=made,
        added=added,
    )


@router.get("/reports/{incident_id}")
def report_detail(
    request: Request,
    c: ContainerDep,
    who: Staff,
    incident_id: IncidentId,
    made: Annotated[str | None, Query(max_length=1, description="1 right after the report was made")] = None,
    added: Annotated[str | None, Query(max_length=20, description="What was just added: statement, or sent")] = None,
) -> Response:
    return _detail_page(request, c, who, incident_id, made=made == "1", added=added or "")


@router.post("/reports/{incident_id}/statements")
def add_statement(request: Request, c: ContainerDep, who: Staff, incident_id: IncidentId, posted: Form) -> Response:
    fields = {k: str(posted.get(k, "")).strip() for k in ("name", "kind", "contact", "statement")}
    fields["is_reporter"] = "yes" if posted.get("is_reporter") else ""
    data = {
        "name": fields["name"],
        "kind": fields["kind"] or "staff",
        "contact": fields["contact"] or None,
        "statement": fields["statement"],
        "is_reporter": bool(fields["is_reporter"]),
    }
    errors: dict[str, str] = {}
    if not data["name"]:
        errors["name"] = "Enter the witness's name."
    if not data["statement"]:
        errors["statement"] = "Write the statement."
    if not errors:
        try:
            witness = WitnessIn.model_validate(data)
        except ValidationError as exc:
            for e in _validation_errors(exc):
                errors.setdefault(e["field"] if e["field"] in fields else "statement", e["message"])
    if errors:
        return _detail_page(request, c, who, incident_id, statement=fields, errors=errors, status=422)
    c.incidents.change.add_statement(who, incident_id, witness)
    return redirect(request, f"/reports/{incident_id}?added=statement")


@router.post("/reports/{incident_id}/send")
def send_to_police(request: Request, c: ContainerDep, who: Staff, incident_id: IncidentId, posted: Form) -> Response:
    """As POST /incidents/{id}/d2p: an eligible report sent to its force, once."""
    c.d2p.dispatch.send(who, incident_id)
    return redirect(request, f"/reports/{incident_id}?added=sent")
