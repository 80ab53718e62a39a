"""Investigators' pages: search, an incident with its history (revert) and legal holds, and
its audit trail with the chain's verdict.

Each page calls the service the matching API route calls (functions/http/incidents.py,
audit.py, retention.py), with the same principal and purpose, so the audit trail records
a page view exactly as it records the API read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from functions.console.deps import posted_form, require_page
from functions.console.formats import words
from functions.console.render import page, redirect
from functions.http.deps import ContainerDep
from shared.adapters.page_tokens import binding
from shared.domain.errors import Invalid, PreconditionFailed
from shared.domain.incident_report import Category
from shared.domain.retention import LegalHoldIn
from shared.domain.tenancy import REGION_TIME_ZONES, Principal, Role
from shared.services.anpr import READ_SEARCHERS, ReadQuery
from shared.services.audit import parse_entity
from shared.services.incidents import EDITORS, READERS, Filters
from shared.services.retention.holds import HOLDERS_POLICE, HOLDERS_RETAIL

router = APIRouter(include_in_schema=False)

# The API's audit route admits these (functions/http/audit.py); the page admits the same.
AUDITORS = (Role.RETAILER_ADMIN, Role.RETAILER_INVESTIGATOR, Role.POLICE_ADMIN)
PAGE_SIZE = 25

# The API's incident search admits READERS; store staff have their own reports page, so
# this page admits the investigators and police among them (never anyone the API refuses).
SEARCHERS = tuple(r for r in READERS if r != Role.RETAILER_REPORTER)
Searcher = Annotated[Principal, Depends(require_page(*SEARCHERS))]
PlateSearcher = Annotated[Principal, Depends(require_page(*READ_SEARCHERS))]
Editor = Annotated[Principal, Depends(require_page(*EDITORS))]
Auditor = Annotated[Principal, Depends(require_page(*AUDITORS))]
Holder = Annotated[Principal, Depends(require_page(*HOLDERS_RETAIL, *HOLDERS_POLICE))]
Form = Annotated[FormData, Depends(posted_form)]
IncidentId = Annotated[str, Path(min_length=1, max_length=64)]


def zone_of(c: Any) -> ZoneInfo:
    """The time zone pages show this stamp's times in."""
    return ZoneInfo(REGION_TIME_ZONES.get(c.settings.region, "UTC"))


def field_errors(exc: ValidationError | Invalid, prefix: str = "") -> dict[str, str]:
    """Errors keyed by the form field they belong to, for showing next to it."""
    found: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ())]
            name = ".".join(loc) or "form"
            found.setdefault(prefix + name, str(e.get("msg", "")).removeprefix("Value error, "))
        return found
    for problem in exc.errors or [{"field": "form"}]:
        name = str(problem.get("field") or "form").removeprefix("query.").removeprefix("body.")
        found.setdefault(prefix + name, str(problem.get("message") or exc.detail))
    return found


# ---- search ------------------------------------------------------------------------------


@dataclass
class SearchForm:
    """The search form as sent (kept to show again) and what it asks the service for."""

    reference: str = ""
    store: str = ""
    category: str = ""
    date_from: str = ""
    date_to: str = ""
    plate: str = ""
    offender: str = ""
    purpose: str = ""

    def filters(self, zone: ZoneInfo) -> tuple[Filters, dict[str, str]]:
        """The service's filters, or the errors to show next to the fields."""
        errors: dict[str, str] = {}
        category = None
        if self.category:
            try:
                category = Category(self.category).value
            except ValueError:
                errors["category"] = "Choose a category from the list."
        start = _day(self.date_from, "date_from", errors)
        end = _day(self.date_to, "date_to", errors)
        if start and end and end < start:
            errors["date_to"] = "The last day is before the first day."
        for name, bound in (("reference", 64), ("store", 64), ("plate", 20), ("offender", 64)):
            if len(getattr(self, name)) > bound:
                errors[name] = f"At most {bound} characters."
        filters = Filters(
            store_id=self.store or None,
            category=category,
            # Whole local days: from the first day's midnight to the midnight after the last.
            occurred_from=datetime.combine(start, time(), zone) if start else None,
            occurred_to=datetime.combine(end + timedelta(days=1), time(), zone) if end else None,
            plate=self.plate or None,
            offender_id=self.offender or None,
            reference=self.reference or None,
        )
        return filters, errors


