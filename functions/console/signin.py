"""Signing in and out of the console.

In Azure the browser goes to Entra ID (OpenID Connect, authorization code with PKCE, through
msal) and comes back to `/signin/callback`. On the local backend there is no identity
provider: the sign-in page lists this stamp's organisations and the roles each can hold,
as `make token` does for the API. That page is refused on any other backend."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from functions.console.deps import current_session, end_session, posted_form, safe_next, start_session, viewer
from functions.console.render import nav_links, page, redirect
from functions.http.deps import ContainerDep
from shared.domain.errors import Invalid, NotFound, Unauthorized
from shared.domain.tenancy import Principal, Role, role_fits_org

router = APIRouter(include_in_schema=False)

NextPath = Annotated[str | None, Query(alias="next", max_length=2000)]


def _local(c) -> bool:
    return c.settings.backend == "local"


def _short(role: Role) -> str:
    return role.value.split(".")[-1].lower()


@router.get("/signin")
def signin_page(request: Request, c: ContainerDep, next_path: NextPath = None) -> Response:
    target = safe_next(next_path)
    if not _local(c):
        signin = getattr(c, "console_signin", None)
        if signin is None:
            raise NotFound("Console sign-in is not configured on this stamp (docs/console.md).")
        start = signin.begin(redirect_uri=_callback_url(c), next_path=target)
        start_session(request, c, flow=start.state)
        return redirect(request, start.url)
    session = current_session(request, c)
    if session is None:
        start_session(request, c)
    choices = []
    for org in c.directory.organisations_here():
        roles = [r for r in Role if role_fits_org(r, org.kind)]
        stores = c.directory.stores_of(org.id)
        choices.append({"organisation": org, "roles": roles, "stores": sorted(stores, key=lambda s: s.name)})
    return page(request, "signin_local.html", choices=choices, next_path=target, short=_short)


@router.post("/signin")
def signin_local(request: Request, c: ContainerDep, form: Annotated[FormData, Depends(posted_form)]) -> Response:
    if not _local(c):
        raise NotFound("Choosing an organisation and role is only for the local stamp; sign in with your organisation's account.")
    org = c.directory.organisation(str(form.get("organisation", "")))
    if org is None or org.home_region != c.settings.region:
        raise Invalid("Choose one of the organisations listed.", errors=[{"field": "organisation"}])
    try:
        role = Role(str(form.get("role", "")))
    except ValueError:
        raise Invalid("Choose one of the roles listed.", errors=[{"field": "role"}]) from None
    if not role_fits_org(role, org.kind):
        raise Invalid(f"{org.name} cannot hold the role {role.value}.", errors=[{"field": "role"}])
    own_stores = {s.id for s in c.directory.stores_of(org.id)}
    chosen = [str(s) for s in form.getlist("stores") if str(s) in own_stores]
    if role in (Role.RETAILER_REPORTER, Role.DEVICE_ANPR) and not chosen:
        chosen = sorted(own_stores)
    claims: dict[str, object] = {"sub": f"{org.id}-{_short(role)}", "tid": org.idp_tenant_id, "roles": [role.value], "name": role.value}
    if chosen:
        claims["stores"] = chosen
    start_session(request, c, claims=claims)
    return redirect(request, safe_next(str(form.get("next", "")) or None))


@router.get("/signin/callback")
def signin_callback(request: Request, c: ContainerDep) -> Response:
    signin = getattr(c, "console_signin", None)
    session = current_session(request, c)
    if _local(c) or signin is None:
        raise NotFound("Console sign-in is not configured on this stamp.")
    if session is None or not session.flow:
        raise Unauthorized("This sign-in has expired or was started in another browser. Sign in again.")
    claims = signin.complete(session.flow, dict(request.query_params))
    # Refused here, not on the next page: an account whose organisation this stamp does not serve.
    c.directory.principal_from_claims(claims)
    start_session(request, c, claims=claims)
    return redirect(request, safe_next(str(session.flow.get("next", "/"))))


@router.post("/signout")
def signout(request: Request, form: Annotated[FormData, Depends(posted_form)]) -> Response:
    end_session(request)
    return redirect(request, "/signin")


@router.get("/")
def home(request: Request, who: Annotated[Principal, Depends(viewer)]) -> Response:
    links = nav_links(who)
    if links:
        return redirect(request, links[0][0])
    return page(request, "home.html")


def _callback_url(c) -> str:
    base = c.settings.region_base_urls.get(c.settings.region, "")
    return f"{base.rstrip('/')}/signin/callback"
