"""Footage-request pages: a force asks a store for footage and follows its requests; the
store's staff see the requests to their stores, upload footage into one (the resumable
uploads of the store pages, onto the report of the event), supply it, or decline.

Each page calls the service the matching API route calls (functions/http/footage.py),
with the same principal, so the audit trail and custody read exactly as for the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from functions.console.deps import posted_form, require_page
from functions.console.formats import zone_of
from functions.console.police import PURPOSES, stated_purpose
from functions.console.render import finish, page, redirect
from functions.http.deps import ContainerDep
from shared.adapters.page_tokens import binding
from shared.domain.errors import Invalid, NotFound
from shared.domain.footage import STATUS_WORDS, FootageRequest, FootageRequestIn
from shared.domain.http_fields import ascii_filename
from shared.domain.tenancy import Principal
from shared.services.footage import POLICE, RETAILERS
from shared.services.incidents import REPORTERS, Filters

router = APIRouter(include_in_schema=False)

Asker = Annotated[Principal, Depends(require_page(*POLICE))]
Viewer = Annotated[Principal, Depends(require_page(*POLICE, *RETAILERS))]
Answerer = Annotated[Principal, Depends(require_page(*RETAILERS))]
Supplier = Annotated[Principal, Depends(require_page(*REPORTERS))]
Form = Annotated[FormData, Depends(posted_form)]
RequestId = Annotated[str, Path(min_length=1, max_length=64)]
EvidenceId = Annotated[str, Path(min_length=1, max_length=128)]
PAGE_SIZE = 25


def _region(c: Any, who: Principal) -> str:
    org = c.directory.organisation(who.organisation_id)
    return org.home_region if org else c.settings.region


def _local_input(value: str | None, region: str) -> datetime | None:
    """A `datetime-local` field's value read in the region's wall clock (a person types local time)."""
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        return None
    zone = zone_of(region)
    return naive.replace(tzinfo=zone if isinstance(zone, ZoneInfo) else None) if naive.tzinfo is None else naive


def _row(c: Any, r: FootageRequest, now: datetime) -> dict[str, Any]:
    store = c.directory.store(r.store_id)
    force = c.directory.organisation(r.force_id)
    return {
        "r": r,
        "store": store.name if store else "a store",
        "force": force.name if force else "a police force",
        "status": STATUS_WORDS[r.status],
        "overdue": r.overdue(now),
    }


# ---- listing ------------------------------------------------------------------------


@router.get("/footage-requests")
def list_requests(
    request: Request,
    who: Viewer,
    c: ContainerDep,
    page_token: Annotated[str | None, Query(alias="page", max_length=4000)] = None,
) -> Response:
    bound_to = binding("GET /footage-requests", who.organisation_id, who.user_id, [])
    found = c.footage.read.list(who, limit=PAGE_SIZE, continuation=c.page_tokens.open(page_token, bound_to))
    now = c.clock.now()
    sealed = c.page_tokens.seal(found.continuation, bound_to)
    return page(
        request,
        "footage/list.html",
        rows=[_row(c, r, now) for r in found.items],
        police=who.is_police,
        region=_region(c, who),
        next_url=f"/footage-requests?{urlencode({'page': sealed})}" if sealed else None,
        first_page=page_token is None,
    )


# ---- asking (police) ------------------------------------------------------------------


def _new_form(request: Request, c: Any, who: Principal, *, values: dict[str, str], errors: dict[str, str], status: int = 200) -> Response:
    stores = [s for o in c.directory.organisations_here() for s in c.directory.stores_of(o.id) if s.force_id == who.organisation_id]
    return page(
        request,
        "footage/new.html",
        status=status,
        stores=sorted(stores, key=lambda s: s.name),
        values=values,
        errors=errors,
        region=_region(c, who),
    )


@router.get("/footage-requests/new")
def new_request(
    request: Request,
    who: Asker,
    c: ContainerDep,
    incident: Annotated[str | None, Query(max_length=64)] = None,
    store: Annotated[str | None, Query(max_length=64)] = None,
    crime_reference: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    # From a case page: the request is about that report, at its store, under its crime reference.
    values = {"incident_id": incident or "", "store_id": store or "", "crime_reference": crime_reference or ""}
    return _new_form(request, c, who, values=values, errors={})


@router.post("/footage-requests/new")
def make_request(request: Request, who: Asker, c: ContainerDep, form: Form) -> Response:
    region = _region(c, who)
    values = {
        k: str(form.get(k) or "").strip()
        for k in ("crime_reference", "store_id", "window_start", "window_end", "deadline", "wanted", "incident_id")
    }
    errors: dict[str, str] = {}
    times = {k: _local_input(values[k], region) for k in ("window_start", "window_end", "deadline")}
    for k, at in times.items():
        if at is None:
            errors[k] = "Enter a date and time."
    if not errors:
        try:
            body = FootageRequestIn.model_validate({**values, **times, "incident_id": values["incident_id"] or None})
        except ValidationError as exc:
            for problem in exc.errors():
                errors.setdefault(str(problem["loc"][0]), "Fill this in (see the hint).")
        else:
            try:
                made = c.footage.create.create(who, body, None)
            except Invalid as exc:
                for e in exc.errors or []:
                    errors.setdefault(str(e.get("field")), str(e.get("message") or exc.detail))
                if not exc.errors:
                    errors["crime_reference"] = exc.detail
            else:
                return redirect(request, f"/footage-requests/{made.request.id}")
    return _new_form(request, c, who, values=values, errors=errors, status=422)


# ---- one request ------------------------------------------------------------------------


@router.get("/footage-requests/{request_id}")
def show_request(
    request: Request,
    who: Viewer,
    c: ContainerDep,
    request_id: RequestId,
    report: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    r = c.footage.read.get(who, request_id)
    now = c.clock.now()
    context: dict[str, Any] = {"row": _row(c, r, now), "region": _region(c, who), "police": who.is_police, "can_supply": False}
    if who.is_retailer and not r.closed and who.has(*REPORTERS):
        context["can_supply"] = True
        target = r.incident_id or report
        if target:
            # The report's files as the API lists them, to choose which answer the request.
            context["target"] = target
            supplied = {s.evidence_id for s in r.supplied}
            context["items"] = [i for i in c.evidence.access.list_items(who, target, None) if i.id not in supplied]
        else:
            window = Filters(
                store_id=r.store_id, occurred_from=r.window_start - timedelta(days=1), occurred_to=r.window_end + timedelta(days=1)
            )
            context["reports"] = c.incidents.search.find(who, window, limit=PAGE_SIZE, continuation=None, purpose=None).items
    return page(request, "footage/request.html", **context)


@router.get("/footage-requests/{request_id}/files/{evidence_id}")
def download_supplied(
    request: Request,
    who: Asker,
    c: ContainerDep,
    request_id: RequestId,
    evidence_id: EvidenceId,
    purpose: Annotated[str | None, Query(max_length=500)] = None,
    other: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """A supplied file for the force that asked: after the officer says why (as every police
    evidence read), streamed by the same download the API's evidence route makes, so
    custody and the audit trail record it with that purpose."""
    r = c.footage.read.get(who, request_id)
    if evidence_id not in {s.evidence_id for s in r.supplied}:
        raise NotFound(f"Evidence {evidence_id} was not found.")
    stated, error = stated_purpose(purpose, other)
    if stated is None:
        return page(
            request,
            "police/purpose.html",
            status=422 if error else 200,
            action=f"/footage-requests/{request_id}/files/{evidence_id}",
            purposes=PURPOSES,
            error=error,
            other=other or "",
        )
    d = c.evidence.access.download(who, evidence_id, stated, None, link=False)
    headers = {
        "Content-Length": str(d.length),
        "X-Evidence-SHA256": d.item.sha256,
        "Content-Disposition": f'attachment; filename="{ascii_filename(d.item.filename)}"',
        "X-Content-Type-Options": "nosniff",
    }
    return finish(request, StreamingResponse(d.body, media_type=d.item.content_type, headers=headers))


@router.post("/footage-requests/{request_id}/supply")
def supply(request: Request, who: Supplier, c: ContainerDep, request_id: RequestId, form: Form) -> Response:
    chosen = [str(v) for v in form.getlist("evidence_id") if v]
    if not chosen:
        raise Invalid("Tick at least one file to give the force.", errors=[{"field": "evidence_id"}])
    complete = form.get("complete") == "yes"
    for i, evidence_id in enumerate(chosen):
        # Only the last file settles the status: the request stays open until then.
        c.footage.answer.supply(who, request_id, evidence_id, complete=complete and i == len(chosen) - 1)
    return redirect(request, f"/footage-requests/{request_id}")


@router.post("/footage-requests/{request_id}/decline")
def decline(request: Request, who: Answerer, c: ContainerDep, request_id: RequestId, form: Form) -> Response:
    reason = str(form.get("reason") or "").strip()
    if len(reason) < 3:
        raise Invalid("Say why the footage cannot be supplied.", errors=[{"field": "reason"}])
    c.footage.answer.decline(who, request_id, reason[:1000])
    return redirect(request, f"/footage-requests/{request_id}")


@router.post("/footage-requests/{request_id}/withdraw")
def withdraw(request: Request, who: Asker, c: ContainerDep, request_id: RequestId, form: Form) -> Response:
    reason = str(form.get("reason") or "").strip() or None
    c.footage.withdraw.withdraw(who, request_id, reason[:1000] if reason else None)
    return redirect(request, f"/footage-requests/{request_id}")