def _day(text: str, field: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = "Enter a date as day, month and year."
        return None


@router.get("/search")
def search_page(
    request: Request,
    c: ContainerDep,
    who: Searcher,
    reference: Annotated[str, Query(max_length=200)] = "",
    store: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str, Query(max_length=200)] = "",
    date_from: Annotated[str, Query(alias="from", max_length=40)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=40)] = "",
    plate: Annotated[str, Query(max_length=200)] = "",
    offender: Annotated[str, Query(max_length=200)] = "",
    purpose: Annotated[str, Query(max_length=1000)] = "",
    continuation: Annotated[str | None, Query(max_length=4000)] = None,
) -> Response:
    form = SearchForm(reference.strip(), store.strip(), category, date_from, date_to, plate.strip(), offender.strip(), purpose.strip())
    zone = zone_of(c)
    police = who.is_police
    stores = [] if police else sorted(c.directory.stores_of(who.organisation_id), key=lambda s: s.name)
    context: dict[str, Any] = {"form": form, "stores": stores, "categories": list(Category), "police": police, "zone": zone}
    # The form sends every field, blank or not: a blank search lists the newest incidents.
    if not request.query_params:
        return page(request, "investigate/search.html", errors={}, results=None, **context)
    filters, errors = form.filters(zone)
    if police and not 3 <= len(form.purpose) <= 500:
        # As the API: a force states why before it sees anything, and the reason is audited.
        errors["purpose"] = "State why you are searching (3 to 500 characters): it is recorded in the audit trail."
    if errors:
        return page(request, "investigate/search.html", status=422, errors=errors, results=None, **context)
    # A continuation opens only for the same person and the same filters (as the API's).
    query = [(k, v) for k, v in request.query_params.multi_items() if v]
    bound = binding("GET /search", who.organisation_id, who.user_id, query)
    token = c.page_tokens.open(continuation, bound)
    try:
        found = c.incidents.search.find(who, filters, limit=PAGE_SIZE, continuation=token, purpose=form.purpose if police else None)
    except Invalid as exc:
        return page(request, "investigate/search.html", status=422, errors=field_errors(exc), results=None, **context)
    following = c.page_tokens.seal(found.continuation, bound)
    rows = [_row(c, view.body, police) for view in found.items]
    next_query = [(k, v) for k, v in query if k != "continuation"] + ([("continuation", following)] if following else [])
    return page(
        request,
        "investigate/search.html",
        errors={},
        results=rows,
        next_query=next_query if following else None,
        first_page=continuation is None,
        **context,
    )


def _row(c: Any, body: dict[str, Any], police: bool) -> dict[str, Any]:
    store = c.directory.store(body.get("store_id", ""))
    owner = c.directory.organisation(body.get("organisation_id", ""))
    return {
        "href": f"/cases/{body['id']}" if police else f"/incidents/{body['id']}",
        "reference": body.get("reference") or "Incident",
        "occurred_at": body.get("occurred_at"),
        "store": store.name if store else body.get("store_id", ""),
        "retailer": owner.name if owner else "",
        "category": words(body.get("category")),
        "plates": ", ".join(v.get("plate", "") for v in body.get("vehicles") or [] if v.get("plate")),
        "narrative": _short(body.get("narrative") or ""),
    }


def _short(text: str, length: int = 140) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


# ---- plate reads (ANPR) --------------------------------------------------------------------


