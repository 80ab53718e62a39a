"""The admin's page for the organisation's network ranges: where its people, and its
devices and service principals, may reach Vigil from. It calls what the API's
`/organisations/{id}/network-ranges` routes call, with the same principal, and carries the
ETag it was read at: a form older than the stored version shows "someone changed this first"."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from functions.console.deps import posted_form, require_page
from functions.console.investigate import zone_of
from functions.console.render import page, redirect
from functions.http.deps import ContainerDep, bare_etag
from shared.domain.errors import PreconditionFailed
from shared.domain.network import NetworkRangesIn, RangeMatcher
from shared.domain.tenancy import Principal, Role

router = APIRouter(include_in_schema=False)

Admin = Annotated[Principal, Depends(require_page(Role.POLICE_ADMIN, Role.RETAILER_ADMIN))]
Form = Annotated[FormData, Depends(posted_form)]
Saved = Annotated[str | None, Query(max_length=20)]
LISTS = ("staff", "devices")
PATH = "/admin/network-ranges"


def _lines(text: str) -> list[str]:
    """One range a line (commas and spaces also separate), blanks dropped."""
    return [part for part in text.replace(",", "\n").split() if part]


def _page(request: Request, c: Any, who: Principal, *, status: int = 200, **extra: Any) -> Response:
    stored = c.network.ranges.get(who, who.organisation_id)
    context: dict[str, Any] = {
        "ranges": stored.record,
        "etag": stored.etag,
        "sent": {name: "\n".join(getattr(stored.record, name)) for name in LISTS},
        "address": getattr(request.state, "client_address", None),
        "errors": {},
        "zone": zone_of(c),
        "saved": None,
        **extra,
    }
    return page(request, "admin/network_ranges.html", status=status, **context)


@router.get(PATH)
def network_ranges_page(request: Request, c: ContainerDep, who: Admin, saved: Saved = None) -> Response:
    return _page(request, c, who, saved=saved)


@router.post(PATH)
def network_ranges_save(request: Request, c: ContainerDep, who: Admin, form: Form) -> Response:
    sent = {name: str(form.get(name, "")) for name in LISTS}
    values = {name: _lines(sent[name]) for name in LISTS}
    errors: dict[str, str] = {}
    try:
        change = NetworkRangesIn.model_validate(values)
    except ValidationError as exc:
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ())]
            name = loc[0] if loc and loc[0] in LISTS else "staff"
            message = str(e.get("msg", "")).removeprefix("Value error, ")
            if len(loc) > 1 and loc[1].isdigit() and message.startswith("String"):
                message = f"{values[name][int(loc[1])][:70]}: {message.lower()}"
            elif len(loc) == 1:
                message = "At most 100 ranges." if "at most" in message else message
            errors[name] = f"{errors[name]} {message}" if name in errors else message
        return _page(request, c, who, status=422, errors=errors, sent=sent)
    address = getattr(request.state, "client_address", None)
    # The admin is held to the staff ranges too: saving ranges that leave out the address this
    # form came from would end their own access at once, so it takes a second, deliberate tick.
    if change.staff and not RangeMatcher(change.staff).admits(address) and form.get("shut_out") != "on":
        errors["staff"] = (
            f"Your own address ({address or 'unknown'}) is not in these ranges: saving them would end your access at once. "
            "Add your network's range, or tick the box below to save them anyway."
        )
        return _page(request, c, who, status=422, errors=errors, sent=sent, ask_shut_out=True)
    try:
        c.network.ranges.put(who, who.organisation_id, change, bare_etag(str(form.get("etag", "")) or None))
    except PreconditionFailed:
        return page(request, "investigate/changed_first.html", status=412, back=PATH, what="these network ranges")
    return redirect(request, f"{PATH}?saved=1")
