"""Lookout pages, phone first: store staff see the active lookouts for their store (the
person's description, the redacted still, why and until when) and acknowledge them; an
issuer sees the lookouts their organisation issued and which stores acknowledged.

Each page calls the service the matching API route calls (functions/http/lookouts.py),
with the same principal, so every view is audited exactly as an API read is."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from functions.console.deps import posted_form, require_page
from functions.console.formats import zone_of
from functions.console.render import page, redirect
from functions.http.deps import API_PREFIX, ContainerDep
from shared.adapters.page_tokens import binding
from shared.domain.errors import Invalid
from shared.domain.lookouts import LookoutIn
from shared.domain.tenancy import OrgKind, Principal
from shared.services.lookouts import ISSUERS, READERS, STORE_STAFF
from shared.services.lookouts.deps import may_read_for_store

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(require_page(*READERS))]
Issuer = Annotated[Principal, Depends(require_page(*ISSUERS))]
Staff = Annotated[Principal, Depends(require_page(*STORE_STAFF))]
Form = Annotated[FormData, Depends(posted_form)]
LookoutId = Annotated[str, Path(min_length=1, max_length=64)]
PAGE_SIZE = 25


def _region(c: Any, who: Principal) -> str:
    org = c.directory.organisation(who.organisation_id)
    return org.home_region if org else c.settings.region


def _card(c: Any, view: Any) -> dict[str, Any]:
    lk = view.lookout
    stores = [c.directory.store(a["store_id"]) for a in view.acknowledgements or []]
    return {
        "v": view,
        "lk": lk,
        "image": f"{API_PREFIX}/lookouts/{lk.id}/image" if lk.image_evidence_id and view.person is not None else None,
        "acknowledged_by_stores": [s.name if s else a["store_id"] for s, a in zip(stores, view.acknowledgements or [], strict=True)],
    }


@router.get("/lookouts")
def lookouts_page(
    request: Request,
    who: Reader,
    c: ContainerDep,
    store: Annotated[str | None, Query(max_length=64)] = None,
    page_token: Annotated[str | None, Query(alias="page", max_length=4000)] = None,
) -> Response:
    """Store staff: the active lookouts for one of their stores (the first, unless chosen).
    Issuers without a store chosen: the lookouts their organisation issued."""
    mine = [s for s in c.directory.stores_of(who.organisation_id) if may_read_for_store(who, s)] if who.is_retailer else []
    issuer_view = store is None and who.has(*ISSUERS)
    if store is None and not issuer_view and mine:
        store = mine[0].id
    query = [] if store is None else [("store", store)]
    bound_to = binding("GET /lookouts", who.organisation_id, who.user_id, query)
    if store is None and not issuer_view:
        found_items: list[Any] = []
        continuation = None
    else:
        found = c.lookouts.read.list(who, store=store, limit=PAGE_SIZE, continuation=c.page_tokens.open(page_token, bound_to))
        found_items, continuation = found.items, found.continuation
    sealed = c.page_tokens.seal(continuation, bound_to)
    chosen = c.directory.store(store) if store else None
    return page(
        request,
        "lookouts/list.html",
        cards=[_card(c, v) for v in found_items],
        stores=mine,
        store=chosen,
        issuer_view=issuer_view,
        can_issue=who.has(*ISSUERS),
        region=_region(c, who),
        next_url=f"/lookouts?{urlencode([*query, ('page', sealed)])}" if sealed else None,
        first_page=page_token is None,
    )


@router.post("/lookouts/{lookout_id}/acknowledge")
def acknowledge(request: Request, lookout_id: LookoutId, who: Staff, c: ContainerDep, form: Form) -> Response:
    """Acknowledge a lookout for the store named in the form; back to that store's lookouts."""
    store = str(form.get("store_id") or "")[:64]
    c.lookouts.acknowledge.acknowledge(who, lookout_id, store)
    return redirect(request, f"/lookouts?{urlencode({'store': store})}")


@router.post("/lookouts/{lookout_id}/withdraw")
def withdraw(request: Request, lookout_id: LookoutId, who: Issuer, c: ContainerDep, form: Form) -> Response:
    """The issuer calls a lookout off; back to the lookouts it issued."""
    c.lookouts.withdraw.withdraw(who, lookout_id)
    return redirect(request, "/lookouts")


# ---- issuing (investigators and officers) ---------------------------------------------

FIELDS = ("offender_id", "plate", "reason", "expires_at", "near_store_id", "within_km", "force_area")


def _local_input(value: str, region: str) -> datetime | None:
    """A `datetime-local` field read in the region's wall clock (a person types local time)."""
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        return None
    zone = zone_of(region)
    return naive.replace(tzinfo=zone if isinstance(zone, ZoneInfo) else None) if naive.tzinfo is None else naive


def _new_form(request: Request, c: Any, who: Principal, *, values: dict[str, str], errors: dict[str, str], status: int = 200) -> Response:
    stores = [s for o in c.directory.organisations_here() if o.kind == OrgKind.RETAILER for s in c.directory.stores_of(o.id)]
    if who.is_police:
        stores = [s for s in stores if s.force_id == who.organisation_id]
    located = sorted((s for s in stores if s.latitude is not None), key=lambda s: s.name)
    forces = [o for o in c.directory.organisations_here() if o.kind == OrgKind.POLICE_FORCE]
    if who.is_police:
        forces = [o for o in forces if o.id == who.organisation_id]
    return page(
        request, "lookouts/new.html", status=status, stores=located, forces=forces, values=values, errors=errors, region=_region(c, who)
    )


@router.get("/lookouts/new")
def new_lookout(request: Request, who: Issuer, c: ContainerDep, offender: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    values = {k: "" for k in FIELDS} | {"offender_id": offender or "", "within_km": "20"}
    return _new_form(request, c, who, values=values, errors={})


@router.post("/lookouts/new")
def issue_lookout(request: Request, who: Issuer, c: ContainerDep, form: Form) -> Response:
    """Issue through the service the API's POST /lookouts calls; a refusal shows the form again naming the field."""
    values = {k: str(form.get(k) or "").strip() for k in FIELDS}
    errors: dict[str, str] = {}
    expires = _local_input(values["expires_at"], _region(c, who))
    if expires is None:
        errors["expires_at"] = "Enter a date and time."
    area: dict[str, Any] = (
        {"force_area": values["force_area"]}
        if values["force_area"]
        else {"near_store_id": values["near_store_id"] or None, "within_km": values["within_km"] or None}
    )
    if not errors:
        try:
            body = LookoutIn.model_validate(
                {
                    "offender_id": values["offender_id"] or None,
                    "plate": values["plate"] or None,
                    "reason": values["reason"],
                    "expires_at": expires,
                    **area,
                }
            )
        except ValidationError as exc:
            for problem in exc.errors():
                errors.setdefault(str(problem["loc"][0]) if problem["loc"] else "reason", "Fill this in (see the hint).")
        else:
            try:
                c.lookouts.issue.issue(who, body, None)
            except Invalid as exc:
                for e in exc.errors or []:
                    errors.setdefault(str(e.get("field")), str(e.get("message") or exc.detail))
                if not exc.errors:
                    errors["reason"] = exc.detail
            else:
                return redirect(request, "/lookouts")
    return _new_form(request, c, who, values=values, errors=errors, status=422)