@router.get("/search/plate-reads")
def plate_reads_page(
    request: Request,
    c: ContainerDep,
    who: PlateSearcher,
    plate: Annotated[str, Query(max_length=200)] = "",
    store: Annotated[str, Query(max_length=200)] = "",
    date_from: Annotated[str, Query(alias="from", max_length=40)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=40)] = "",
    purpose: Annotated[str, Query(max_length=1000)] = "",
    authorised_by: Annotated[str, Query(max_length=200)] = "",
    continuation: Annotated[str | None, Query(max_length=4000)] = None,
) -> Response:
    form = SearchForm(store=store.strip(), date_from=date_from, date_to=date_to, plate=plate.strip(), purpose=purpose.strip())
    zone = zone_of(c)
    stores = [] if who.is_police else sorted(c.directory.stores_of(who.organisation_id), key=lambda s: s.name)
    context: dict[str, Any] = {
        "form": form,
        "authorised_by": authorised_by.strip(),
        "analyst": who.has(Role.POLICE_ANALYST),
        "stores": stores,
        "zone": zone,
        "days": c.settings.anpr_search_days_without_authorisation,
    }
    if not request.query_params:
        return page(request, "investigate/plate_reads.html", errors={}, results=None, **context)
    filters, errors = form.filters(zone)
    if not form.plate:
        errors["plate"] = "Enter the plate to search for."
    if not 3 <= len(form.purpose) <= 500:
        # As the API: every plate-read search states why, and the reason is audited.
        errors["purpose"] = "State why you are searching (3 to 500 characters): it is recorded in the audit trail."
    if errors:
        return page(request, "investigate/plate_reads.html", status=422, errors=errors, results=None, **context)
    query = [(k, v) for k, v in request.query_params.multi_items() if v]
    bound = binding("GET /search/plate-reads", who.organisation_id, who.user_id, query)
    q = ReadQuery(
        plate=form.plate,
        store_id=filters.store_id,
        captured_from=filters.occurred_from,
        captured_to=filters.occurred_to,
        purpose=form.purpose,
        authorised_by=authorised_by.strip() or None,
    )
    try:
        found = c.anpr.search.search_reads(who, q, limit=PAGE_SIZE, continuation=c.page_tokens.open(continuation, bound))
    except Invalid as exc:
        return page(request, "investigate/plate_reads.html", status=422, errors=field_errors(exc), results=None, **context)
    following = c.page_tokens.seal(found["continuation"], bound)
    names = {s.id: s.name for s in c.directory.stores_of(who.organisation_id)}
    rows = [dict(r, store_name=names.get(r["store_id"]) or _store_name(c, r["store_id"])) for r in found["items"]]
    next_query = [(k, v) for k, v in query if k != "continuation"] + [("continuation", following)] if following else None
    return page(
        request,
        "investigate/plate_reads.html",
        errors={},
        results=rows,
        searched_from=found["searched_from"],
        next_query=next_query,
        **context,
    )


def _org_name(c: Any, org_id: str) -> str:
    org = c.directory.organisation(org_id)
    return org.name if org else org_id


def _store_name(c: Any, store_id: str) -> str:
    store = c.directory.store(store_id)
    return store.name if store else store_id


# ---- one incident: details, history (revert), legal holds ------------------------------


