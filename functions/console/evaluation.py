"""The force's evaluation page: D2P against the channels whose figures the force uploaded,
as a table, a briefing chart, and CSV and PDF downloads, for its Police.Admin and
Police.Analyst; its admin uploads figures here too (aggregates, or a pasted extract).

Each action calls the service the API route calls (functions/http/evaluation.py, and
`GET /kpis/d2p` for the table) with the same principal."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from functions.console.deps import posted_form, require_page
from functions.console.evaluation_chart import hours_chart, rates_chart
from functions.console.investigate import field_errors
from functions.console.render import container_of, finish, page, redirect
from shared.domain import evaluation as ev
from shared.domain.errors import Conflict, Invalid
from shared.domain.evaluation_report import as_csv, briefing, default_period
from shared.domain.tenancy import Principal, Role

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(require_page(Role.POLICE_ADMIN, Role.POLICE_ANALYST))]
ForceAdmin = Annotated[Principal, Depends(require_page(Role.POLICE_ADMIN))]
Form = Annotated[FormData, Depends(posted_form)]
Day = Annotated[date | None, Query()]
_PAIR = re.compile(r"^\s*([0-9]{1,2}[A-Za-z]?)\s*[=:]\s*([0-9]{1,9})\s*$")


def _period(request: Request, who: Principal, first: date | None, last: date | None) -> tuple[date, date]:
    if first and last:
        return first, last
    # The latest period the force uploaded, so the page opens on figures it can compare.
    listed = container_of(request).d2p.channel_figures.listing(who, who.organisation_id)
    if listed:
        latest = max(listed, key=lambda d: d["period_to"])
        return date.fromisoformat(latest["period_from"]), date.fromisoformat(latest["period_to"])
    return default_period(container_of(request).clock.now().date())


def _force_name(request: Request, who: Principal) -> str:
    org = container_of(request).directory.organisation(who.organisation_id)
    return org.name if org else who.organisation_id


def _show(request: Request, who: Principal, first: date, last: date, *, status: int = 200, **context: Any) -> Response:
    table = container_of(request).d2p.kpis.evaluation(who, who.organisation_id, first, last)
    return page(
        request,
        "police/evaluation.html",
        status=status,
        table=table,
        first=first,
        last=last,
        chart_rates=rates_chart(table),
        chart_hours=hours_chart(table),
        can_upload=who.has(Role.POLICE_ADMIN),
        codes=ev.HOME_OFFICE_CODES,
        **{"errors": {}, "form": {}, "extract_error": None, "saved": None, **context},
    )


@router.get("/evaluation")
def evaluation_page(
    request: Request, who: Reader, first: Annotated[date | None, Query(alias="from")] = None, last: Annotated[date | None, Query(alias="to")] = None,
    saved: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:  # fmt: skip
    """The table and chart for a period (the latest uploaded one when none is asked for)."""
    first, last = _period(request, who, first, last)
    return _show(request, who, first, last, saved=saved)


@router.get("/evaluation/table.csv")
def evaluation_csv(
    request: Request, who: Reader, first: Annotated[date, Query(alias="from")], last: Annotated[date, Query(alias="to")]
) -> Response:
    table = container_of(request).d2p.kpis.evaluation(who, who.organisation_id, first, last)
    name = f"d2p-evaluation-{who.organisation_id}-{first}-{last}.csv"
    body = as_csv(_force_name(request, who), table)
    return finish(
        request, Response(body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'})
    )


@router.get("/evaluation/table.pdf")
def evaluation_pdf(
    request: Request, who: Reader, first: Annotated[date, Query(alias="from")], last: Annotated[date, Query(alias="to")]
) -> Response:
    c = container_of(request)
    table = c.d2p.kpis.evaluation(who, who.organisation_id, first, last)
    now = c.clock.now()
    pdf = c.court_documents.render(briefing(_force_name(request, who), table, now.strftime("%d %b %Y %H:%M UTC")), created_at=now)
    name = f"d2p-evaluation-{who.organisation_id}-{first}-{last}.pdf"
    return finish(request, Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}))


def _outcomes(text: str) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for part in re.split(r"[,;\n]", text):
        if not part.strip():
            continue
        m = _PAIR.match(part)
        if m is None:
            return None
        found[m.group(1).upper()] = found.get(m.group(1).upper(), 0) + int(m.group(2))
    return found


@router.post("/evaluation/figures")
def upload_figures(request: Request, who: ForceAdmin, form: Form) -> Response:
    """One channel's aggregate figures, as `POST /forces/{force}/channel-figures` takes them."""
    fields = {k: str(form.get(k, "")).strip() for k in ("channel", "from", "to", "reports", "charged", "outcomes", "mean", "median")}
    outcomes = _outcomes(fields["outcomes"])
    body: dict[str, Any] = {k: fields[k] or None for k in ("channel", "from", "to", "reports", "charged")}
    body["outcomes"] = outcomes if outcomes is not None else {}
    if fields["mean"] or fields["median"]:
        body["hours_to_record"] = {"mean": fields["mean"] or None, "median": fields["median"] or None}
    errors: dict[str, str] = {}
    if outcomes is None:
        errors["outcomes"] = "Write each outcome as code=count, separated by commas: 1=95, 14=83."
    try:
        given = ev.ChannelFiguresIn.model_validate(body)
    except ValidationError as exc:
        errors.update(field_errors(exc))
    if errors:
        return _show(request, who, *_period(request, who, None, None), status=422, errors=errors, form=fields)
    try:
        container_of(request).d2p.channel_figures.upload(who, who.organisation_id, given)
    except Conflict as exc:
        return _show(request, who, given.period_from, given.period_to, status=409, errors={"form": exc.detail}, form=fields)
    return redirect(request, f"/evaluation?from={given.period_from}&to={given.period_to}&saved=figures")


@router.post("/evaluation/extract")
def upload_extract(request: Request, who: ForceAdmin, form: Form) -> Response:
    """A pasted row-level extract, as `POST /forces/{force}/channel-figures/extract` takes it."""
    try:
        first, last = date.fromisoformat(str(form.get("from", ""))), date.fromisoformat(str(form.get("to", "")))
    except ValueError:
        return _show(request, who, *_period(request, who, None, None), status=422, extract_error="Give the period's first and last day.")
    text = str(form.get("extract", ""))
    try:
        container_of(request).d2p.channel_figures.upload_extract(who, who.organisation_id, first, last, text.splitlines(keepends=True))
    except (Invalid, Conflict) as exc:
        return _show(request, who, first, last, status=exc.status, extract_error=exc.detail)
    return redirect(request, f"/evaluation?from={first}&to={last}&saved=extract")