@router.get("/incidents/{incident_id}")
def incident_page(
    request: Request,
    incident_id: IncidentId,
    c: ContainerDep,
    who: Editor,
    reverted: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    return _incident(request, c, who, incident_id, reverted=reverted)


def _incident(request: Request, c: Any, who: Principal, incident_id: str, *, status: int = 200, **extra: Any) -> Response:
    # The same calls as GET /incidents/{id}, /history and /legal-hold, each audited as there.
    view = c.incidents.read.get(who, incident_id, None)
    versions = c.incidents.history.versions(who, incident_id)
    holds = c.retention.holds.view(who, incident_id) if who.has(*HOLDERS_RETAIL, *HOLDERS_POLICE) else None
    body = view.body
    store = c.directory.store(body.get("store_id", ""))
    context = {
        "incident": body,
        "etag": view.etag,
        "store": store,
        "versions": list(reversed(versions)),
        "holds": holds,
        "holders": {h["holder_org"]: _org_name(c, h["holder_org"]) for h in holds.holds} if holds else {},
        "can_audit": who.has(*AUDITORS),
        "zone": zone_of(c),
        "hold_errors": {},
        "hold_reason": "",
        "release_errors": {},
        "release_reason": "",
        "reverted": None,
        **extra,
    }
    return page(request, "investigate/incident.html", status=status, **context)


@router.post("/incidents/{incident_id}/revert")
def revert(request: Request, incident_id: IncidentId, c: ContainerDep, who: Editor, form: Form) -> Response:
    try:
        version = int(str(form.get("version", "")))
    except ValueError:
        raise Invalid("Choose a version from the history.", errors=[{"field": "version"}]) from None
    if not 1 <= version <= 1_000_000:
        raise Invalid("Choose a version from the history.", errors=[{"field": "version"}])
    if_match = str(form.get("etag", "")).strip().removeprefix("W/").strip('"') or None
    try:
        c.incidents.change.revert(who, incident_id, version, if_match)
    except PreconditionFailed:
        # The page the person reverted from is out of date: nothing was written; show them why.
        return page(request, "investigate/changed_first.html", status=412, incident_id=incident_id, back=f"/incidents/{incident_id}")
    return redirect(request, f"/incidents/{incident_id}?reverted={version}")


@router.post("/incidents/{incident_id}/legal-hold")
def place_hold(request: Request, incident_id: IncidentId, c: ContainerDep, who: Holder, form: Form) -> Response:
    reason = str(form.get("reason", "")).strip()
    try:
        body = LegalHoldIn(reason=reason)
    except ValidationError as exc:
        return _incident(request, c, who, incident_id, status=422, hold_errors=field_errors(exc), hold_reason=reason)
    c.retention.holds.place(who, incident_id, body.reason)
    return redirect(request, f"/incidents/{incident_id}#holds")


@router.post("/incidents/{incident_id}/legal-hold/release")
def release_hold(request: Request, incident_id: IncidentId, c: ContainerDep, who: Holder, form: Form) -> Response:
    reason = str(form.get("reason", "")).strip()
    if not 10 <= len(reason) <= 1000:
        errors = {"reason": "Say why the hold ends, in 10 to 1,000 characters: it is recorded in the audit trail."}
        return _incident(request, c, who, incident_id, status=422, release_errors=errors, release_reason=reason)
    c.retention.holds.release(who, incident_id, reason)
    return redirect(request, f"/incidents/{incident_id}#holds")


# ---- audit trail ---------------------------------------------------------------------------


@router.get("/incidents/{incident_id}/audit")
def audit_page(
    request: Request,
    incident_id: IncidentId,
    c: ContainerDep,
    who: Auditor,
    continuation: Annotated[str | None, Query(max_length=4000)] = None,
) -> Response:
    return _audit(request, c, who, f"incident/{incident_id}", continuation, incident_id=incident_id)


@router.get("/admin/audit")
def organisation_audit_page(
    request: Request, c: ContainerDep, who: Auditor, continuation: Annotated[str | None, Query(max_length=4000)] = None
) -> Response:
    return _audit(request, c, who, None, continuation, incident_id=None)


def _audit(request: Request, c: Any, who: Principal, entity: str | None, continuation: str | None, **extra: Any) -> Response:
    if entity is not None:
        parse_entity(entity)
    bound = binding("GET console audit", who.organisation_id, who.user_id, [("entity", entity or "")])
    # As GET /audit (?entity=incident/<id>): this organisation's entries, and its chain's check.
    review = c.audit.review(who.organisation_id, entity=entity, limit=PAGE_SIZE, continuation=c.page_tokens.open(continuation, bound))
    following = c.page_tokens.seal(review.continuation, bound)
    names: dict[str, str] = {}
    for e in review.items:
        for org_id in (e.get("actor_org"), e.get("recipient_org")):
            if org_id and org_id not in names:
                org = c.directory.organisation(org_id)
                names[org_id] = org.name if org else org_id
    return page(
        request,
        "investigate/audit.html",
        entries=review.items,
        chain=review.chain,
        names=names,
        following=following,
        here=request.url.path,
        can_open_incident=who.has(*EDITORS),
        zone=zone_of(c),
        **extra,
    )
